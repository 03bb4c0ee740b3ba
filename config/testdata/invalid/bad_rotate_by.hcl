credential "ctrp-prod" {
  provider  = "ctrp-prod"
	rotate_by = "03/01/2027"
}

credential "ctrp-prod" {
  provider = "ctrp-prod
}

credential "CTRP/Prod" {
  provider = "ctrp-prod"
}

credential "ctrp-stage" {
  provider = "ctrp-staging"
}

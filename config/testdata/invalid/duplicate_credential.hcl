credential "ctrp-stage" {
  provider = "ctrp-stage"
}

credential "ctrp-stage" {
  provider = "ctrp-prod"
}

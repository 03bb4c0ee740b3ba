credential "ctrp-stage" {
  provider = "ctrp-stage"
  check    = "*/30 * * *"
}

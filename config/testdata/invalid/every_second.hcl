credential "ctrp-stage" {
  provider = "ctrp-stage"
  check    = "@every 1s"
}

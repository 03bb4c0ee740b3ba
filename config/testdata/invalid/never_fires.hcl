credential "ctrp-stage" {
  provider = "ctrp-stage"
  check    = "0 0 30 2 *"
}

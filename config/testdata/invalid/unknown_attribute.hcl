credential "ctrp-stage" {
  provider = "ctrp-stage"
  colour   = "blue"
}

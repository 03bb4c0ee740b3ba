credential "ctrp-stage" {
  provider = "ctrp-stage"
  publish_token {
    renew_before = "0s"
  }
}

credential "ctrp-int" {
  provider        = "ctrp-int"
  follow_up_after = "10m"
}

credential "ctrp-int" {
  provider = "ctrp-int"
  rotation = "monthly"
}

provider "ctrp-int" {
  support {
    via = "mail"
  }
}

provider "ctrp-int" {
  support {
    template = "Please rotate {{.ClientID}}"
  }
}

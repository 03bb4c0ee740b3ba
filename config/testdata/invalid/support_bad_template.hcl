provider "ctrp-int" {
  support {
    template = "Subject: for {{.Credential}}\n\nthe secret is {{.ClientSecret}}"
  }
}

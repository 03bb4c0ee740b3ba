provider "ctrp-stage" {
  support {
    via = "mail"
  }
}

provider "internal-idp" {
  token_url  = "https://idp.example.org/oauth/token"
  auth_style = "body"
  support {
    email    = "idp-help@example.org"
    name     = "IdP team"
    template = <<-EOT
      Subject: New pair for {{.Credential}}

      Please rotate {{.ClientID}} before {{.Deadline}}; answer {{.Owner}}.
    EOT
  }
}

credential "ctrp-stage" {
  provider        = "ctrp-stage"
  owner           = "security@example.org"
  account         = "jdoe"
  follow_up_after = "5d"
}

credential "idp" {
  provider = "internal-idp"
}

notifier "email" "mail" {
  smtp = "smtp.example.org:587"
  from = "credkeeper@example.org"
  to   = ["security@example.org"]
}

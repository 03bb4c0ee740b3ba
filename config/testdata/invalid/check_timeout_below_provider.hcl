daemon {
  check_timeout = "20s"
}

provider "slow-idp" {
  token_url  = "https://idp.example.org/oauth2/v1/token"
  auth_style = "header"
  timeout    = "25s"
}

provider "idp" {
  token_url  = "http://idp.example.org/oauth2/v1/token"
  auth_style = "header"
  probe {
    url = "http://api.example.org/v1/me"
  }
}

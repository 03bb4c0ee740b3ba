provider "idp" {
  token_url  = "https://idp.example.org/token"
  auth_style = "mtls"
}

credential "idp-dev" {
  provider = "idp"
}

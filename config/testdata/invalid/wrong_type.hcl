provider "idp" {
  token_url  = "https://idp.example.org/token"
  auth_style = "header"
  scopes     = "read"
}

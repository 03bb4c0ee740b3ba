provider "idp" {
  token_url     = "https://idp.example.org/oauth2/v1/token"
  auth_style    = "header"
  max_token_ttl = "-1h"
  timeout       = "2h"
}

provider "idp" {
  token_url = "https://idp.example.org/token"
}

credential "idp-dev" {
  provider = "idp"
}

provider "dmptool" {
  auth_style = "private_key_jwt"
}

credential "dmptool-prod" {
  provider = "dmptool"
}

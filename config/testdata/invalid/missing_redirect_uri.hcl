credential "dmp-alice" {
  provider = "dmptool"
  grant    = "authorization_code"
  scopes   = ["read_dmps"]
}

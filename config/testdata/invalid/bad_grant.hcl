credential "dmp-alice" {
  provider = "dmptool"
  grant    = "password"
}

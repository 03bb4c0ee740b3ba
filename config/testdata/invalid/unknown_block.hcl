vault {
  mount = "secret"
}

notifer "email" "security" {
  to = ["security@example.org"]
}

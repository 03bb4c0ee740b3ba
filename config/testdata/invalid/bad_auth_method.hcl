vault {
  auth "ldap" {
    username = "me"
  }
}

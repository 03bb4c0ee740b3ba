daemon {
  check_timeout = "0s"
  lease_ttl     = "1s"
}

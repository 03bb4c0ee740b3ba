daemon {
  check_timeout = "-5s"
}

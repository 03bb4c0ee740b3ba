vault {
  mount  = "secret*"
  prefix = "teams/sec ops"
}

notifier "pagerduty" "oncall" {
  routing_key_file = "/etc/credkeeper/pd-key"
  routing_key      = "R0UT1NGKEY"
}

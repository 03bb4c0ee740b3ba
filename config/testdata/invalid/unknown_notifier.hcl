notifier "slack" "sec" {
  webhook_url_file = "/etc/credkeeper/slack-url"
}

credential "ctrp-prod" {
  provider = "ctrp-prod"
  notify   = ["sec"]
  page     = ["oncall"]
}

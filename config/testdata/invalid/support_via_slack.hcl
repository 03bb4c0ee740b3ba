provider "ctrp-int" {
  support {
    via = "chat"
  }
}

notifier "slack" "chat" {
  webhook_url_file = "/etc/credkeeper/slack-url"
}

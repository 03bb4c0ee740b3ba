# The demo's configuration: CTRP's and DMPTool's presets, pointed at the
# token endpoint emulator (EMULATOR is replaced by its address).

daemon {
  parallel = 4
}

vault_policies {}

# Reminders and alerts go to the emulator's notice receiver, which prints them.
notifier "webhook" "demo-receiver" {
  url = "EMULATOR/_emulator/notices"
}

notifications {
  page_environments = ["prod"]
}

provider "ctrp-int" {
  token_url = "EMULATOR/oauth2/aus3ym6wniM6O3MGE297/v1/token"
}

provider "ctrp-stage" {
  token_url = "EMULATOR/oauth2/aus478s3eb0x3du23297/v1/token"
}

provider "ctrp-prod" {
  token_url = "EMULATOR/oauth2/aus8jhc6kdbWPrwYa297/v1/token"
}

provider "dmptool" {
  token_url = "EMULATOR/oauth/token"
  scopes    = ["public", "read_dmps"]
  probe {
    url = "EMULATOR/api/v2/templates"
  }
}

# Healthy, with a token published for CI.
credential "ctrp-stage" {
  provider = "ctrp-stage"
  owner    = "security@example.org"
  check    = "@every 20s"
  notify   = ["demo-receiver"]
  publish_token {
    renew_before = "10m"
  }
}

# The secret in Vault is wrong: invalid_client, sent once, never again.
credential "ctrp-int" {
  provider = "ctrp-int"
  owner    = "security@example.org"
  check    = "@every 20s"
  notify   = ["demo-receiver"]
}

# The account is locked: invalid_grant.
credential "ctrp-locked" {
  provider = "ctrp-int"
  owner    = "security@example.org"
  check    = "@every 20s"
  notify   = ["demo-receiver"]
}

# Healthy, but its rotation deadline is days away.
credential "ctrp-soon" {
  provider = "ctrp-stage"
  owner    = "security@example.org"
  check    = "@every 20s"
  notify   = ["demo-receiver"]
}

# Past its deadline and refused by the provider: expired.
credential "ctrp-prod" {
  provider = "ctrp-prod"
  owner    = "oncall@example.org"
  check    = "@every 20s"
  notify   = ["demo-receiver"]
  page     = ["demo-receiver"]
}

# DMPTool: credentials in the body, scopes, and a probe of its API.
credential "dmptool" {
  provider = "dmptool"
  owner    = "dmp-team@example.org"
  check    = "@every 20s"
  notify   = ["demo-receiver"]
  publish_token {}
}

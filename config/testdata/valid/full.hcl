vault {
  address = "https://vault.example.org:8200"
  mount   = "kv"
  prefix  = "teams/security/credkeeper"
  auth "approle" {
    role_id_file   = "/etc/credkeeper/role-id"
    secret_id_file = "/etc/credkeeper/secret-id"
    secret_id_wrapped = true
  }
}

provider "internal-idp" {
  token_url  = "https://idp.example.org/oauth2/token"
  auth_style = "body"
  scopes     = ["read", "write"]
  timeout    = "5s"
}

# Overrides a preset: only what changes is written.
provider "ctrp-int" {
  timeout = "30s"
}

credential "ctrp-stage" {
  provider = "ctrp-stage"
  owner    = "security@example.org"
  check    = "*/30 * * * *"
}

credential "ctrp-prod" {
  provider  = "ctrp-prod"
  owner     = "oncall@example.org"
  check     = "@every 15m"
  rotate_by = "2027-03-01"
}

credential "idp" {
  provider    = "internal-idp"
  environment = "dev"
}

credential "dmp" {
  provider = "dmptool"
  check    = "@daily"
}

provider "dmp-probed" {
  token_url  = "https://dmptool.org/oauth/token"
  auth_style = "body"
  probe {
    url = "https://dmptool.org/api/v2/templates"
  }
}

rotation_policy "quarterly" {
  period = "90d"
  remind = ["7d", "30d", "1d"]
  escalate "7d" {
    notify = ["oncall"]
  }
}

vault_policies {
  ci = "ci-readers"
}

credential "short-lived" {
  provider = "ctrp-int"
  rotation = "quarterly"
}

daemon {
  parallel      = 4
  check_timeout = "45s"
}

credential "published" {
  provider = "ctrp-int"
  publish_token {
    renew_before = "5m"
  }
}

notifier "email" "security" {
  smtp          = "smtp.example.org:587"
  from          = "credkeeper@example.org"
  to            = ["security@example.org"]
  username      = "credkeeper"
  password_file = "/etc/credkeeper/smtp-password"
}

notifier "pagerduty" "oncall" {
  routing_key_file = "/etc/credkeeper/pd-key"
}

notifications {
  page_environments = ["prod", "int"]
  ops_after         = 5
  max_silence       = "30d"
}

credential "paged" {
  provider = "ctrp-prod"
  notify   = ["security"]
  page     = ["oncall"]
}

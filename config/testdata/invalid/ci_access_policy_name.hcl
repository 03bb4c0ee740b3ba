vault_policies {
  ci      = "ci"
  auditor = "ci-audit"
}

credential "ctrp-stage" {
  provider = "ctrp-stage"
}

ci_access "audit" {
  credentials = ["ctrp-stage"]
  kubernetes {
    namespace       = "reporting"
    service_account = "accrual-sync"
  }
}

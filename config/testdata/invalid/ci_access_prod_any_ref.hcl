credential "ctrp-prod" {
  provider = "ctrp-prod"
}

ci_access "deploy-prod" {
  credentials = ["ctrp-*"]
  github {
    repository = "cancer-center/accrual-sync"
  }
}

ci_access "nightly-prod" {
  credentials = ["ctrp-prod"]
  audience    = "https://vault.example.org"
  gitlab {
    project_path  = "cancer-center/dmp-sync"
    ref_protected = false
  }
}

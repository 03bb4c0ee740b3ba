credential "ctrp-stage" {
  provider = "ctrp-stage"
}

ci_access "typo" {
  credentials = ["ctrp-stgae", "dmptool-*"]
  kubernetes {
    namespace       = "reporting"
    service_account = "accrual-sync"
  }
}

vault {
  github_jwt_mount = "jwt/*"
}

credential "ctrp-stage" {
  provider = "ctrp-stage"
}

ci_access "none" {
  credentials = ["ctrp-stage"]
}

ci_access "two" {
  credentials = ["ctrp-stage"]
  token_ttl   = "2h"
  github {
    repository = "cancer-center/accrual-sync"
    ref        = "main"
  }
  kubernetes {
    namespace       = "reporting"
    service_account = "accrual-sync"
  }
}

ci_access "gitlab-no-address" {
  credentials = ["ctrp-stage"]
  gitlab {
    project_path = "cancer-center/dmp-sync"
  }
}

ci_access "none" {
  credentials = ["ctrp-stage"]
}

ci_access "any-namespace" {
  credentials = ["ctrp-stage"]
  kubernetes {
    namespace       = "*"
    service_account = "accrual-sync"
  }
}

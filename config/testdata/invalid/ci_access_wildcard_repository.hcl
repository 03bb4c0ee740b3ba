vault {
  address = "https://vault.example.org:8200"
}

credential "ctrp-stage" {
  provider = "ctrp-stage"
}

ci_access "any-repo" {
  credentials = ["ctrp-stage"]
  github {
    repository = "cancer-center/*"
    ref        = "refs/heads/main"
  }
}

ci_access "any-project" {
  credentials = ["ctrp-stage"]
  gitlab {
    project_path = "cancer-center/*"
  }
}

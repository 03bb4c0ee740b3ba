credential "ctrp-stage" {
  provider = "ctrp-stage"
}

ci_access "whole-org" {
  credentials = ["ctrp-stage"]
  github {
    repository = "cancer-center"
  }
}

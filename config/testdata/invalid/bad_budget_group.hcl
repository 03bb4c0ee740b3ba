provider "ctrp-stage" {
  budget_group = "Okta Org"
}
provider "ctrp-prod" {
  budget_group = ""
}

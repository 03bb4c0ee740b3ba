provider "ctrp-stage" {
  max_in_flight = 0
}
provider "ctrp-prod" {
  max_in_flight = 1.5
}

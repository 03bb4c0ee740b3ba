vault {
  prefix = "+"
}

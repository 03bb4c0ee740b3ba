vault {
  prefix = "teams//credkeeper"
}

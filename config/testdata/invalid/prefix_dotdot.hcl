vault {
  prefix = "teams/../credkeeper"
}

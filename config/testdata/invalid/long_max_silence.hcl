notifications {
  max_silence = "400d"
}

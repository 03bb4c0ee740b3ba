# Reads `go test -v` output; prints package results, every failed or
# skipped test with its messages, and a closing count line:
#   N passed, N failed, N skipped
/^=== (RUN|PAUSE|CONT|NAME)/ { show = 0; next }
/^ *--- PASS/                { passed++; show = 0; next }
/^ *--- FAIL/                { failed++; show = 1; print; next }
/^ *--- SKIP/                { skipped++; show = 1; print; next }
/^(ok|FAIL|\?) /             { show = 0; print; next }
/^(PASS|FAIL)$/              { show = 0; next }
/^panic:|^fatal error:/      { show = 1 }
show                         { print }
END { printf "%d passed, %d failed, %d skipped\n", passed, failed, skipped }

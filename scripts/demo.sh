#!/usr/bin/env bash
# The demo: a real Vault (devvault) and the token endpoint emulator on
# loopback, six credentials in different states, and the daemon in the
# foreground. Ctrl-C stops all of it and leaves nothing running.
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 0' INT TERM

# ready FILE: wait for a server's one-line JSON announcement.
ready() {
  for _ in $(seq 1 600); do
    [ -s "$1" ] && return 0
    sleep 0.1
  done
  echo "demo: $1 never announced itself" >&2
  exit 1
}
field() { sed -n "s/.*\"$2\":\"\([^\"]*\)\".*/\1/p" "$1"; }

bin/devvault -listen 127.0.0.1:0 >"$work/vault.json" 2>"$work/vault.log" &
pids+=($!)
bin/credkeeper-emulator -listen 127.0.0.1:0 \
  -client 0oa-stage:stage-secret \
  -client 0oa-int:int-secret \
  -client 0oa-locked:locked-secret -locked 0oa-locked \
  -client 0oa-soon:soon-secret \
  -client 0oa-prod:new-prod-secret \
  -client 12345:ABCDEFG:"public read_dmps" >"$work/emulator.json" &
pids+=($!)
ready "$work/vault.json"
ready "$work/emulator.json"

export VAULT_ADDR VAULT_TOKEN CREDKEEPER_CONFIG="$work/credkeeper.hcl"
VAULT_ADDR=$(field "$work/vault.json" addr)
VAULT_TOKEN=$(field "$work/vault.json" token)
emulator=$(field "$work/emulator.json" addr)
sed "s#EMULATOR#$emulator#g" examples/demo.hcl >"$CREDKEEPER_CONFIG"

ck=bin/credkeeper
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "The plan for an empty Vault, applied"
$ck apply --auto-approve | tail -n 3

say "Six credentials enter Vault (secrets on standard input)"
echo stage-secret   | $ck secret set ctrp-stage  --client-id 0oa-stage
echo wrong-secret   | $ck secret set ctrp-int    --client-id 0oa-int
echo locked-secret  | $ck secret set ctrp-locked --client-id 0oa-locked
echo soon-secret    | $ck secret set ctrp-soon   --client-id 0oa-soon   --rotate-by "$(date -u -d '+5 days' +%F)"
echo old-prod-secret | $ck secret set ctrp-prod  --client-id 0oa-prod   --rotate-by "$(date -u -d '-3 days' +%F)"
echo ABCDEFG        | $ck secret set dmptool     --client-id 12345

say "What Vault holds (never a secret)"
$ck secret list

say "One check of each, now"
$ck check --all || true

say "The daemon (Ctrl-C stops everything)"
cat <<EOT
While it runs, in another terminal:
  export VAULT_ADDR=$VAULT_ADDR VAULT_TOKEN=$VAULT_TOKEN CREDKEEPER_CONFIG=$CREDKEEPER_CONFIG
  $ck status                      # deadlines, days left, last check of each
  $ck check --all                 # the classes, and the lockout record at work
  $ck token ctrp-stage            # the access token published for CI
  curl -s http://127.0.0.1:9464/metrics | grep ^credkeeper_
  curl -s http://127.0.0.1:9464/readyz
  open http://127.0.0.1:9464/ in a browser: the status page, most urgent first
EOT
$ck daemon --listen 127.0.0.1:9464 --log-format text &
pids+=($!)
wait "${pids[-1]}"

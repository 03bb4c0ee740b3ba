#!/usr/bin/env bash
# What `make test`, `make demo` and .ci/run need besides Go and make, in one
# place: the programs are looked for, Debian's packages that provide the
# missing ones are installed when this machine allows it (root or
# password-less sudo, and apt-get), and otherwise the script stops at once
# with one line saying what to run, before any long build.
#
#   scripts/prerequisites.sh demo   Go only (the demo builds everything else)
#   scripts/prerequisites.sh test   and chromium (the status page's browser
#                                   tests), promtool (the alert rules' unit
#                                   tests), systemd-analyze (the unit file), and
#                                   node with npm, for node's oidc-provider
#                                   (npm ci in tools/oidcprovider)
set -euo pipefail

what=${1:-test}
min_go=1.26

say() { echo "prerequisites: $*" >&2; }

if ! command -v go >/dev/null 2>&1; then
  say "go is not installed: install Go $min_go or later from https://go.dev/dl/ and run make $what again"
  exit 2
fi
have_go=$(go env GOVERSION | sed 's/^go//')
if [ "$(printf '%s\n%s\n' "$min_go" "$have_go" | sort -V | head -n1)" != "$min_go" ]; then
  say "go $have_go is too old: install Go $min_go or later and run make $what again"
  exit 2
fi

# program:package pairs, Debian's names.
case "$what" in
  demo) wanted=() ;;
  test) wanted=(git:git chromium:chromium promtool:prometheus systemd-analyze:systemd node:nodejs npm:npm) ;;
  *) say "unknown target $what (demo or test)"; exit 2 ;;
esac

missing=()
for pair in "${wanted[@]}"; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
done
# node's oidc-provider (the second real OAuth2 server of the tests), at the
# version tools/oidcprovider/package-lock.json pins, from the npm registry.
oidc_provider() {
  [ "$what" = test ] || return 0
  local dir
  dir="$(cd "$(dirname "$0")/.." && pwd)/tools/oidcprovider"
  [ -d "$dir/node_modules/oidc-provider" ] && return 0
  say "installing oidc-provider into tools/oidcprovider (npm ci)"
  if ! (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null); then
    say "npm ci in tools/oidcprovider failed: run it there by hand (it needs the npm registry) and then make $what again"
    exit 2
  fi
}

if [ ${#missing[@]} -eq 0 ]; then
  oidc_provider
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo=(sudo -n)
else
  sudo=none
fi
if [ "${sudo[*]}" = none ] || ! command -v apt-get >/dev/null 2>&1; then
  say "make $what needs ${missing[*]}: run 'sudo apt-get install -y --no-install-recommends ${missing[*]}' (or your system's packages for them) and then make $what again"
  exit 2
fi

say "installing ${missing[*]} from Debian's packages"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
for pair in "${wanted[@]}"; do
  if ! command -v "${pair%%:*}" >/dev/null 2>&1; then
    say "${pair%%:*} is still missing after installing ${pair#*:}"
    exit 2
  fi
done
oidc_provider

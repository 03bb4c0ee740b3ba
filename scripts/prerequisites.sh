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
#                                   node (20.19 or later) with npm, for node's
#                                   oidc-provider (npm ci in tools/oidcprovider,
#                                   from the npm registry; its output goes to
#                                   bin/npm-ci.log)
set -euo pipefail

what=${1:-test}
min_go=1.26
# oidc-provider 9 calls crypto.hash and URL.parse (tools/oidcprovider's
# engines); Debian 12's nodejs is 18.
min_node=20.19
root="$(cd "$(dirname "$0")/.." && pwd)"

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
# node_version_ok: node is at least min_node, or the script stops with
# one line saying what to install.
node_version_ok() {
  local have
  have=$(node --version 2>/dev/null | sed 's/^v//') || true
  if [ -z "$have" ] || [ "$(printf '%s\n%s\n' "$min_node" "$have" | sort -V | head -n1)" != "$min_node" ]; then
    say "node ${have:-(no version)} is too old for oidc-provider: install Node.js $min_node or later (e.g. from NodeSource or with nvm) and run make $what again"
    exit 2
  fi
}

# node's oidc-provider (the second real OAuth2 server of the tests), at the
# version tools/oidcprovider/package-lock.json pins, from the npm registry;
# installed again when node_modules does not hold what the lock pins.
oidc_provider() {
  [ "$what" = test ] || return 0
  node_version_ok
  local dir=$root/tools/oidcprovider log=$root/bin/npm-ci.log
  if (cd "$dir" && node -e '
const fs = require("fs");
const want = JSON.parse(fs.readFileSync("package-lock.json")).packages;
const have = JSON.parse(fs.readFileSync("node_modules/.package-lock.json")).packages;
const same = (a, b) => a && b && a.version === b.version && a.integrity === b.integrity;
for (const k of Object.keys(want)) if (k !== "" && !same(want[k], have[k])) process.exit(1);
for (const k of Object.keys(have)) if (!(k in want)) process.exit(1);
' 2>/dev/null); then
    return 0
  fi
  say "installing oidc-provider into tools/oidcprovider (npm ci)"
  mkdir -p "$root/bin"
  if ! (cd "$dir" && npm ci --no-audit --no-fund) >"$log" 2>&1; then
    say "npm ci in tools/oidcprovider failed (it needs the npm registry): see bin/npm-ci.log, then make $what again"
    exit 2
  fi
}

if [ ${#missing[@]} -eq 0 ]; then
  oidc_provider
  exit 0
fi
# A node already here but too old stops the script before anything is
# installed.
if [ "$what" = test ] && command -v node >/dev/null 2>&1; then
  node_version_ok
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
mkdir -p "$root/bin"
if ! { "${sudo[@]}" apt-get update -qq && "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$root/bin/apt-get.log" 2>&1; then
  say "apt-get install ${missing[*]} failed: see bin/apt-get.log, then install them by hand and run make $what again"
  exit 2
fi
for pair in "${wanted[@]}"; do
  if ! command -v "${pair%%:*}" >/dev/null 2>&1; then
    say "${pair%%:*} is still missing after installing ${pair#*:}"
    exit 2
  fi
done
oidc_provider

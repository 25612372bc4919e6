#!/bin/sh
# The developer entry point behind `npm start` and `npm test` (and CI's .ci/run):
# installs what is missing, pinned, then runs the sensor or the test suite.
#
#   sh tools/dev.sh start [ARGS]   analyse the bundled capture (or ARGS) with the bundled model
#   sh tools/dev.sh test [ARGS]    the whole test suite; as root it first installs the Debian
#                                  packages listed in tools/debian-packages.txt
#   sh tools/dev.sh deno [ARGS]    the Deno this project uses, with ARGS (e.g. `task check`)
#   sh tools/dev.sh setup          install what is missing, print the path of the Deno in use
#
# What it installs, each only when missing or out of date:
#   - the project's npm packages, exactly as package-lock.json locks them (`npm ci`);
#   - Deno: a `deno` already on PATH is used when it is 2.9.x (the pinned minor); otherwise the
#     pinned release from the npm `deno` package goes into tools/deno (kept out of the project's
#     node_modules, since `deno task` would take node_modules/.bin/deno for a JavaScript bin).
set -eu
cd "$(dirname "$0")/.."

say() { echo "ids-sensor setup: $*" >&2; }

# The pinned Deno version, read from tools/deno/package.json ("deno": "2.9.6").
pinned_deno=$(sed -n 's/.*"deno": *"\([0-9.]*\)".*/\1/p' tools/deno/package.json)
pinned_minor=${pinned_deno%.*}

# Prints the version of the Deno at $1, or nothing when it does not run.
deno_version() {
  "$1" --version 2>/dev/null | sed -n '1s/^deno \([0-9][0-9.]*\).*/\1/p'
}

ensure_npm_packages() {
  # npm writes node_modules/.package-lock.json on every install: missing, or older than the
  # lock (after a pull that changed it), means the tree is not the locked one.
  if [ ! -e node_modules/.package-lock.json ] ||
    [ package-lock.json -nt node_modules/.package-lock.json ]; then
    say "installing the locked npm packages (npm ci)"
    npm ci --no-audit --no-fund --loglevel=error >&2
  fi
}

# Sets $deno to the Deno to use, installing the pinned one when no suitable one exists.
ensure_deno() {
  local_deno="$PWD/tools/deno/node_modules/.bin/deno"
  if [ -x "$local_deno" ] && [ "$(deno_version "$local_deno")" = "$pinned_deno" ]; then
    deno=$local_deno
    return
  fi
  if path_deno=$(command -v deno 2>/dev/null); then
    version=$(deno_version "$path_deno")
    case "$version" in
      "$pinned_minor".*)
        deno=$path_deno
        return
        ;;
    esac
    say "deno on PATH is ${version:-unusable} ($path_deno); using the pinned $pinned_deno instead"
  fi
  say "installing Deno $pinned_deno into tools/deno (npm package deno)"
  # npm ci refuses this lock (it omits the other platforms' optional binaries); install
  # resolves the same locked version and integrity.
  npm install --no-audit --no-fund --no-save --loglevel=error --prefix tools/deno >&2
  if [ "$(deno_version "$local_deno")" != "$pinned_deno" ]; then
    say "error: tools/deno/node_modules/.bin/deno is not Deno $pinned_deno after npm install"
    exit 1
  fi
  deno=$local_deno
}

# As root on Debian: apt-get the packages of tools/debian-packages.txt that are missing.
ensure_debian_packages() {
  packages=$(grep -v '^[[:space:]]*#' tools/debian-packages.txt | grep -v '^[[:space:]]*$' || true)
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    say "not root on Debian: Debian packages not installed; tests that need them say they skip"
    return
  fi
  missing=""
  for package in $packages; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
      missing="$missing $package"
  done
  [ -z "$missing" ] && return
  say "installing Debian packages:$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  # shellcheck disable=SC2086 # one word per package
  apt-get install -y -qq -o DPkg::Lock::Timeout=900 --no-install-recommends $missing >/dev/null
}

command=${1:-}
[ $# -gt 0 ] && shift
case "$command" in
  start)
    ensure_npm_packages
    ensure_deno
    ;;
  test)
    ensure_debian_packages
    ensure_npm_packages
    ensure_deno
    ;;
  deno)
    ensure_deno
    ;;
  setup)
    ensure_npm_packages
    ensure_deno
    ;;
  *)
    echo "usage: sh tools/dev.sh start|test|deno|setup [ARGS]" >&2
    exit 64
    ;;
esac

# `deno task` runs its commands with this PATH, so put the chosen Deno first.
PATH="$(dirname "$deno"):$PATH"
export PATH
case "$command" in
  start) exec "$deno" task start "$@" ;;
  test)
    "$deno" --version | head -n 1 >&2
    exec "$deno" task test "$@"
    ;;
  deno) exec "$deno" "$@" ;;
  setup) echo "$deno" ;;
esac

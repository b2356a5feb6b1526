#!/usr/bin/env bash
# Installs into the project whatever the stack and the tests need and is missing:
#   .venv/          a project-local Python venv with the PIP_PACKAGES below
#                   (cargo-lambda for `cargo lambda watch`, moto server as local DynamoDB)
#   node_modules/   the locked npm packages (Stripe CLI, playwright-core, Stripe's Node SDK)
#   chromium        Debian's, via apt-get, only when missing (CI runs as root)
# Idempotent and quick when everything is there. Used by `make up` and `.ci/run`;
# `scripts/bootstrap.sh venv` installs the venv alone.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=$PWD/.venv

# Python tools, pinned. Other parts add theirs to EXTRA_PIP_PACKAGES (one line each).
PIP_PACKAGES=(cargo-lambda==1.9.2 "moto[server]==5.2.5")
EXTRA_PIP_PACKAGES=(
  # cfn-lint and aws-sam-cli (deploy checks) — see scripts/deploy-check.sh
  cfn-lint==1.58.0 aws-sam-cli==1.170.0
)

ensure_venv() {
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  # The pins last installed in full: a changed pin, or an install that was cut off,
  # installs again (`pip show` would pass a package at another version, or one whose
  # scripts were never written).
  local pins=("${PIP_PACKAGES[@]}" ${EXTRA_PIP_PACKAGES[@]+"${EXTRA_PIP_PACKAGES[@]}"})
  local stamp="$VENV/.bootstrap-pins"
  if [ "$(cat "$stamp" 2>/dev/null)" != "${pins[*]}" ]; then
    echo "bootstrap: pip install ${pins[*]}"
    rm -f "$stamp"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check "${pins[@]}"
    printf '%s' "${pins[*]}" >"$stamp"
  fi
}

ensure_node() {
  if [ ! -x node_modules/.bin/stripe ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    # Not `npm ci`: the Stripe CLI's per-platform binaries are optional dependencies, and
    # the registry here serves only linux-x64 at the pinned version, so the lock file holds
    # no entries for the others and `npm ci` refuses it. `npm install --no-save` installs
    # exactly the locked versions and leaves package-lock.json as it is.
    echo "bootstrap: npm install (locked versions)"
    npm install --no-save --no-audit --no-fund
  fi
}

ensure_chromium() {
  command -v chromium >/dev/null 2>&1 && return
  echo "bootstrap: apt-get install chromium"
  local sudo=
  [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q chromium
}

ensure_venv
# `scripts/bootstrap.sh venv`: the Python tools only (scripts/deploy-check.sh).
[ "${1:-}" = venv ] && exit 0
ensure_node
ensure_chromium
echo "bootstrap: ready"

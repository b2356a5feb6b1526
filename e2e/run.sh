#!/usr/bin/env bash
# `make e2e`: the browser journeys against the full local stack. Installs Debian's
# Chromium and the npm packages when missing, starts the stack with `make up`
# unless it already answers, runs `node --test e2e/`, and stops the stack again
# only when this script started it. Screenshots land in e2e/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/chromium ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends chromium
fi
[ -d node_modules/playwright-core ] || npm ci --no-audit --no-fund

answers() {
  node -e "fetch('${E2E_APP_URL:-http://127.0.0.1:9000}/offerings').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
}

started=""
stop() { if [ -n "$started" ]; then make down; fi; }
trap stop EXIT
if ! answers; then
  started=1
  make up
fi
node --test e2e/

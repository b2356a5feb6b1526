#!/usr/bin/env bash
# `make e2e`: the browser journeys against the full local stack. Installs what is
# missing (scripts/bootstrap.sh: Chromium, npm packages), starts the stack with
# `make up` unless it already answers, runs `node --test e2e/`, and stops the stack again
# only when this script started it. Screenshots land in e2e/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/bootstrap.sh

answers() {
  node -e "fetch('${E2E_APP_URL:-http://127.0.0.1:9000}/offerings').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
}

started=""
stop() { if [ -n "$started" ]; then scripts/down.sh; fi; }
trap stop EXIT
if ! answers; then
  started=1
  scripts/up.sh
fi
node --test e2e/

#!/usr/bin/env bash
# Secrets are never logged: after a test run, scans its logs for Stripe secret keys
# (sk_test_…, sk_live_…, rk_…) and webhook signing secrets (whsec_…), and fails
# naming the file and line (with the value masked) if any turns up.
#
#   scripts/scan-secrets.sh              the logs of a run: .stack/*.log,
#                                        target/test-output.log (what `make test` printed),
#                                        target/debug/test-logs/*.log, e2e/artifacts/**/*.log
#   scripts/scan-secrets.sh FILE…        those files
#   scripts/scan-secrets.sh --self-test  proves the scan finds a planted secret
#
# One line is allowed: the Stripe CLI's own `stripe listen` banner ("Your webhook signing
# secret is whsec_…"), printed by the CLI (not our code) so that the developer can copy it.
set -euo pipefail
cd "$(dirname "$0")/.."

PATTERN='\b(sk|rk)_(test|live)_[A-Za-z0-9_]{4,}|\bwhsec_[A-Za-z0-9_]{4,}'
ALLOWED='Your webhook signing secret is whsec_'

# scan FILE…: prints every finding (masked); returns 1 if there is one.
scan() {
  local found=0 file
  for file in "$@"; do
    [ -f "$file" ] || continue
    while IFS= read -r hit; do
      found=1
      # file:line:match → file:line: sk_test_ab…(masked)
      printf 'scan-secrets: %s\n' "$(sed -E 's/:((sk|rk)_(test|live)_|whsec_)([A-Za-z0-9_]{0,3})[A-Za-z0-9_]*$/: \1\4…(masked)/' <<<"$hit")"
    done < <(grep -a -v -F "$ALLOWED" "$file" | grep -a -n -o -E "$PATTERN" | sed "s|^|$file:|" || true)
  done
  return $found
}

if [ "${1:-}" = "--self-test" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  printf 'ok line\n{"level":"INFO","key":"sk_test_%s"}\n' "planted123" >"$tmp/leak.log"
  printf 'Ready! Your webhook signing secret is whsec_%s (^C to quit)\nnothing here: sk_ whsec_ alone\n' "clibanner1" >"$tmp/clean.log"
  if scan "$tmp/leak.log" >/dev/null; then echo "scan-secrets: self-test FAILED: a planted key went unnoticed"; exit 1; fi
  if ! scan "$tmp/clean.log"; then echo "scan-secrets: self-test FAILED: a clean log was flagged"; exit 1; fi
  echo "scan-secrets: self-test passed"
  exit 0
fi

if [ $# -gt 0 ]; then
  files=("$@")
else
  shopt -s nullglob globstar
  files=(.stack/*.log target/test-output.log target/debug/test-logs/*.log e2e/artifacts/**/*.log)
fi

if scan "${files[@]}"; then
  echo "scan-secrets: no Stripe key or webhook secret in ${#files[@]} log file(s)"
else
  echo "scan-secrets: secrets found in the logs above: find what logged them and stop it"
  exit 1
fi

#!/usr/bin/env bash
# `make bench`: builds release binaries (x86_64 to run, arm64 to size), then bench/harness
# measures them (cold init vs a hello-world floor, warm latency, Stripe and DynamoDB round
# trips with their critical path, latency under a network model, size, memory, throughput
# through `cargo lambda watch`) against its own moto server and Stripe emulator on free
# loopback ports, and writes bench/RESULTS.md, bench/results.json and
# bench/README-snippet.md, whose table replaces the one between README.md's bench markers.
# Extra arguments go to the harness (`scripts/bench.sh --help`), e.g. `--cold-runs 5
# --warm 100`, or `--phases warm,latency` for a subset (make bench BENCH_ARGS=…).
# Not part of `make test`. BENCH_NICE=19 builds at the lowest priority on a shared machine;
# BENCH_ARM64=0 skips the arm64 build (its sizes are then reported as not built).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PWD/.venv/bin:$PATH

scripts/bootstrap.sh

FUNCTIONS=(offerings signup get-user checkout schedule portal sign-in sign-out webhook site outbox provision)
build() { nice -n "${BENCH_NICE:-0}" cargo build -q --release "$@"; }
echo "bench: building release binaries"
# Separate builds, so neither the emulator's nor the harness's dependency features end up
# in the functions (cargo unifies features across the packages of one build).
build $(printf -- '-p %s ' "${FUNCTIONS[@]}") -p hello
build -p devchat-bench
# The emulator is only a dependency (its time is measured and subtracted): the debug
# build `make up` and `make test` already have is enough.
nice -n "${BENCH_NICE:-0}" cargo build -q -p stripe-emulator
# The arm64 packages the template deploys, for their size (target/deploy/lambda).
if [ "${BENCH_ARM64:-1}" != 0 ]; then
  nice -n "${BENCH_NICE:-0}" scripts/deploy-check.sh build
fi

target/release/devchat-bench "$@"

# The README carries the latest headline table, between its bench markers.
python3 - bench/README-snippet.md README.md <<'PY'
import re, sys
snippet = open(sys.argv[1]).read().split("\n", 1)[1].strip()  # drop the snippet's heading
readme = open(sys.argv[2]).read()
start, end = "<!-- bench:start -->", "<!-- bench:end -->"
updated = re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: f"{start}\n{snippet}\n{end}", readme, flags=re.S)
open(sys.argv[2], "w").write(updated)
print("bench: README.md table updated")
PY

#!/usr/bin/env bash
# Fuzzes the webhook path (Stripe-Signature parsing and verification, then event
# decoding: the functions POST /webhook runs) with cargo-fuzz / libFuzzer for a bounded
# time; fails on any panic or crash.
#
#   scripts/fuzz.sh [SECONDS]     default 60 (what `make test` runs)
#
# cargo-fuzz needs nightly-only compiler flags (-Z…, -C passes=sancov-module); this
# project builds with stable Rust only, so RUSTC_BOOTSTRAP=1 lets stable rustc accept
# them. cargo-fuzz itself is installed from crates.io into .tools/ (git-ignored) once.
# No sanitizer (`-s none`): the code under test is safe Rust, and ASan would only
# slow the run down; a panic is what we look for. Crashes land in fuzz/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TO_RUN=${1:-60}
TOOLS=$PWD/.tools

if [ ! -x "$TOOLS/bin/cargo-fuzz" ]; then
  echo "fuzz: installing cargo-fuzz into .tools/"
  cargo install --locked --root "$TOOLS" cargo-fuzz
fi

# libfuzzer-sys compiles libFuzzer (C++) with the cc crate.
if ! command -v c++ >/dev/null && ! command -v g++ >/dev/null && ! command -v clang++ >/dev/null; then
  echo "fuzz: libFuzzer needs a C++ compiler (g++ or clang++): install one (Debian: apt-get install g++)"
  exit 1
fi

export RUSTC_BOOTSTRAP=1
export PATH=$TOOLS/bin:$PATH
mkdir -p fuzz/corpus/webhook
cd fuzz
echo "fuzz: building the webhook target"
cargo fuzz build --dev -s none webhook
echo "fuzz: running for ${SECONDS_TO_RUN}s"
log=target/fuzz-webhook.log
if cargo fuzz run --dev -s none webhook corpus/webhook -- \
    -max_total_time="$SECONDS_TO_RUN" -max_len=16384 -print_final_stats=1 >"$log" 2>&1; then
  grep -E '^(Done|stat::(number_of_executed_units|average_exec_per_sec|new_units_added))' "$log" | sed 's/^/fuzz: /'
else
  cat "$log"
  echo "fuzz: the webhook target crashed; the input is in fuzz/artifacts/webhook/"
  exit 1
fi

#!/usr/bin/env bash
# Deploy checks, offline (`make test-deploy` runs lint and quick).
#
#   scripts/deploy-check.sh lint    cfn-lint, `sam validate --lint`, tests/deploy/check_template.py
#   scripts/deploy-check.sh build   `cargo lambda build --release --arm64` of every function, sizes
#   scripts/deploy-check.sh quick   the same build unoptimised (opt-level 0, no LTO): it
#                                   proves every function cross-builds and links for arm64 in
#                                   a fraction of the time (what `make test` runs); its sizes
#                                   are upper bounds of the deployed ones
#   scripts/deploy-check.sh         lint and build
#
# Installs what it needs into the project's .venv through scripts/bootstrap.sh (cfn-lint,
# aws-sam-cli, cargo-lambda, which brings zig) and the Rust std for aarch64-unknown-linux-gnu.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=$ROOT/.venv

# Nothing may reach AWS: dummy credentials, a region, no metadata probing, no telemetry.
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_EC2_METADATA_DISABLED=true
export SAM_CLI_TELEMETRY=0 SAM_CLI_CONTAINER_CONNECTION_TIMEOUT=1
export PATH=$VENV/bin:$PATH

ensure_tools() {
  scripts/bootstrap.sh venv
}

lint() {
  echo "== cfn-lint template.yaml"
  cfn-lint template.yaml
  echo "== sam validate --lint"
  sam validate --lint --template template.yaml
  echo "== template checks (tests/deploy/check_template.py)"
  python tests/deploy/check_template.py
}

build() {
  rustup target list --installed | grep -qx aarch64-unknown-linux-gnu ||
    rustup target add aarch64-unknown-linux-gnu
  local packages=() name
  for dir in functions/*/; do
    name=$(basename "$dir")
    packages+=(--package "$name")
  done
  # Its own target dir: the release arm64 build shares nothing with the debug test
  # builds, and must not hold their lock.
  local mode=${1:-full}
  if [ "$mode" = quick ]; then
    # Unoptimised (opt-level 0, no LTO, 16 codegen units): the point is that every
    # function cross-compiles and links for arm64, in a fraction of the release time.
    export CARGO_PROFILE_RELEASE_OPT_LEVEL=0 CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16
    export CARGO_TARGET_DIR=${DEPLOY_TARGET_DIR:-$ROOT/target/deploy-quick}
  else
    export CARGO_TARGET_DIR=${DEPLOY_TARGET_DIR:-$ROOT/target/deploy}
  fi
  echo "== cargo lambda build --release --arm64 ($(( ${#packages[@]} / 2 )) functions, $mode)"
  local started=$SECONDS
  cargo lambda build --release --arm64 "${packages[@]}"
  echo "== built in $((SECONDS - started)) s; bootstrap sizes (zip = what Lambda stores)"
  python - "$CARGO_TARGET_DIR/lambda" functions <<'PY'
import io, sys, zipfile
from pathlib import Path
out, functions = Path(sys.argv[1]), sorted(p.name for p in Path(sys.argv[2]).iterdir() if (p / "Cargo.toml").exists())
missing = []
for name in functions:
    binary = out / name / "bootstrap"
    if not binary.exists():
        missing.append(name)
        continue
    header = binary.read_bytes()[:20]
    if header[:4] != b"\x7fELF" or int.from_bytes(header[18:20], "little") != 183:
        sys.exit(f"{binary} is not an aarch64 ELF executable")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.write(binary, "bootstrap")
    print(f"  {name:<10} {binary.stat().st_size / 2**20:6.1f} MiB   zip {len(buffer.getvalue()) / 2**20:5.1f} MiB")
print(f"  {len(functions) - len(missing)} aarch64 bootstraps")
if missing:
    sys.exit(f"no bootstrap for: {', '.join(missing)}")
PY
}

ensure_tools
case "${1:-all}" in
  lint) lint ;;
  build) build full ;;
  quick) build quick ;;
  all) lint; build full ;;
  *) echo "usage: $0 [lint|build|quick|all]" >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# `make up`: the whole stack on this machine, in the background.
#   moto server (DynamoDB, SES) http://127.0.0.1:8000
#   Stripe emulator          http://127.0.0.1:12111   (not started against real Stripe)
#   cargo lambda watch       http://127.0.0.1:9000    (every route of the watch router)
#   Stripe CLI               stripe listen → http://127.0.0.1:9000/webhook
#   the outbox's drain       `cargo lambda invoke outbox` every minute (EventBridge in AWS)
# then provisions the catalog, warms every function up, prints the URLs and returns.
# Pids and logs go to .stack/; `make down` stops exactly these processes.
#
# Against real Stripe: STRIPE_SECRET_KEY=sk_test_… with STRIPE_API_BASE unset
# (`STRIPE_API_BASE= make up`): no emulator, and `stripe listen` talks to Stripe.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
STACK=$ROOT/.stack
mkdir -p "$STACK"

if [ -f .env ]; then set -a; . ./.env; set +a; fi
if [ -z "${STRIPE_SECRET_KEY:-}" ]; then
  # Local default: the emulator.
  export STRIPE_SECRET_KEY=sk_test_devchat_local
  export STRIPE_API_BASE=${STRIPE_API_BASE-http://127.0.0.1:12111}
fi
export STRIPE_API_BASE=${STRIPE_API_BASE-}
export CHALLENGE_ID=${CHALLENGE_ID:-local}
export APP_URL=${APP_URL:-http://127.0.0.1:9000}
export TABLE_NAME=${TABLE_NAME:-devchat-local}
# Signs session cookies. A fixed value is fine locally; in AWS it comes from Secrets Manager.
export SESSION_SECRET=${SESSION_SECRET:-devchat-local-session-secret-not-for-production}
export AWS_ENDPOINT_URL_DYNAMODB=${AWS_ENDPOINT_URL_DYNAMODB:-http://127.0.0.1:8000}
# Mail (SES) goes to moto server too: read it with `make mail`.
export FROM_EMAIL=${FROM_EMAIL:-no-reply@devchat.local}
# Session requests are emailed to the owner here.
export OWNER_EMAIL=${OWNER_EMAIL:-owner@devchat.local}
export AWS_ENDPOINT_URL_SESV2=${AWS_ENDPOINT_URL_SESV2:-http://127.0.0.1:8000}
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=${AWS_REGION:-us-east-1}
export AWS_EC2_METADATA_DISABLED=true
export STRIPE_CLI_TELEMETRY_OPTOUT=1
export PATH=$ROOT/.venv/bin:$PATH
EMULATOR_SECRET=whsec_devchat_local_emulator_secret
# The events POST /webhook acts on (the CLI requires a list): HANDLED_EVENTS in
# shared/src/stripe/webhook.rs, which a unit test holds this line to.
WEBHOOK_EVENTS=customer.subscription.created,customer.subscription.updated,customer.subscription.deleted,checkout.session.completed,invoice.finalized,invoice.paid,invoice.payment_failed

log() { printf 'up: %s\n' "$*"; }

# HTTP with node (always there; curl may not be): probe URL answers at all; warm METHOD URL.
probe() { node -e 'fetch(process.argv[1], { signal: AbortSignal.timeout(5000) }).then(() => process.exit(0), () => process.exit(1))' "$1"; }
warm() {
  node -e 'const [method, url] = process.argv.slice(1);
    fetch(url, { method, headers: { "content-type": "application/json" }, body: method === "POST" ? "{}" : undefined,
                 signal: AbortSignal.timeout(600000) }).then(() => {}, () => {})' "$1" "$2"
}

# Every process we start leads its own process group, so `make down` stops it with its children.
set -m

running() { [ -f "$STACK/$1.pid" ] && kill -0 "$(cat "$STACK/$1.pid")" 2>/dev/null; }

# start NAME COMMAND…: runs COMMAND in the background, logs to .stack/NAME.log.
start() {
  local name=$1; shift
  if running "$name"; then log "$name already running (pid $(cat "$STACK/$name.pid"))"; return; fi
  "$@" >"$STACK/$name.log" 2>&1 &
  echo $! >"$STACK/$name.pid"
  log "$name started (pid $!, log .stack/$name.log)"
}

# wait_for NAME URL SECONDS: until URL answers at all.
wait_for() {
  local name=$1 url=$2 deadline=$((SECONDS + $3))
  until probe "$url"; do
    running "$name" || { log "$name exited; last lines of .stack/$name.log:"; tail -20 "$STACK/$name.log"; exit 1; }
    [ $SECONDS -lt $deadline ] || { log "$name did not answer at $url"; exit 1; }
    sleep 0.3
  done
}

scripts/bootstrap.sh
log "building the functions and the emulator"
make -s build

# moto server through our launcher: DynamoDB writes one at a time, so conditional writes
# are atomic as in DynamoDB (scripts/moto_server.py says why).
start moto python scripts/moto_server.py -H 127.0.0.1 -p 8000
wait_for moto http://127.0.0.1:8000/ 60

if [ -n "$STRIPE_API_BASE" ]; then
  export STRIPE_WEBHOOK_SECRET=$EMULATOR_SECRET
  start emulator env STRIPE_EMULATOR_WEBHOOK_SECRET=$EMULATOR_SECRET "$ROOT/target/debug/stripe-emulator" --port 12111
  wait_for emulator "$STRIPE_API_BASE/_emulator/health" 30
  LISTEN_BASE=(--api-base "$STRIPE_API_BASE")
else
  # Real Stripe: the signing secret of this `stripe listen` session.
  LISTEN_BASE=()
  STRIPE_WEBHOOK_SECRET=$(HOME=$STACK node_modules/.bin/stripe listen --api-key "$STRIPE_SECRET_KEY" --print-secret)
  export STRIPE_WEBHOOK_SECRET
fi

log "provisioning the catalog"
"$ROOT/target/debug/provision" --create-table --verify-sender >"$STACK/catalog.json" 2>"$STACK/provision.log" \
  || { cat "$STACK/provision.log"; exit 1; }

start watch cargo lambda watch --invoke-port 9000 --ignore-changes
# Generous: on a cold machine watch may still be compiling when it is first asked.
wait_for watch http://127.0.0.1:9000/ 900

# HOME points into .stack so the CLI writes no config into the user's home.
start stripe-cli env HOME="$STACK" node_modules/.bin/stripe listen --api-key "$STRIPE_SECRET_KEY" \
  ${LISTEN_BASE[@]+"${LISTEN_BASE[@]}"} --events "$WEBHOOK_EVENTS" \
  --forward-to http://127.0.0.1:9000/webhook --skip-update

# The outbox's scheduled drain: EventBridge runs `outbox` every 5 minutes in AWS
# (template.yaml); cargo lambda watch runs a function only when asked, so this asks
# every minute. Its runs are in .stack/outbox-schedule.log.
start outbox-schedule bash -c 'while sleep 60; do
  cargo lambda invoke outbox --invoke-address 127.0.0.1 --invoke-port 9000 \
    --data-ascii "{\"source\":\"aws.events\",\"detail-type\":\"Scheduled Event\",\"detail\":{}}" || true
done'

log "warming up every function (each compiles on its first request)"
for route in "GET /offerings" "GET /users" "POST /users" "POST /offerings/paircode" \
             "POST /offerings/paircode/schedule" "POST /users/portal" "POST /users/sign-in" \
             "POST /users/sign-out" "POST /webhook" "GET /"; do
  read -r method path <<<"$route"
  warm "$method" "http://127.0.0.1:9000$path"
done
for _ in $(seq 1 50); do grep -q "Ready!" "$STACK/stripe-cli.log" && break; sleep 0.2; done

cat <<INFO

/dev/chat is up.
  App and API     $APP_URL   (GET /offerings, POST /users, …)
  DynamoDB        $AWS_ENDPOINT_URL_DYNAMODB   (table $TABLE_NAME)
  Mail (SES)      $AWS_ENDPOINT_URL_SESV2   (from $FROM_EMAIL; read it with: make mail)
  Stripe          ${STRIPE_API_BASE:-https://api.stripe.com (real Stripe, test mode)}
  Webhooks        stripe listen → $APP_URL/webhook
  Catalog         .stack/catalog.json
  Logs            .stack/*.log        Stop with: make down
INFO

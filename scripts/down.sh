#!/usr/bin/env bash
# `make down`: stops exactly what `make up` started (the pids in .stack/), children included.
set -euo pipefail
cd "$(dirname "$0")/.."
STACK=.stack
shopt -s nullglob
for pidfile in "$STACK"/*.pid; do
  name=$(basename "$pidfile" .pid)
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    # `make up` started it as the leader of its own process group: stop the group
    # (cargo lambda watch runs the functions as its children).
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
    echo "down: stopped $name (pid $pid)"
  fi
  rm -f "$pidfile"
done

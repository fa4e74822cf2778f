#!/usr/bin/env bash
# Serve the assistant: the action server (5055) and the Rasa server with the REST channel (5005).
# One command; Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
RASA_PORT=${RASA_PORT:-5005}
ACTIONS_PORT=${ACTIONS_PORT:-5055}
mkdir -p var

pids=()
stop() {
  trap - INT TERM EXIT
  echo "Stopping..."
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop INT TERM EXIT

"$BIN/rasa" run actions --actions bot.actions --port "$ACTIONS_PORT" &
pids+=($!)
"$BIN/python" -m bot.server run --model models/butler.tar.gz --endpoints endpoints.yml --credentials credentials.yml \
  --port "$RASA_PORT" --cors "*" &
pids+=($!)
echo "Rasa REST webhook: http://127.0.0.1:${RASA_PORT}/webhooks/rest/webhook  (actions on :${ACTIONS_PORT})"
wait -n "${pids[@]}"

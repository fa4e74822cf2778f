#!/usr/bin/env bash
# Serve the assistant: the action server (5055), the Rasa server with the REST channel (5005) and
# the sweeper that escalates overdue appeal tickets. One command; Ctrl-C stops all three.
# Set RASA_AUTH_TOKEN to also open Rasa's HTTP API (token required), through which a butler's
# "answered" is pushed into the chat: POST /conversations/{sender}/trigger_intent?token=...
# with {"name": "EXTERNAL_ticket_answered", "entities": {"ticket_number": "GD..."}}.
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
api_args=()
if [ -n "${RASA_AUTH_TOKEN:-}" ]; then
  api_args=(--enable-api --auth-token "$RASA_AUTH_TOKEN")
  # `butler tickets reply --done` then asks the enterprise's conversation for a rating
  export APPEALS_RASA_URL="${APPEALS_RASA_URL:-http://127.0.0.1:${RASA_PORT}}"
fi
"$BIN/python" -m bot.server run --model models/butler.tar.gz --endpoints endpoints.yml --credentials credentials.yml \
  --port "$RASA_PORT" --cors "*" ${api_args[@]+"${api_args[@]}"} &
pids+=($!)
# Escalates overdue tickets every APPEALS_SWEEP_INTERVAL seconds (default 300).
"$BIN/python" -m appeals.sweeper &
pids+=($!)
echo "Rasa REST webhook: http://127.0.0.1:${RASA_PORT}/webhooks/rest/webhook  (actions on :${ACTIONS_PORT}; ticket sweeper running)"
wait -n "${pids[@]}"

#!/usr/bin/env bash
# Serve the assistant: the Rasa server with the REST channel (5005), which runs the custom actions
# in its own process (endpoints.yml: actions_module), and the sweeper that escalates overdue appeal
# tickets. ACTION_SERVER=1 instead runs Rasa's separate action server (5055) and has Rasa call it
# over HTTP, for deployments that scale actions on their own. One command; Ctrl-C stops them all.
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

endpoints=endpoints.yml
actions_note="actions in-process"
if [ "${ACTION_SERVER:-0}" = 1 ]; then
  endpoints=var/endpoints.action-server.yml
  sed -e '/^ *actions_module:/d' -e "s#http://127.0.0.1:5055/#http://127.0.0.1:${ACTIONS_PORT}/#" endpoints.yml >"$endpoints"
  "$BIN/rasa" run actions --actions bot.actions --port "$ACTIONS_PORT" &
  pids+=($!)
  actions_note="action server on :${ACTIONS_PORT}"
fi
api_args=()
if [ -n "${RASA_AUTH_TOKEN:-}" ]; then
  api_args=(--enable-api --auth-token "$RASA_AUTH_TOKEN")
  # `butler tickets reply --done` then asks the enterprise's conversation for a rating
  export APPEALS_RASA_URL="${APPEALS_RASA_URL:-http://127.0.0.1:${RASA_PORT}}"
fi
"$BIN/python" -m bot.server run --model models/butler.tar.gz --endpoints "$endpoints" --credentials credentials.yml \
  --port "$RASA_PORT" --cors "*" ${api_args[@]+"${api_args[@]}"} &
pids+=($!)
# Escalates overdue tickets every APPEALS_SWEEP_INTERVAL seconds (default 300).
"$BIN/python" -m appeals.sweeper &
pids+=($!)
echo "Rasa REST webhook: http://127.0.0.1:${RASA_PORT}/webhooks/rest/webhook  (${actions_note}; ticket sweeper running)"
wait -n "${pids[@]}"

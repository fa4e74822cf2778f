#!/usr/bin/env bash
# Serve everything with one command and stop it with one Ctrl-C:
#   - the gateway on :8000 (GATEWAY_PORT): the enterprise chat /chat, its WebSocket, the butler
#     console /console and its API; the only door, it signs each enterprise's identity for Rasa;
#   - Rasa on 127.0.0.1:5005 only (RASA_PORT), its HTTP API open to the gateway by a token; the custom
#     actions run inside it (endpoints.yml: actions_module). ACTION_SERVER=1 runs Rasa's separate action
#     server on 127.0.0.1:5055 instead, for deployments that scale actions on their own;
#   - the sweeper that escalates overdue appeal tickets.
# Secrets: IDENTITY_SECRET (the gateway signs identities, the actions verify them) and RASA_AUTH_TOKEN
# are taken from the environment, else created once in var/ (readable by this user only).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
RASA_PORT=${RASA_PORT:-5005}
ACTIONS_PORT=${ACTIONS_PORT:-5055}
export GATEWAY_PORT=${GATEWAY_PORT:-8000}
mkdir -p var

secret() {  # secret FILE: the file's content, created with 32 random bytes the first time
    local file=$1
    if [ ! -s "$file" ]; then
        (umask 077 && "$BIN/python" -c 'import secrets; print(secrets.token_urlsafe(32))' >"$file")
    fi
    cat "$file"
}
export IDENTITY_SECRET=${IDENTITY_SECRET:-$(secret var/identity_secret)}
export RASA_AUTH_TOKEN=${RASA_AUTH_TOKEN:-$(secret var/rasa_token)}
export GATEWAY_RASA_URL="http://127.0.0.1:${RASA_PORT}"

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
    SANIC_HOST=127.0.0.1 "$BIN/rasa" run actions --actions bot.actions --port "$ACTIONS_PORT" &
    pids+=($!)
    actions_note="action server on 127.0.0.1:${ACTIONS_PORT}"
fi
"$BIN/python" -m bot.server run --model models/butler.tar.gz --endpoints "$endpoints" --credentials credentials.yml \
    --interface 127.0.0.1 --port "$RASA_PORT" --enable-api "--auth-token=$RASA_AUTH_TOKEN" &
pids+=($!)
"$BIN/python" -m gateway &
pids+=($!)
# Escalates overdue tickets every APPEALS_SWEEP_INTERVAL seconds (default 300).
"$BIN/python" -m appeals.sweeper &
pids+=($!)

echo "企业聊天:   http://localhost:${GATEWAY_PORT}/chat"
echo "管家工作台: http://localhost:${GATEWAY_PORT}/console"
echo "(Rasa on 127.0.0.1:${RASA_PORT}, ${actions_note}; ticket sweeper running; Ctrl-C stops everything)"
if ! "$BIN/butler" users list --json 2>/dev/null | "$BIN/python" -c 'import json, sys; sys.exit(0 if json.load(sys.stdin) else 1)'; then
    echo
    echo "还没有任何工作台账号。创建第一个管理员账号（密码从标准输入读取）："
    echo "  .venv/bin/butler users add admin --role admin"
    echo "管家账号：.venv/bin/butler users add 何杰 --role butler --butler-phone 13800000016"
fi
wait -n "${pids[@]}"

#!/usr/bin/env bash
# Fuzz the console API against its own OpenAPI contract with schemathesis 4, anonymously and as a
# logged-in butler; exits non-zero on any server error (5xx) or response that breaks the schema.
#
# Usage: CONSOLE_USERNAME=hejie CONSOLE_PASSWORD=… scripts/schemathesis.sh http://127.0.0.1:8000
#
# schemathesis 4 needs a newer jsonschema than Rasa 3.6 allows, so it lives in its own virtualenv,
# var/schemathesis-venv (or $SCHEMATHESIS_VENV), created here on first use with the project's
# Python 3.10; if it cannot be created the script fails. The password is
# read from the environment (never from the command line, where `ps` would show it).
# SCHEMATHESIS_MAX_EXAMPLES (default 20) bounds the test cases per operation and phase.
# CONSOLE_TICKET and CONSOLE_CONVERSATION (optional): a ticket number and a conversation id the butler
# may see; a third run then pins the path to them, so generated bodies reach the real 2110 loop and
# hand-off logic instead of stopping at 404.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${SCHEMATHESIS_VENV:-$ROOT/var/schemathesis-venv}"
BASE="${1:?usage: scripts/schemathesis.sh BASE_URL (with CONSOLE_USERNAME and CONSOLE_PASSWORD set) | --install}"
BASE="${BASE%/}"
MAX_EXAMPLES="${SCHEMATHESIS_MAX_EXAMPLES:-20}"

install() {
  [ -x "$VENV/bin/schemathesis" ] && return 0
  if [ -x "$ROOT/.venv/bin/python" ]; then
    PY="$ROOT/.venv/bin/python"
  else
    PY="$("$ROOT/scripts/find_python310.sh")"
  fi
  echo "schemathesis: creating $VENV with $PY" >&2
  "$PY" -m venv --clear "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "schemathesis>=4,<5"
}
install
"$VENV/bin/schemathesis" --version >&2
[ "$BASE" = "--install" ] && exit 0  # set-up only (make test prepares it before the tests)
: "${CONSOLE_USERNAME:?set CONSOLE_USERNAME to a console account (butler users add NAME --role butler)}"
: "${CONSOLE_PASSWORD:?set CONSOLE_PASSWORD to the password of that account}"

# log in once, first: the anonymous run fuzzes log-in, and its failures lock this client out of
# log-in for the rate-limit window (ACCOUNTS_LOGIN_WINDOW_MINUTES, 15) on a gateway that keeps running
read -r TOKEN CSRF < <(
  "$VENV/bin/python" - "$BASE" <<'PY'
import json, os, sys, urllib.request
from http.cookies import SimpleCookie

base = sys.argv[1]
body = json.dumps({"username": os.environ["CONSOLE_USERNAME"], "password": os.environ["CONSOLE_PASSWORD"]})
request = urllib.request.Request(
    f"{base}/api/console/login", data=body.encode(), headers={"Content-Type": "application/json"}
)
try:
    with urllib.request.urlopen(request, timeout=30) as response:
        data = json.load(response)
        cookies = SimpleCookie(response.headers.get("Set-Cookie", ""))
except urllib.error.HTTPError as exc:
    sys.exit(f"schemathesis: log-in as {os.environ['CONSOLE_USERNAME']} failed: {exc.code} {exc.read().decode()}")
print(cookies["butler_session"].value, data["csrf_token"])
PY
)

COMMON=(
  --checks not_a_server_error,response_schema_conformance
  --max-examples "$MAX_EXAMPLES"
  --phases examples,coverage,fuzzing
  --request-timeout 30
  --suppress-health-check all
  --generation-database none
  --no-color
)

status=0
echo "schemathesis: anonymous run" >&2
"$VENV/bin/schemathesis" run "$BASE/api/openapi.json" "${COMMON[@]}" || status=1

echo "schemathesis: logged-in run as $CONSOLE_USERNAME" >&2
# log-out would end the session half-way, log-in is fuzzed by the anonymous run
"$VENV/bin/schemathesis" run "$BASE/api/openapi.json" "${COMMON[@]}" \
  --exclude-operation-id logout --exclude-operation-id login \
  --generation-with-security-parameters false \
  -H "Cookie: butler_session=$TOKEN" \
  -H "X-CSRF-Token: $CSRF" || status=1

if [ -n "${CONSOLE_TICKET:-}" ] && [ -n "${CONSOLE_CONVERSATION:-}" ]; then
  CONFIG="$(mktemp)"
  trap 'rm -f "$CONFIG"' EXIT
  printf '[parameters]\n"path.number" = "%s"\n"path.conversation_id" = %d\n' \
    "$CONSOLE_TICKET" "$CONSOLE_CONVERSATION" >"$CONFIG"
  echo "schemathesis: logged-in run on ticket $CONSOLE_TICKET and conversation $CONSOLE_CONVERSATION" >&2
  "$VENV/bin/schemathesis" --config-file "$CONFIG" run "$BASE/api/openapi.json" "${COMMON[@]}" \
    --exclude-operation-id logout --exclude-operation-id login \
    --generation-with-security-parameters false \
    -H "Cookie: butler_session=$TOKEN" \
    -H "X-CSRF-Token: $CSRF" || status=1
fi

exit "$status"

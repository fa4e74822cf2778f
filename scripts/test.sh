#!/usr/bin/env bash
# Every check `make test` runs, in order. Services the tests need (PostgreSQL) are installed and
# started here when possible; a suite that cannot run is named with the reason.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
status=0
not_run=()

step() { echo; echo "==> $*"; }
run() { step "$*"; "$@" || status=1; }

run "$BIN/ruff" check .
run "$BIN/ruff" format --check .
run "$BIN/mypy"
# warnings are not fatal: Rasa 3.6 flags form utter_ask_* responses and payload-only intents as unused
run "$BIN/rasa" data validate --config config.yml --domain bot/domain.yml --data bot/data

step "PostgreSQL for the database suites"
mkdir -p var
if url=$(scripts/postgres.sh var/pg 2>var/postgres-start.log); then
  export DATABASE_URL_PG="$url"
  export REQUIRE_POSTGRES=1
  echo "PostgreSQL ready"
else
  reason=$(tail -n 3 var/postgres-start.log)
  not_run+=("PostgreSQL variants of tests/appeals: $reason")
fi

step "Chromium for the real-browser suite"
pytest_args=(-q)
if browser=$(scripts/browser.sh 2>var/browser-install.log); then
  export BROWSER_EXECUTABLE="$browser"
  echo "Chromium: $browser"
else
  pytest_args+=(-m "not browser")
  not_run+=("real-browser tests (tests/browser, pytest -m browser): $(tail -n 1 var/browser-install.log)")
fi

step "schemathesis (its own virtualenv: it needs a newer jsonschema than Rasa allows)"
if scripts/schemathesis.sh --install >var/schemathesis-install.log 2>&1; then
  echo "schemathesis ready"
else
  pytest_args+=(--deselect tests/gateway/console/test_schemathesis.py)
  not_run+=("schemathesis over /api/openapi.json (tests/gateway/console/test_schemathesis.py): $(tail -n 1 var/schemathesis-install.log)")
fi

run "$BIN/pytest" "${pytest_args[@]}"

step "WeChat mini-program (miniprogram/: npm ci, then jest with miniprogram-simulate)"
scripts/miniprogram.sh 2>&1 | tee var/miniprogram.log
case ${PIPESTATUS[0]} in
  0) ;;
  3) not_run+=("mini-program tests (miniprogram/tests, scripts/miniprogram.sh): $(tail -n 1 var/miniprogram.log)") ;;
  *) status=1 ;;
esac

run "$BIN/rasa" test core --model models/butler.tar.gz --stories tests/stories \
  --fail-on-prediction-errors --out var/rasa-test-results

scripts/postgres.sh stop var/pg >/dev/null 2>&1 || true

if [ ${#not_run[@]} -gt 0 ]; then
  echo; echo "Suites that did not run:"
  printf '  - %s\n' "${not_run[@]}"
fi
exit $status

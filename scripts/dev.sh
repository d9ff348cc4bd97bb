#!/usr/bin/env bash
# One command to run the project locally: venv + schema + the API simulator (unless
# POLYMARKET_SIMULATOR=off) + demo wallets + `dagster dev` on http://127.0.0.1:3000.
#
# It writes ./.env (API URLs, database URL, data folder, DAGSTER_HOME) so that
# `polymarket-pipeline …` in a second shell, started in this directory, reaches the same APIs,
# database and Dagster instance (its runs show in the UI). Ctrl-C or SIGTERM stops `dagster dev`
# and the simulator and waits for them; the exit status is then 130 or 143.
#
# Ports and data: DAGSTER_PORT (3000), SIM_PORT (8765), POLYMARKET_DATA_DIR (./data),
# DAGSTER_HOME (./.dagster_home); simulator shape: SIM_SEED, SIM_WALLETS, SIM_LIVE_RATE,
# SIM_LIVE_EVENTS (resolutions, redeems, merges… a minute, by the 5 followed wallets).
set -euo pipefail
set -m  # each background job gets its own process group, so stopping one reaches all its processes
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/bootstrap.sh

ENV_FILE="$ROOT/.env"
ENV_MARKER="# Written by scripts/dev.sh"
if [ -e "$ENV_FILE" ] && ! head -n 1 "$ENV_FILE" | grep -qF "$ENV_MARKER"; then
  echo "error: $ENV_FILE was not written by scripts/dev.sh, which rewrites it on every start;" \
    "move your settings into the environment and the file away" >&2
  exit 1
fi
rm -f "$ENV_FILE"  # the previous run's simulator URLs must not leak into this run's settings

export DAGSTER_HOME="${DAGSTER_HOME:-$ROOT/.dagster_home}"
export POLYMARKET_DATA_DIR="${POLYMARKET_DATA_DIR:-$ROOT/data}"
mkdir -p "$DAGSTER_HOME" "$POLYMARKET_DATA_DIR"
SIMULATOR="$(polymarket-pipeline settings POLYMARKET_SIMULATOR)"  # validated: on or off
SIMULATOR="${SIMULATOR#*=}"
python -m polymarket_pipeline.instance_config dagster.yaml > "$DAGSTER_HOME/dagster.yaml"

SIM_PID=""
DAGSTER_PID=""
# Stop one background job: TERM (dagster dev maps it to its Ctrl-C shutdown), then wait up to
# $2 seconds, then KILL whatever is left of its process group (no orphans either way).
stop_job() {
  local pid="$1" grace="$2"
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 $((grace * 5))); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  kill -KILL -- "-$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  trap - EXIT INT TERM
  stop_job "$DAGSTER_PID" 30
  stop_job "$SIM_PID" 10
}
trap 'cleanup; exit 143' TERM
trap 'cleanup; exit 130' INT
trap cleanup EXIT

if [ "$SIMULATOR" = "on" ]; then
  SIM_LOG="$POLYMARKET_DATA_DIR/simulator.log"
  # --state-file keeps the live trades, resolutions and closes across restarts of the simulator.
  # --live-events: markets resolve, the followed wallets redeem, split, merge and convert live,
  # so every close reason shows within minutes (not only manual closes from selling).
  polymarket-pipeline simulate --port "${SIM_PORT:-8765}" --seed "${SIM_SEED:-1}" \
    --wallets "${SIM_WALLETS:-60}" --live-rate "${SIM_LIVE_RATE:-0.5}" \
    --live-events "${SIM_LIVE_EVENTS:-6}" --live-event-wallets 5 \
    --state-file "$POLYMARKET_DATA_DIR/simulator_state.json" < /dev/null > "$SIM_LOG" 2>&1 &
  SIM_PID=$!
  for _ in $(seq 1 150); do
    grep -q POLYMARKET_GAMMA_API_URL "$SIM_LOG" 2>/dev/null && break
    kill -0 "$SIM_PID" 2>/dev/null || { cat "$SIM_LOG" >&2; echo "error: the simulator did not start" >&2; exit 1; }
    sleep 0.2
  done
  grep -q POLYMARKET_GAMMA_API_URL "$SIM_LOG" || { echo "error: the simulator did not start in 30 s" >&2; exit 1; }
  eval "$(grep '^export POLYMARKET_' "$SIM_LOG")"
fi

# The settings in effect (environment, else defaults), exported here and written to .env.
SHARED="POLYMARKET_DATABASE_URL POLYMARKET_DATA_DIR POLYMARKET_DATA_API_URL POLYMARKET_CLOB_API_URL
  POLYMARKET_GAMMA_API_URL POLYMARKET_DATA_API_VERSION DAGSTER_HOME"
# shellcheck disable=SC2086
SETTINGS="$(polymarket-pipeline settings --show-secrets $SHARED)"
eval "$(sed 's/^/export /' <<< "$SETTINGS")"
umask_before="$(umask)"; umask 077  # the database URL may carry a password
{
  echo "$ENV_MARKER on $(date -u +%Y-%m-%dT%H:%M:%SZ); it rewrites this file on every start."
  echo "# polymarket-pipeline commands run in $ROOT read it (and so does \`dagster dev\`)."
  echo "$SETTINGS"
} > "$ENV_FILE"
umask "$umask_before"

if [ "$SIMULATOR" = "on" ]; then
  echo "APIs: the simulator (pid $SIM_PID, log $SIM_LOG)"
else
  echo "APIs: the real Polymarket APIs (POLYMARKET_SIMULATOR=off)"
fi
echo "  Data API  $POLYMARKET_DATA_API_URL ($POLYMARKET_DATA_API_VERSION)"
echo "  CLOB      $POLYMARKET_CLOB_API_URL"
echo "  Gamma     $POLYMARKET_GAMMA_API_URL"
echo "Settings for other shells: $ENV_FILE"

polymarket-pipeline db upgrade
if [ "$SIMULATOR" = "on" ]; then
  python scripts/seed_demo.py "${POLYMARKET_DATA_API_URL%/data}"
else
  python scripts/seed_demo.py --check
fi

echo "Dagster UI: http://127.0.0.1:${DAGSTER_PORT:-3000}  (DAGSTER_HOME=$DAGSTER_HOME)"
echo "(On a new DAGSTER_HOME the daemon logs 'No cursor for event type …' once: it has no history yet.)"
# From DAGSTER_HOME, so Dagster does not warn that the project's production dagster.yaml in the
# working directory is not the instance's (the instance's is derived from it above). Every setting
# is exported already, so nothing depends on the working directory.
cd "$DAGSTER_HOME"
# `dagster dev` is the documented command for this Dagster version; `dg dev` (its successor) needs
# the dg CLI and a dg project layout, so its supersession notice is not shown.
export PYTHONWARNINGS="${PYTHONWARNINGS:+$PYTHONWARNINGS,}ignore:Function \`dev_command\` is superseded"
# `dagster dev` shuts down its webserver, daemon and code server on SIGINT and maps SIGTERM to the
# same handler, but a shell started in the background (by a service manager, `cmd &`, a test)
# passes SIGINT on as *ignored*, and then SIGTERM is ignored too: restore SIGINT before exec.
python -c 'import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execvp(sys.argv[1], sys.argv[1:])' \
  dagster dev -m polymarket_pipeline.definitions -h 127.0.0.1 -p "${DAGSTER_PORT:-3000}" < /dev/null &
DAGSTER_PID=$!
# `wait` returns early when a trapped signal arrives, so the traps above run at once.
set +e
wait "$DAGSTER_PID"
STATUS=$?
set -e
DAGSTER_PID=""
exit "$STATUS"

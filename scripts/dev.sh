#!/usr/bin/env bash
# One command to run the project locally: venv + schema + the API simulator (unless
# POLYMARKET_SIMULATOR=off) + demo wallets + `dagster dev` on http://127.0.0.1:3000.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/bootstrap.sh

export DAGSTER_HOME="${DAGSTER_HOME:-$ROOT/.dagster_home}"
export POLYMARKET_DATA_DIR="${POLYMARKET_DATA_DIR:-$ROOT/data}"
mkdir -p "$DAGSTER_HOME" "$POLYMARKET_DATA_DIR"
python -m polymarket_pipeline.instance_config dagster.yaml > "$DAGSTER_HOME/dagster.yaml"

cleanup() { [ -n "${SIM_PID:-}" ] && kill "$SIM_PID" 2>/dev/null || true; }
trap cleanup EXIT INT TERM

if [ "${POLYMARKET_SIMULATOR:-on}" != "off" ]; then
  SIM_LOG="$POLYMARKET_DATA_DIR/simulator.log"
  polymarket-pipeline simulate --port "${SIM_PORT:-8765}" --seed "${SIM_SEED:-1}" \
    --wallets "${SIM_WALLETS:-60}" --live-rate "${SIM_LIVE_RATE:-0.5}" > "$SIM_LOG" 2>&1 &
  SIM_PID=$!
  for _ in $(seq 1 100); do
    grep -q POLYMARKET_GAMMA_API_URL "$SIM_LOG" 2>/dev/null && break
    kill -0 "$SIM_PID" 2>/dev/null || { cat "$SIM_LOG" >&2; echo "error: the simulator did not start" >&2; exit 1; }
    sleep 0.2
  done
  eval "$(grep '^export POLYMARKET_' "$SIM_LOG")"
  echo "simulator: $POLYMARKET_DATA_API_URL (log: $SIM_LOG)"
fi

polymarket-pipeline db upgrade
if [ "${POLYMARKET_SIMULATOR:-on}" != "off" ]; then
  python scripts/seed_demo.py "${POLYMARKET_DATA_API_URL%/data}"
fi

echo "Dagster UI: http://127.0.0.1:${DAGSTER_PORT:-3000}  (DAGSTER_HOME=$DAGSTER_HOME)"
dagster dev -m polymarket_pipeline.definitions -h 127.0.0.1 -p "${DAGSTER_PORT:-3000}"

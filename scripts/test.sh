#!/usr/bin/env bash
# The whole check suite: lint, types, Dagster definitions, tests. Usage: scripts/test.sh [pytest args]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/bootstrap.sh

export DAGSTER_HOME="$(mktemp -d)"
trap 'rm -rf "$DAGSTER_HOME"' EXIT

echo "== ruff";  ruff check polymarket_pipeline polymarket_pipeline_tests bench scripts
echo "== mypy";  mypy
echo "== dagster definitions validate"
dagster definitions validate -m polymarket_pipeline.definitions
echo "== pytest"
pytest "$@"

"""Access to the responses recorded from the live APIs, and shape comparisons against them."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

REAL = Path(os.environ.get("POLYMARKET_REAL_PAYLOADS", "/work/shared/real_payloads"))


def load(name: str) -> Any:
    """A recorded payload (``folder/file.json``); the test skips when the recordings are absent."""
    path = REAL / name
    if not path.exists():
        pytest.skip(f"real payload {path} not available (set POLYMARKET_REAL_PAYLOADS)")
    return json.loads(path.read_text())


def json_type(value: Any) -> str:
    """JSON's own types: an integer-valued number and a float are both ``number``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def shape(row: dict[str, Any]) -> dict[str, str]:
    return {k: json_type(v) for k, v in row.items()}


def assert_same_shape(ours: dict[str, Any], real: dict[str, Any]) -> None:
    """Same keys and the same JSON type for each (null on either side matches anything)."""
    missing = set(real) - set(ours)
    extra = set(ours) - set(real)
    assert not missing, f"keys the real row has and ours lacks: {sorted(missing)}"
    assert not extra, f"keys ours has and the real row lacks: {sorted(extra)}"
    for key in set(ours) & set(real):
        if real[key] is None or ours[key] is None:
            continue  # nullable on both sides
        assert json_type(ours[key]) == json_type(real[key]), (key, ours[key], real[key])

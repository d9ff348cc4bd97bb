"""ClientSettings defaults and validation."""

from __future__ import annotations

import pytest

from polymarket_pipeline.api.settings import ClientSettings


def test_defaults_and_timeout() -> None:
    s = ClientSettings()
    assert s.data_api_version == "v2"
    assert s.position_size_floor == 0.1
    assert s.max_response_bytes == 8 * 1024 * 1024
    assert s.max_pages_per_walk == 200
    assert (s.v1_offset_cap, s.v1_positions_offset_cap, s.v1_activity_offset_cap) == (3000, 10_000, 5000)
    assert s.clock_skew_allowance_seconds == 86_400
    t = s.timeout
    assert (t.connect, t.read) == (5.0, 15.0)
    assert t.write is not None
    assert t.pool is not None


@pytest.mark.parametrize(
    "bad",
    [
        {"rate_limit": 0},
        {"burst": 0},
        {"max_retries": -1},
        {"data_api_version": "v3"},
        {"read_timeout_seconds": 0},
        {"max_response_bytes": 0},
        {"max_pages_per_walk": 0},
        {"v1_activity_offset_cap": -1},
        {"clock_skew_allowance_seconds": 10},
    ],
)
def test_invalid(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - several distinct messages
        ClientSettings(**bad)  # type: ignore[arg-type]


def test_unknown_data_api_version_names_the_known_ones() -> None:
    from polymarket_pipeline.api.data import data_api

    with pytest.raises(ValueError, match="unknown Data API version 'v3'; known: v1, v2"):
        data_api("v3", None, lambda: 0.0)  # type: ignore[arg-type]

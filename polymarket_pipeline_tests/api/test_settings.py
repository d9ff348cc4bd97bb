"""ClientSettings defaults and validation."""

from __future__ import annotations

import pytest

from polymarket_pipeline.api.settings import ClientSettings


def test_defaults_and_timeout() -> None:
    s = ClientSettings()
    assert s.data_api_version == "v2"
    assert s.position_size_floor == 0.1
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
    ],
)
def test_invalid(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - several distinct messages
        ClientSettings(**bad)  # type: ignore[arg-type]

"""The hostile fault kinds as a client meets them: broken fields, huge bodies, endless cursors, drops."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from polymarket_pipeline.simulator.faults import CORRUPTIONS, FaultRule
from polymarket_pipeline.simulator.server import SimulatorServer

MB = 1024 * 1024


@pytest.fixture(autouse=True)
def _clean_faults(sim: SimulatorServer) -> Iterator[None]:
    sim.faults.clear()
    yield
    sim.faults.clear()


def _busy(sim: SimulatorServer) -> str:
    return max(sim.model.wallets, key=lambda w: len(sim.model.trades(wallet=w, taker_only=True, limit=1000)))


BROKEN: dict[str, tuple[tuple[str, ...], Any]] = {
    "long_condition_id": (("conditionId", "condition_id"), "0x" + "c" * 78),
    "long_token_id": (("asset", "token_id"), "9" * 150),
    "huge_outcome_index": (("outcomeIndex", "outcome_index"), 10**20),
    "huge_timestamp": (("timestamp",), 99_999_999_999_999_999),
    "negative_size": (("size",), -5),
    "price_above_one": (("price",), 7.5),
    "negative_price": (("price",), -0.2),
    "string_size": (("size",), "1e3"),
}


@pytest.mark.parametrize("field", sorted(BROKEN))
@pytest.mark.parametrize("path", ["/data/trades", "/data/v2/trades"])
def test_corrupt_breaks_one_field_of_the_first_row(
    sim: SimulatorServer, http: httpx.Client, field: str, path: str
) -> None:
    wallet = _busy(sim)
    clean = http.get(path, params={"user": wallet, "limit": 3}).json()
    sim.faults.add(FaultRule(kind="corrupt", field=field, route=path.removeprefix("/data"), count=1))
    response = http.get(path, params={"user": wallet, "limit": 3})
    assert response.status_code == 200
    body = response.json()
    rows, clean_rows = (body, clean) if isinstance(body, list) else (body["data"], clean["data"])
    keys, value = BROKEN[field]
    key = next(k for k in keys if k in rows[0])
    assert rows[0][key] == value
    assert type(rows[0][key]) is type(value)
    assert rows[1:] == clean_rows[1:]  # only the first row (rows=1)
    assert http.get(path, params={"user": wallet, "limit": 3}).json() == clean  # count=1: spent


def test_corrupt_control_chars_year_2100_and_a_foreign_wallet(
    sim: SimulatorServer, http: httpx.Client
) -> None:
    wallet = _busy(sim)
    sim.faults.add(FaultRule(kind="corrupt", field="control_chars", route="/activity", rows=None, count=1))
    rows = http.get("/data/activity", params={"user": wallet, "limit": 5, "type": "TRADE"}).json()
    for row in rows:
        assert "\x00" in row["title"]
        assert "\x1b[" in row["title"]
        assert "\n" in row["title"]
    sim.faults.add(FaultRule(kind="corrupt", field="year_2100", route="/v2/trades", count=1))
    row = http.get("/data/v2/trades", params={"user": wallet, "limit": 1}).json()["data"][0]
    assert time.gmtime(row["timestamp"]).tm_year == 2100
    sim.faults.add(
        FaultRule(kind="corrupt", field="foreign_wallet", route="/positions", wallet=wallet, count=1)
    )
    rows = http.get("/data/positions", params={"user": wallet}).json()
    assert rows[0]["proxyWallet"] != wallet
    assert rows[0]["proxyWallet"] in sim.model.wallets  # another real wallet, not garbage
    assert all(r["proxyWallet"] == wallet for r in rows[1:])


def test_corrupt_reaches_clob_and_gamma_bodies(sim: SimulatorServer, http: httpx.Client) -> None:
    market = sim.model.markets[0]
    sim.faults.add(FaultRule(kind="corrupt", field="long_token_id", api="clob", count=1))
    tokens = http.get(f"/clob/markets/{market.condition_id}").json()["tokens"]
    assert tokens[0]["token_id"] == "9" * 150
    sim.faults.add(FaultRule(kind="corrupt", field="control_chars", api="gamma", count=1))
    row = http.get("/gamma/markets", params={"id": market.gamma_id}).json()[0]
    assert row["question"].startswith(market.question)
    assert "\x00" in row["question"]
    with pytest.raises(ValueError, match="field"):
        FaultRule(kind="corrupt", field="everything")
    assert set(CORRUPTIONS) == {*BROKEN, "control_chars", "year_2100", "foreign_wallet"}


@pytest.mark.parametrize("declare_length", [True, False])
def test_oversize_body_is_valid_json_of_the_right_shape(
    sim: SimulatorServer, http: httpx.Client, declare_length: bool
) -> None:
    wallet = _busy(sim)
    sim.faults.add(
        FaultRule(kind="oversize", route="/v2/trades", size_mb=3, declare_length=declare_length, count=1)
    )
    with http.stream("GET", "/data/v2/trades", params={"user": wallet, "limit": 2}) as response:
        assert response.status_code == 200
        if declare_length:
            assert int(response.headers["content-length"]) >= 3 * MB
        else:
            assert "content-length" not in response.headers
            assert response.headers["transfer-encoding"] == "chunked"
        body = response.read()
    assert 3 * MB <= len(body) < 3 * MB + 10_000
    doc = json.loads(body)
    assert set(doc) == {"data", "pagination"}
    assert len(doc["data"]) > 1000
    assert doc["data"][0]["proxy_wallet"] == wallet


def test_endless_cursor_never_ends_and_never_repeats(sim: SimulatorServer, http: httpx.Client) -> None:
    wallet = _busy(sim)
    sim.faults.add(FaultRule(kind="endless_cursor", route="/v2/activity", wallet=wallet, count=1))
    params: dict[str, Any] = {"user": wallet, "limit": 5}
    cursors: list[str] = []
    cursor: str | None = None
    for _ in range(60):
        body = http.get(
            "/data/v2/activity", params={**params, **({"cursor": cursor} if cursor else {})}
        ).json()
        assert body["pagination"]["has_more"] is True
        assert len(body["data"]) == 5
        cursor = body["pagination"]["next_cursor"]
        assert isinstance(cursor, str)
        cursors.append(cursor)
    assert len(set(cursors)) == 60
    assert sim.faults.rules() == []  # one rule firing once is enough to trap a walk
    normal = http.get("/data/v2/activity", params={**params, "limit": 1000, "start": 1}).json()
    assert normal["pagination"]["has_more"] is False


@pytest.mark.parametrize("status", [500, 429])
def test_huge_error_body_with_escape_codes(sim: SimulatorServer, http: httpx.Client, status: int) -> None:
    sim.faults.add(FaultRule(kind="huge_error", api="data", size_mb=2, status=status, count=1))
    response = http.get("/data/v2/positions", params={"user": sim.model.wallets[0]})
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/plain")
    assert len(response.content) >= 2 * MB
    assert b"\x1b[31;1m" in response.content
    assert response.content.count(b"\n") > 10_000
    assert b" - dagster - ERROR - " in response.content
    with pytest.raises(ValueError, match="status"):
        FaultRule(kind="huge_error", status=200)


def test_drop_cuts_the_connection_mid_body(sim: SimulatorServer, http: httpx.Client) -> None:
    wallet = _busy(sim)
    since = time.time()
    sim.faults.add(FaultRule(kind="drop", route="/trades", count=1))
    with pytest.raises(httpx.RemoteProtocolError):
        http.get("/data/trades", params={"user": wallet, "limit": 50})
    assert http.get("/data/trades", params={"user": wallet, "limit": 50}).status_code == 200
    dropped = [r for r in sim.log.records(since) if r.fault == "drop"]
    assert len(dropped) == 1

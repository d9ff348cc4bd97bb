"""The request log: every API request on arrival, with its route template, query, wallet and outcome."""

from __future__ import annotations

import time

import httpx

from polymarket_pipeline.simulator.faults import FaultRule
from polymarket_pipeline.simulator.requestlog import RequestLog, RequestRecord
from polymarket_pipeline.simulator.server import SimulatorServer


def test_records_describe_each_request(sim: SimulatorServer, http: httpx.Client) -> None:
    wallet = sim.model.wallets[1]
    market = sim.model.markets[0].condition_id
    since = time.time()
    http.get("/data/v2/trades", params={"user": wallet.upper().replace("0X", "0x"), "limit": 3})
    http.get(f"/clob/markets/{market}")
    http.get("/gamma/markets", params=[("condition_ids", market), ("condition_ids", market)])
    http.get("/data/trades", params={"user": "0xnope"})
    http.get("/_sim/health")  # the admin plane is not logged
    records = sim.log.records(since=since)
    assert [(r.api, r.path, r.route, r.status) for r in records] == [
        ("data", "/v2/trades", "/v2/trades", 200),
        ("clob", f"/markets/{market}", "/markets/{condition_id}", 200),
        ("gamma", "/markets", "/markets", 200),
        ("data", "/trades", "/trades", 400),
    ]
    first = records[0]
    assert first.wallet == wallet
    assert first.query["limit"] == "3"
    assert since <= first.at <= records[1].at
    assert first.duration_ms > 0
    assert records[2].query["condition_ids"] == f"{market},{market}"
    assert records[1].wallet is None


def test_faulted_requests_are_logged_with_their_status(sim: SimulatorServer, http: httpx.Client) -> None:
    since = time.time()
    sim.faults.add(FaultRule(kind="503", route="/value", count=1))
    http.get("/data/value", params={"user": sim.model.wallets[0]})
    assert [r.status for r in sim.log.records(since) if r.route == "/value"] == [503]


def test_admin_reads_and_clears_the_log(sim: SimulatorServer, http: httpx.Client) -> None:
    http.get("/gamma/markets")
    since = time.time()
    http.get("/clob/markets")
    over_http = sim.admin.requests(since=since)
    assert [(r.api, r.route) for r in over_http] == [("clob", "/markets")]
    assert isinstance(over_http[0], RequestRecord)
    sim.admin.clear_requests()
    assert sim.log.records() == []


def test_log_is_bounded() -> None:
    log = RequestLog(maxlen=3)
    for i in range(5):
        log.add(RequestRecord(float(i), "data", "/trades", "/trades", {}, None, 200, 1.0))
    assert [r.at for r in log.records()] == [2.0, 3.0, 4.0]
    assert [r.at for r in log.records(since=3.0)] == [3.0, 4.0]
    assert RequestRecord.from_dict(log.records()[0].to_dict()) == log.records()[0]

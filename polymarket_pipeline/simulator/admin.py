"""The ``/_sim`` control plane: drive the model, script faults and read the request log over HTTP.

Benchmarks and end-to-end tests run the simulator in another process; this is how they inject
trades, resolve markets and read the ground truth there. :class:`SimulatorAdmin` is its client.
PnL: ``GET /pnl`` is the accounting ground truth per wallet, ``POST /pnl-skew`` makes one wallet's
``/v2/user-pnl`` lie, ``POST /transfer`` hands a wallet tokens no API row shows (both journaled).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from polymarket_pipeline.simulator.context import SimContext
from polymarket_pipeline.simulator.faults import FaultRule
from polymarket_pipeline.simulator.markets import SimMarket
from polymarket_pipeline.simulator.requestlog import RequestRecord
from polymarket_pipeline.simulator.settlement import MakerSpec
from polymarket_pipeline.simulator.web import json_response


class SimulatorAdminError(RuntimeError):
    """The simulator refused an admin call (bad input, e.g. selling more than a wallet holds)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


def market_summary(m: SimMarket) -> dict[str, Any]:
    return {
        **m.truth(),
        "tags": list(m.tags),
        "last_prices": list(m.last_prices),
        "end_date": m.end_date,
        "created_at": m.created_at,
    }


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("the request body must be a JSON object")
    return data


def _makers(raw: Any) -> list[MakerSpec] | None:
    """Accept makers as addresses, [wallet, size] pairs or {"wallet", "size"} objects."""
    if raw is None:
        return None
    out: list[MakerSpec] = []
    for item in raw:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict):
            out.append((str(item["wallet"]), float(item["size"])))
        else:
            wallet, size = item
            out.append((str(wallet), float(size)))
    return out


def admin_routes(ctx: SimContext) -> list[Route]:
    model = ctx.model

    async def health(request: Request) -> Response:
        return json_response(
            {
                "ok": True,
                "wallets": len(model.wallets),
                "markets": len(model.markets),
                "fills": model.fill_count(),
                "live_trades_per_second": model.live_trades_per_second,
                "start_time": model.start_time,
                "seed": ctx.config.seed,
                "state_file": ctx.config.state_file,
                "journal_entries": model.journal_entries,
                "edge_cache": ctx.edge.describe(),
            }
        )

    async def wallets(request: Request) -> Response:
        return json_response(model.wallets)

    async def add_wallets(request: Request) -> Response:
        body = await _body(request)
        return json_response(model.add_wallets(int(body.get("n", 1)), bool(body.get("with_history", True))))

    async def markets(request: Request) -> Response:
        with model.lock:
            return json_response([market_summary(m) for m in model.markets])

    async def inject(request: Request) -> Response:
        b = await _body(request)
        fills = model.inject_trade(
            b["taker"],
            str(b["asset"]),
            b["side"],
            float(b["size"]),
            float(b["price"]),
            makers=_makers(b.get("makers")),
            timestamp=b.get("timestamp"),
        )
        return json_response(fills)

    async def generate(request: Request) -> Response:
        b = await _body(request)
        return json_response(model.generate_trades(int(b.get("n", 1)), timestamp=b.get("timestamp")))

    async def resolve(request: Request) -> Response:
        b = await _body(request)
        model.resolve_market(
            request.path_params["condition_id"],
            int(b["winner_index"]),
            at=b.get("at"),
            flag_winner=bool(b.get("flag_winner", True)),
        )
        return json_response({"ok": True})

    async def events(request: Request) -> Response:
        with model.lock:
            return json_response([e.truth() for e in model.events if e.neg_risk])

    async def resolve_event(request: Request) -> Response:
        b = await _body(request)
        model.resolve_event(
            int(request.path_params["event_id"]),
            str(b["winner_condition_id"]),
            at=b.get("at"),
            flag_winner=bool(b.get("flag_winner", True)),
        )
        return json_response({"ok": True})

    async def split(request: Request) -> Response:
        b = await _body(request)
        return json_response(model.split(b["wallet"], b["condition_id"], float(b["size"]), at=b.get("at")))

    async def merge(request: Request) -> Response:
        b = await _body(request)
        size = b.get("size")
        return json_response(
            model.merge(b["wallet"], b["condition_id"], None if size is None else float(size), at=b.get("at"))
        )

    async def convert(request: Request) -> Response:
        b = await _body(request)
        return json_response(model.convert(b["wallet"], b["condition_ids"], float(b["size"]), at=b.get("at")))

    async def rewards(request: Request) -> Response:
        b = await _body(request)
        return json_response(
            model.reward(b["wallet"], float(b["amount"]), kind=str(b.get("kind", "REWARD")), at=b.get("at"))
        )

    async def transfer(request: Request) -> Response:
        b = await _body(request)
        return json_response(
            model.transfer_tokens(b["wallet"], str(b["asset"]), float(b["size"]), at=b.get("at"))
        )

    async def skew(request: Request) -> Response:
        b = await _body(request)
        model.skew_official_pnl(b["wallet"], float(b["usdc"]))
        return json_response({"ok": True})

    async def pnl(request: Request) -> Response:
        wanted = request.query_params.getlist("wallet")
        return json_response(model.pnl_truth(wanted or None))

    async def edge_get(request: Request) -> Response:
        return json_response(ctx.edge.describe())

    async def edge_set(request: Request) -> Response:
        b = await _body(request)
        routes = b.get("routes")
        if routes is not None and not isinstance(routes, list):
            raise ValueError("routes must be a list of route templates")
        seconds = b.get("seconds")
        ctx.edge.configure(None if seconds is None else float(seconds), routes)
        return json_response(ctx.edge.describe())

    async def edge_purge(request: Request) -> Response:
        ctx.edge.purge()
        return json_response(ctx.edge.describe())

    async def archive(request: Request) -> Response:
        b = await _body(request)
        model.archive_market(request.path_params["condition_id"], at=b.get("at"))
        return json_response({"ok": True})

    async def redeem(request: Request) -> Response:
        b = await _body(request)
        return json_response(model.redeem(b["wallet"], b["condition_id"], at=b.get("at")))

    async def close(request: Request) -> Response:
        b = await _body(request)
        return json_response(model.close_position(b["wallet"], str(b["asset"]), timestamp=b.get("timestamp")))

    async def faults_list(request: Request) -> Response:
        return json_response(ctx.faults.rules())

    async def faults_add(request: Request) -> Response:
        rule = FaultRule.from_dict(await _body(request))
        return json_response({"id": ctx.faults.add(rule)})

    async def faults_clear(request: Request) -> Response:
        ctx.faults.clear()
        return json_response({"ok": True})

    async def requests_list(request: Request) -> Response:
        since = request.query_params.get("since")
        records = ctx.log.records(float(since) if since else None)
        return json_response([r.to_dict() for r in records])

    async def requests_clear(request: Request) -> Response:
        ctx.log.clear()
        return json_response({"ok": True})

    async def truth(request: Request) -> Response:
        return json_response(model.ground_truth())

    async def live_get(request: Request) -> Response:
        return json_response({"trades_per_second": model.live_trades_per_second})

    async def live_set(request: Request) -> Response:
        b = await _body(request)
        model.set_live_rate(float(b["trades_per_second"]))
        return json_response({"trades_per_second": model.live_trades_per_second})

    async def limits_get(request: Request) -> Response:
        return json_response({"enforce": ctx.limiter.enabled, "limits": ctx.limiter.limits})

    async def limits_set(request: Request) -> Response:
        b = await _body(request)
        enforce = b.get("enforce")
        ctx.limiter.configure(None if enforce is None else bool(enforce), b.get("limits"))
        return json_response({"enforce": ctx.limiter.enabled, "limits": ctx.limiter.limits})

    table: list[tuple[str, str, Callable[[Request], Awaitable[Response]]]] = [
        ("/health", "GET", health),
        ("/wallets", "GET", wallets),
        ("/wallets", "POST", add_wallets),
        ("/markets", "GET", markets),
        ("/trades", "POST", inject),
        ("/generate", "POST", generate),
        ("/markets/{condition_id}/resolve", "POST", resolve),
        ("/markets/{condition_id}/archive", "POST", archive),
        ("/events", "GET", events),
        ("/events/{event_id}/resolve", "POST", resolve_event),
        ("/split", "POST", split),
        ("/merge", "POST", merge),
        ("/convert", "POST", convert),
        ("/rewards", "POST", rewards),
        ("/transfer", "POST", transfer),
        ("/pnl-skew", "POST", skew),
        ("/pnl", "GET", pnl),
        ("/edge-cache", "GET", edge_get),
        ("/edge-cache", "PUT", edge_set),
        ("/edge-cache", "DELETE", edge_purge),
        ("/redeem", "POST", redeem),
        ("/close", "POST", close),
        ("/faults", "GET", faults_list),
        ("/faults", "POST", faults_add),
        ("/faults", "DELETE", faults_clear),
        ("/requests", "GET", requests_list),
        ("/requests", "DELETE", requests_clear),
        ("/truth", "GET", truth),
        ("/live", "GET", live_get),
        ("/live", "PUT", live_set),
        ("/limits", "GET", limits_get),
        ("/limits", "PUT", limits_set),
    ]
    return [Route(path, _guarded(fn), methods=[method]) for path, method, fn in table]


def _guarded(fn: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    """Model ValueErrors (and malformed bodies) become 400 ``{"error"}`` instead of a 500."""

    async def call(request: Request) -> Response:
        try:
            return await fn(request)
        except (ValueError, KeyError, TypeError) as exc:
            return json_response({"error": str(exc)}, 400)

    return call


class SimulatorAdmin:
    """A small synchronous client of the ``/_sim`` routes (for a simulator in another process)."""

    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = httpx.Client(base_url=f"{self.base_url}/_sim", timeout=timeout)

    def __enter__(self) -> SimulatorAdmin:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def _call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        params: dict[str, str] | httpx.QueryParams | None = None,
    ) -> Any:
        response = self._client.request(method, path, json=body, params=params)
        if response.status_code >= 400:
            try:
                message = str(response.json().get("error", response.text))
            except ValueError:
                message = response.text
            raise SimulatorAdminError(response.status_code, message)
        return response.json()

    def health(self) -> dict[str, Any]:
        return dict(self._call("GET", "/health"))

    def wallets(self) -> list[str]:
        return list(self._call("GET", "/wallets"))

    def markets(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/markets"))

    def add_wallets(self, n: int, with_history: bool = True) -> list[str]:
        return list(self._call("POST", "/wallets", {"n": n, "with_history": with_history}))

    def inject_trade(
        self,
        taker: str,
        asset: str,
        side: str,
        size: float,
        price: float,
        makers: Sequence[MakerSpec] | None = None,
        timestamp: int | None = None,
    ) -> list[dict[str, Any]]:
        body: dict[str, Any] = {
            "taker": taker,
            "asset": asset,
            "side": side,
            "size": size,
            "price": price,
            "timestamp": timestamp,
        }
        if makers is not None:
            body["makers"] = [m if isinstance(m, str) else [m[0], m[1]] for m in makers]
        return list(self._call("POST", "/trades", body))

    def generate_trades(self, n: int, timestamp: int | None = None) -> list[dict[str, Any]]:
        return list(self._call("POST", "/generate", {"n": n, "timestamp": timestamp}))

    def resolve_market(
        self, condition_id: str, winner_index: int, at: int | None = None, flag_winner: bool = True
    ) -> None:
        """Resolve a market; ``flag_winner=False`` leaves every token ``winner: false`` (prices 1/0)."""
        body = {"winner_index": winner_index, "at": at, "flag_winner": flag_winner}
        self._call("POST", f"/markets/{condition_id}/resolve", body)

    def events(self) -> list[dict[str, Any]]:
        """The neg-risk events: id, slug, title, neg_risk_market_id, their markets' condition ids."""
        return list(self._call("GET", "/events"))

    def resolve_event(
        self, event_id: int, winner_condition_id: str, at: int | None = None, flag_winner: bool = True
    ) -> None:
        """Resolve a neg-risk event: Yes for ``winner_condition_id``, No for its other markets."""
        body = {"winner_condition_id": winner_condition_id, "at": at, "flag_winner": flag_winner}
        self._call("POST", f"/events/{event_id}/resolve", body)

    def split(
        self, wallet: str, condition_id: str, size: float, at: int | None = None
    ) -> list[dict[str, Any]]:
        """SPLIT ``size`` USDC into both outcome tokens (no trade row)."""
        body = {"wallet": wallet, "condition_id": condition_id, "size": size, "at": at}
        return list(self._call("POST", "/split", body))

    def merge(
        self, wallet: str, condition_id: str, size: float | None = None, at: int | None = None
    ) -> list[dict[str, Any]]:
        """MERGE ``size`` (None = all) of both outcome tokens back into USDC (no trade row)."""
        body = {"wallet": wallet, "condition_id": condition_id, "size": size, "at": at}
        return list(self._call("POST", "/merge", body))

    def convert(
        self, wallet: str, condition_ids: str | Sequence[str], size: float, at: int | None = None
    ) -> list[dict[str, Any]]:
        """CONVERSION of ``size`` NO tokens of each neg-risk market into YES of the event's others."""
        ids = [condition_ids] if isinstance(condition_ids, str) else list(condition_ids)
        body = {"wallet": wallet, "condition_ids": ids, "size": size, "at": at}
        return list(self._call("POST", "/convert", body))

    def reward(
        self, wallet: str, amount: float, kind: str = "REWARD", at: int | None = None
    ) -> list[dict[str, Any]]:
        """A REWARD, MAKER_REBATE or TAKER_REBATE activity row (no market)."""
        body = {"wallet": wallet, "amount": amount, "kind": kind, "at": at}
        return list(self._call("POST", "/rewards", body))

    def transfer_tokens(self, wallet: str, asset: str, size: float, at: int | None = None) -> dict[str, Any]:
        """Tokens into ``wallet`` without a buy (no API row; Polymarket's PnL ignores them). Returns
        the ledger entry."""
        body = {"wallet": wallet, "asset": asset, "size": size, "at": at}
        return dict(self._call("POST", "/transfer", body))

    def skew_official_pnl(self, wallet: str, usdc: float) -> None:
        """Add ``usdc`` to ``wallet``'s realized PnL in every ``/v2/user-pnl`` point (0 = truthful)."""
        self._call("POST", "/pnl-skew", {"wallet": wallet, "usdc": usdc})

    def pnl_truth(self, wallets: Sequence[str] | None = None) -> dict[str, dict[str, Any]]:
        """Per wallet (all when None): positions' PnL figures, totals and the daily series, unskewed.

        Amounts are exact decimal text (12 places); ``series`` is served-shape points.
        """
        params = httpx.QueryParams([("wallet", w) for w in wallets]) if wallets else None
        return dict(self._call("GET", "/pnl", params=params))

    def edge_cache(self) -> dict[str, Any]:
        """The edge cache's settings and counters (seconds, routes, entries, bytes, hits, misses)."""
        return dict(self._call("GET", "/edge-cache"))

    def set_edge_cache(
        self, seconds: float | None = None, routes: Sequence[str] | None = None
    ) -> dict[str, Any]:
        """Change the cache lifetime (0 = off) and/or routes; what was stored is forgotten."""
        body = {"seconds": seconds, "routes": None if routes is None else list(routes)}
        return dict(self._call("PUT", "/edge-cache", body))

    def purge_edge_cache(self) -> None:
        self._call("DELETE", "/edge-cache")

    def archive_market(self, condition_id: str, at: int | None = None) -> None:
        self._call("POST", f"/markets/{condition_id}/archive", {"at": at})

    def redeem(
        self, wallet: str, condition_id: str | Sequence[str], at: int | None = None
    ) -> list[dict[str, Any]]:
        cid: Any = condition_id if isinstance(condition_id, str) else list(condition_id)
        return list(self._call("POST", "/redeem", {"wallet": wallet, "condition_id": cid, "at": at}))

    def close_position(self, wallet: str, asset: str, timestamp: int | None = None) -> list[dict[str, Any]]:
        return list(self._call("POST", "/close", {"wallet": wallet, "asset": asset, "timestamp": timestamp}))

    def add_fault(self, rule: FaultRule | None = None, **fields: Any) -> int:
        """Add a fault rule, given as a FaultRule or as its fields (``kind="429", route=...``)."""
        rule = rule if rule is not None else FaultRule(**fields)
        return int(self._call("POST", "/faults", rule.to_dict())["id"])

    def faults(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/faults"))

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    def requests(self, since: float | None = None) -> list[RequestRecord]:
        params = {"since": repr(since)} if since is not None else None
        return [RequestRecord.from_dict(r) for r in self._call("GET", "/requests", params=params)]

    def clear_requests(self) -> None:
        self._call("DELETE", "/requests")

    def truth(self) -> dict[str, Any]:
        return dict(self._call("GET", "/truth"))

    def live_rate(self) -> float:
        return float(self._call("GET", "/live")["trades_per_second"])

    def set_live_rate(self, trades_per_second: float) -> None:
        self._call("PUT", "/live", {"trades_per_second": trades_per_second})

    def set_limits(self, enforce: bool | None = None, limits: dict[str, int] | None = None) -> dict[str, Any]:
        return dict(self._call("PUT", "/limits", {"enforce": enforce, "limits": limits}))

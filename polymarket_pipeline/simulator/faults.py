"""Scripted failures and hostile bodies, per API, route and wallet, with counts and probabilities.

Real Polymarket fails in all these ways; a pipeline proven only against a perfect server has
never exercised its retry, timeout, parse-error and validation paths. Kinds:

- ``429``: the family's error body with ``Retry-After: retry_after``.
- ``429_html``: Cloudflare's HTML "You are being rate limited" page, with ``Retry-After``.
- ``500``: the family's error body. ``502``: Cloudflare's HTML Bad Gateway page.
- ``503``: a server-side timeout (v2: ``code: request_timeout``) with ``Retry-After``.
- ``hang``: hold the request ``hang_seconds`` (until the client gives up), then a 524 page.
- ``malformed``: a 200 whose JSON body is cut in half.
- ``latency``: add ``latency_ms`` (these add up, and combine with one failure rule).
- ``corrupt``: a 200 whose first ``rows`` rows (None = all) have one field broken, by ``field``:
  ``control_chars`` (NUL, BEL, ANSI escapes and CR/LF in the title/question),
  ``long_condition_id`` (80 characters), ``long_token_id`` (150 digits),
  ``huge_outcome_index`` (1e20), ``huge_timestamp`` (99999999999999999), ``year_2100`` (a fill
  dated 2100), ``negative_size`` (-5), ``price_above_one`` (7.5), ``negative_price`` (-0.2),
  ``string_size`` (the string ``"1e3"``), ``foreign_wallet`` (``proxyWallet`` of another wallet).
  Rows without that field are left alone.
- ``oversize``: a 200 with a valid body padded to ``size_mb`` MB (rows repeated), streamed;
  ``declare_length`` sends its Content-Length up front (else chunked).
- ``endless_cursor`` (v2 list routes): the page says ``has_more`` with a fresh cursor, and every
  cursor so issued is answered with the first page again and yet another fresh cursor: a walk
  that never ends and never repeats a cursor.
- ``huge_error``: status ``status`` with a ``size_mb`` MB text body full of ANSI escape codes,
  newlines and lines that look like log records.
- ``drop``: the headers and half the body, then the connection is closed mid-response.
"""

from __future__ import annotations

import dataclasses
import itertools
import random
import threading
from dataclasses import dataclass
from typing import Any

FAULT_KINDS = (
    "429",
    "429_html",
    "500",
    "502",
    "503",
    "hang",
    "malformed",
    "latency",
    "corrupt",
    "oversize",
    "endless_cursor",
    "huge_error",
    "drop",
)
ERROR_KINDS = frozenset({"429", "429_html", "500", "502", "503"})
"""Kinds answered instead of the route (the route never runs)."""
CORRUPTIONS = (
    "control_chars",
    "long_condition_id",
    "long_token_id",
    "huge_outcome_index",
    "huge_timestamp",
    "year_2100",
    "negative_size",
    "price_above_one",
    "negative_price",
    "string_size",
    "foreign_wallet",
)
MAX_BODY_MB = 4096.0
APIS = ("data", "clob", "gamma")


@dataclass(frozen=True)
class FaultRule:
    """When and how to fail.

    ``route`` is an API-relative path or template (``"/v2/trades"``, ``"/markets/{condition_id}"``;
    None = every route), ``api`` one of data/clob/gamma (None = all), ``wallet`` restricts to
    requests whose ``user=`` is that wallet, ``count`` is how many times it fires (None = forever).
    ``field``/``rows`` shape ``corrupt``; ``size_mb`` shapes ``oversize`` and ``huge_error``;
    ``status`` is ``huge_error``'s status code.
    """

    kind: str
    route: str | None = None
    api: str | None = None
    wallet: str | None = None
    count: int | None = None
    probability: float = 1.0
    retry_after: float = 1.0
    latency_ms: float = 0.0
    hang_seconds: float = 3600.0
    field: str | None = None
    rows: int | None = 1
    size_mb: float = 1.0
    status: int = 500
    declare_length: bool = True

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {FAULT_KINDS}")
        if self.api is not None and self.api not in APIS:
            raise ValueError(f"unknown api {self.api!r}; expected one of {APIS}")
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError("probability must be within 0..1")
        if self.count is not None and self.count < 0:
            raise ValueError("count must be >= 0")
        if self.kind == "corrupt" and self.field not in CORRUPTIONS:
            raise ValueError(f"a corrupt rule needs field, one of {CORRUPTIONS}")
        if self.kind != "corrupt" and self.field is not None:
            raise ValueError("field only applies to corrupt rules")
        if self.rows is not None and self.rows < 1:
            raise ValueError("rows must be >= 1 (or None for every row)")
        if not 0 < self.size_mb <= MAX_BODY_MB:
            raise ValueError(f"size_mb must be within (0, {MAX_BODY_MB:g}]")
        if not 400 <= self.status <= 599:
            raise ValueError("status must be an error status (400-599)")
        if self.wallet is not None:
            object.__setattr__(self, "wallet", self.wallet.lower())

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaultRule:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        return cls(**data)

    def matches(self, api: str, route: str, path: str, wallet: str | None) -> bool:
        if self.api is not None and self.api != api:
            return False
        if self.route is not None and self.route not in (route, path):
            return False
        return self.wallet is None or self.wallet == wallet


@dataclass
class _Active:
    id: int
    rule: FaultRule
    remaining: int | None
    fired: int = 0


@dataclass(frozen=True)
class FaultDecision:
    """What to do with one request: extra latency, then maybe one failure."""

    latency_ms: float = 0.0
    rule: FaultRule | None = None


class FaultInjector:
    """The active fault rules. Thread-safe: tests add rules while the server matches them."""

    def __init__(self, seed: int = 0) -> None:
        self._rules: list[_Active] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._rng = random.Random(seed)

    def add(self, rule: FaultRule) -> int:
        """Activate a rule; returns its id (for :meth:`remove`)."""
        with self._lock:
            active = _Active(next(self._ids), rule, rule.count)
            self._rules.append(active)
            return active.id

    def remove(self, rule_id: int) -> bool:
        with self._lock:
            before = len(self._rules)
            self._rules = [r for r in self._rules if r.id != rule_id]
            return len(self._rules) != before

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def rules(self) -> list[dict[str, Any]]:
        """Active rules with their id, remaining count and how often they fired."""
        with self._lock:
            return [
                {"id": r.id, **r.rule.to_dict(), "remaining": r.remaining, "fired": r.fired}
                for r in self._rules
            ]

    def decide(self, api: str, route: str, path: str, wallet: str | None) -> FaultDecision:
        """Latency rules add up; the first matching failure rule wins. Spent rules retire."""
        if not self._rules:
            return FaultDecision()
        latency = 0.0
        chosen: FaultRule | None = None
        with self._lock:
            for active in list(self._rules):
                rule = active.rule
                if chosen is not None and rule.kind != "latency":
                    continue
                if active.remaining is not None and active.remaining <= 0:
                    continue
                if not rule.matches(api, route, path, wallet):
                    continue
                if rule.probability < 1.0 and self._rng.random() >= rule.probability:
                    continue
                active.fired += 1
                if active.remaining is not None:
                    active.remaining -= 1
                    if active.remaining <= 0:
                        self._rules.remove(active)
                if rule.kind == "latency":
                    latency += rule.latency_ms
                else:
                    chosen = rule
        return FaultDecision(latency, chosen)

"""Scripted failures (429s, Cloudflare HTML, 5xx, hangs, broken JSON, latency) per route and wallet.

Real Polymarket fails in all these ways; a pipeline proven only against a perfect server has
never exercised its retry, timeout and parse-error paths.
"""

from __future__ import annotations

import dataclasses
import itertools
import random
import threading
from dataclasses import dataclass
from typing import Any

FAULT_KINDS = ("429", "429_html", "500", "502", "503", "hang", "malformed", "latency")
APIS = ("data", "clob", "gamma")


@dataclass(frozen=True)
class FaultRule:
    """When and how to fail.

    ``route`` is an API-relative path or template (``"/v2/trades"``, ``"/markets/{condition_id}"``;
    None = every route), ``api`` one of data/clob/gamma (None = all), ``wallet`` restricts to
    requests whose ``user=`` is that wallet, ``count`` is how many times it fires (None = forever).
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

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {FAULT_KINDS}")
        if self.api is not None and self.api not in APIS:
            raise ValueError(f"unknown api {self.api!r}; expected one of {APIS}")
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError("probability must be within 0..1")
        if self.count is not None and self.count < 0:
            raise ValueError("count must be >= 0")
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

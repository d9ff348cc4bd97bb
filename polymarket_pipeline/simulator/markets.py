"""The market catalogue: binary markets, multi-outcome (neg-risk) events, legacy markets, resolution.

What a client learns about a market comes from here: its ids, text, tags, whether and how it
resolved. Real quirks kept on purpose: a resolved market stays ``active``; many legacy (2022-23)
resolutions carry no ``winner: true`` token although the prices settled to 1/0; one legacy market
lists a token whose ``token_id`` is ``""`` on the CLOB; only legacy markets and events carry a
Gamma ``category``.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import random
from dataclasses import dataclass, field
from typing import Any

from polymarket_pipeline.simulator.catalog import EventTemplate, MarketTemplate

NO_TOKEN = ""
"""What the CLOB prints as ``token_id`` for the legacy market's blanked token."""


def clip(x: float, lo: float, hi: float) -> float:
    return lo if x < lo else hi if x > hi else x


def round_to_tick(p: float, tick: float) -> float:
    digits = 2 if tick >= 0.01 else 3
    return round(round(p / tick) * tick, digits)


@dataclass(eq=False)
class SimMarket:
    """One binary market: static metadata plus resolution state."""

    index: int
    gamma_id: int
    event_id: int
    condition_id: str
    question_id: str
    token_ids: tuple[str, str]
    outcomes: tuple[str, str]
    question: str
    description: str
    slug: str
    event_slug: str
    event_title: str
    theme: str
    """The subject (Sports, Politics...): drives tags; never served as a category by itself."""
    category: str | None
    """The classification a client can read (Gamma market or event ``category``): legacy only."""
    tags: tuple[str, ...]
    icon: str
    created_at: int
    end_date: int
    neg_risk: bool
    neg_risk_market_id: str
    neg_risk_request_id: str
    group_item_title: str | None
    tick_size: float
    min_order_size: float
    has_volume: bool
    fee_rate: float
    """Taker fee rate (0 = fee-free): fee = rate x min(p, 1 - p) x size, in USDC."""
    legacy: bool
    blank_token_index: int | None
    """The token the CLOB lists with ``token_id ""`` (one legacy market), else None."""
    last_prices: list[float]
    closed: bool = False
    winner_index: int | None = None
    winner_flagged: bool = False
    """Whether the CLOB marks the winning token ``winner: true`` (prices settle 1/0 either way)."""
    archived: bool = False
    closed_at: int | None = None
    archived_at: int | None = None
    volume: float = 0.0
    last_trade_at: int = 0
    price_keys: list[tuple[int, int]] = field(default_factory=list, repr=False)
    """(timestamp, seq) of each settlement, in chain order (back-dated ones are inserted)."""
    price_marks: list[float] = field(default_factory=list, repr=False)
    """Outcome 0's price after each settlement of ``price_keys`` (tick-rounded, as ``last_prices``)."""
    opening_price: float = 0.0
    """Outcome 0's price before any settlement."""

    def __post_init__(self) -> None:
        self.opening_price = self.last_prices[0]

    @property
    def active(self) -> bool:
        """Polymarket keeps ``active: true`` after resolution; only ``closed`` flips."""
        return True

    @property
    def accepting_orders(self) -> bool:
        return not self.closed

    @property
    def winner_asset(self) -> str | None:
        return None if self.winner_index is None else self.token_ids[self.winner_index]

    @property
    def winnerless(self) -> bool:
        """Resolved, but no token says ``winner: true``."""
        return self.closed and not self.winner_flagged

    @property
    def served_token_ids(self) -> tuple[str, str]:
        """Token ids as the CLOB lists them (the Data API always has the real ones)."""
        if self.blank_token_index is None:
            return self.token_ids
        ids = list(self.token_ids)
        ids[self.blank_token_index] = NO_TOKEN
        return ids[0], ids[1]

    @property
    def uma_resolution_status(self) -> str | None:
        """Gamma ``umaResolutionStatus``: ``resolved`` once closed; legacy markets never had UMA."""
        return "resolved" if self.closed and not self.legacy else None

    @functools.cached_property
    def end_date_text(self) -> str:
        """``YYYY-MM-DD`` (cached: positions print it on every row)."""
        return dt.datetime.fromtimestamp(self.end_date, tz=dt.UTC).strftime("%Y-%m-%d")

    @functools.cached_property
    def end_day_iso(self) -> str:
        """Midnight of the end date, ISO with Z (closed-positions and CLOB ``end_date_iso``)."""
        return f"{self.end_date_text}T00:00:00Z"

    def price_of(self, outcome_index: int) -> float:
        """Last trade price, or the settlement price (1 winner / 0 loser) once resolved."""
        if self.closed and self.winner_index is not None:
            return 1.0 if outcome_index == self.winner_index else 0.0
        return self.last_prices[outcome_index]

    def mark_price(self, ts: int, seq: int, price_yes: float) -> None:
        """Record a settlement's price, so the past can be valued at the prices it had."""
        key = (ts, seq)
        if not self.price_keys or key > self.price_keys[-1]:
            self.price_keys.append(key)
            self.price_marks.append(price_yes)
        else:
            i = bisect.bisect_right(self.price_keys, key)
            self.price_keys.insert(i, key)
            self.price_marks.insert(i, price_yes)

    def price_before(self, outcome_index: int, ts: int) -> float:
        """The price at ``ts`` (a UTC day end): of the last settlement before it, or the payout
        (1 winner / 0 loser) once resolved before it. The price history is one mark per
        settlement, so a day end is valued at what the market last traded at, as now is."""
        if self.closed and self.winner_index is not None and (self.closed_at or 0) < ts:
            return 1.0 if outcome_index == self.winner_index else 0.0
        i = bisect.bisect_left(self.price_keys, (ts, 0))
        price_yes = self.price_marks[i - 1] if i else self.opening_price
        return price_yes if outcome_index == 0 else round(1 - price_yes, 4)

    def truth(self) -> dict[str, Any]:
        return {
            "condition_id": self.condition_id,
            "token_ids": list(self.token_ids),
            "served_token_ids": list(self.served_token_ids),
            "outcomes": list(self.outcomes),
            "question": self.question,
            "category": self.category,
            "theme": self.theme,
            "closed": self.closed,
            "winner_index": self.winner_index,
            "winner_asset": self.winner_asset,
            "winner_flagged": self.winner_flagged,
            "winnerless": self.winnerless,
            "archived": self.archived,
            "closed_at": self.closed_at,
            "archived_at": self.archived_at,
            "gamma_id": self.gamma_id,
            "slug": self.slug,
            "event_id": self.event_id,
            "event_slug": self.event_slug,
            "neg_risk": self.neg_risk,
            "legacy": self.legacy,
            "fee_rate": self.fee_rate,
        }


@dataclass(eq=False)
class SimEvent:
    """A Gamma event; a neg-risk event groups mutually exclusive Yes/No markets."""

    event_id: int
    slug: str
    title: str
    neg_risk: bool
    neg_risk_market_id: str
    category: str | None
    markets: list[SimMarket] = field(default_factory=list)

    def truth(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "slug": self.slug,
            "title": self.title,
            "neg_risk": self.neg_risk,
            "neg_risk_market_id": self.neg_risk_market_id,
            "category": self.category,
            "condition_ids": [m.condition_id for m in self.markets],
        }


def _token(rng: random.Random) -> str:
    return str(rng.randrange(10**76, 10**77))


def _hex(rng: random.Random, bits: int = 256) -> str:
    return f"0x{rng.getrandbits(bits):0{bits // 4}x}"


class MarketCatalogue:
    """Every market and event, indexed by condition id and token id."""

    def __init__(self) -> None:
        self.markets: list[SimMarket] = []
        self.events: dict[int, SimEvent] = {}
        self.by_condition: dict[str, SimMarket] = {}
        self.by_token: dict[str, tuple[SimMarket, int]] = {}

    # ------------------------------------------------------------------ lookups
    def get(self, condition_id: str) -> SimMarket | None:
        return self.by_condition.get(str(condition_id).lower())

    def require(self, condition_id: str) -> SimMarket:
        market = self.get(condition_id)
        if market is None:
            raise ValueError(f"unknown market {condition_id!r}")
        return market

    def for_token(self, token_id: str) -> tuple[SimMarket, int] | None:
        return self.by_token.get(str(token_id))

    def open_at(self, ts: int) -> list[SimMarket]:
        """Markets that accept trades at ``ts`` (created, not resolved)."""
        return [m for m in self.markets if not m.closed and m.created_at <= ts]

    def event_of(self, market: SimMarket) -> SimEvent:
        return self.events[market.event_id]

    # ------------------------------------------------------------------ creation
    def new_market(
        self,
        rng: random.Random,
        text: MarketTemplate,
        created: int,
        end_date: int,
        *,
        fee_market_fraction: float,
        category: str | None = None,
        legacy: bool = False,
    ) -> SimMarket:
        """A standalone binary market (its own one-market event)."""
        index = len(self.markets)
        slug = text.slug if all(m.slug != text.slug for m in self.markets) else f"{text.slug}-{index}"
        event = SimEvent(
            20_000 + index * 7 + rng.randint(0, 6), text.event_slug, text.event_title, False, "", category
        )
        tick = 0.01 if rng.random() < 0.8 else 0.001
        p0 = round_to_tick(rng.uniform(0.1, 0.9), tick)
        fee = 0.0 if legacy or rng.random() >= fee_market_fraction else rng.choice([0.01, 0.02, 0.03])
        market = SimMarket(
            index=index,
            gamma_id=(40 + index if legacy else 500_000 + index * 13 + rng.randint(0, 12)),
            event_id=event.event_id,
            condition_id=_hex(rng),
            question_id=_hex(rng),
            token_ids=(_token(rng), _token(rng)),
            outcomes=text.outcomes,
            question=text.question,
            description=text.description,
            slug=slug,
            event_slug=text.event_slug,
            event_title=text.event_title,
            theme=text.theme,
            category=category,
            tags=text.tags,
            icon=text.icon,
            created_at=created,
            end_date=end_date,
            neg_risk=False,
            neg_risk_market_id="",
            neg_risk_request_id="",
            group_item_title=None,
            tick_size=tick,
            min_order_size=5.0,
            has_volume=rng.random() < 0.8,
            fee_rate=fee,
            legacy=legacy,
            blank_token_index=None,
            last_prices=[p0, round(1 - p0, 4)],
        )
        self._add(market, event)
        return market

    def new_event(self, rng: random.Random, text: EventTemplate, created: int, end_date: int) -> SimEvent:
        """A neg-risk event: its members share event id/slug/title and the neg-risk market id."""
        index = len(self.markets)
        event = SimEvent(20_000 + index * 7 + rng.randint(0, 6), text.slug, text.title, True, _hex(rng), None)
        weights = [rng.uniform(0.2, 1.0) for _ in text.members]
        total = sum(weights)
        for k, member in enumerate(text.members):
            p0 = round_to_tick(clip(weights[k] / total, 0.02, 0.98), 0.01)
            question_id = f"{event.neg_risk_market_id[:-2]}{k:02x}"  # group id + index, like the adapter
            market = SimMarket(
                index=len(self.markets),
                gamma_id=500_000 + len(self.markets) * 13 + rng.randint(0, 12),
                event_id=event.event_id,
                condition_id=_hex(rng),
                question_id=question_id,
                token_ids=(_token(rng), _token(rng)),
                outcomes=("Yes", "No"),
                question=member.question,
                description=text.description,
                slug=member.slug,
                event_slug=text.slug,
                event_title=text.title,
                theme=text.theme,
                category=None,
                tags=text.tags,
                icon=text.icon,
                created_at=created,
                end_date=end_date,
                neg_risk=True,
                neg_risk_market_id=event.neg_risk_market_id,
                neg_risk_request_id=question_id,
                group_item_title=member.group_item_title,
                tick_size=0.01,
                min_order_size=5.0,
                has_volume=True,
                fee_rate=0.0,
                legacy=False,
                blank_token_index=None,
                last_prices=[p0, round(1 - p0, 4)],
            )
            self._add(market, event)
        return event

    def _add(self, market: SimMarket, event: SimEvent) -> None:
        event = self.events.setdefault(event.event_id, event)
        event.markets.append(market)
        self.markets.append(market)
        self.by_condition[market.condition_id] = market
        self.by_token[market.token_ids[0]] = (market, 0)
        self.by_token[market.token_ids[1]] = (market, 1)

    # ------------------------------------------------------------------ resolution
    def resolve(self, market: SimMarket, winner_index: int, at: int, flag_winner: bool = True) -> bool:
        """Close a market with a winner; False when it already was (same winner: idempotent)."""
        if winner_index not in (0, 1):
            raise ValueError("winner_index must be 0 or 1")
        if market.closed:
            if market.winner_index == winner_index:
                return False
            raise ValueError(f"market {market.condition_id} is already resolved")
        market.closed = True
        market.winner_index = winner_index
        market.winner_flagged = bool(flag_winner)
        market.closed_at = at
        return True

    def archive(self, market: SimMarket, at: int) -> bool:
        """Flag a resolved market archived; False when it already was."""
        if not market.closed:
            raise ValueError(f"market {market.condition_id} must be resolved before it is archived")
        if market.archived:
            return False
        market.archived = True
        market.archived_at = at
        return True

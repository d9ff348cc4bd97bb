"""Live life beyond trades: markets resolving, wallets redeeming, merging, splitting, converting.

A demo (or a soak test) whose only live change is new trades closes positions one way only, by
selling: ``manual_close``. These events, a few a minute, make every close reason happen while the
pipeline watches: a resolved market's holders redeem (``redeemed``) or see it archived unredeemed
(``market_closed``), a wallet holding both outcomes merges them (``merged``), a neg-risk holder
converts NO tokens (``converted``). Each event goes through the model's public operations, so it
is journaled and replayed like any other change. Events rotate through the kinds, skipping one
that has no candidate, and never resolve more than half of the current markets (trading must go
on). ``wallets`` narrows the actors to the first N simulator wallets (the demo's followed ones,
whose changes the hot path shows within seconds).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from typing import TYPE_CHECKING

from polymarket_pipeline.simulator.config import UNIT
from polymarket_pipeline.simulator.markets import SimMarket

if TYPE_CHECKING:
    from polymarket_pipeline.simulator.model import MarketModel

log = logging.getLogger(__name__)

KINDS = ("split", "merge", "resolve", "redeem", "convert", "resolve", "archive")
"""The rotation: a split makes a later merge possible; a resolution makes a redeem or an archive."""
MIN_SHARES = 1


class LiveEvents:
    """Picks and performs the next live event on a model (one at a time, deterministic per seed)."""

    def __init__(self, model: MarketModel, *, seed: int, wallets: int = 0) -> None:
        self.model = model
        self.rng = random.Random(seed * 104_729 + 3)
        self.wallets = wallets
        self.turn = 0
        self.done: dict[str, int] = {}

    def actors(self) -> list[str]:
        everyone = list(self.model.wallets)
        return everyone[: self.wallets] if self.wallets else everyone

    def step(self) -> str | None:
        """Perform the next feasible event of the rotation; return its kind (None: none was)."""
        for offset in range(len(KINDS)):
            kind = KINDS[(self.turn + offset) % len(KINDS)]
            action = self._plan(kind)
            if action is None:
                continue
            self.turn = (self.turn + offset + 1) % len(KINDS)
            try:
                action()
            except ValueError as exc:  # the state moved under us (a trade in between): try later
                log.debug("live %s skipped: %s", kind, exc)
                continue
            self.done[kind] = self.done.get(kind, 0) + 1
            return kind
        return None

    # ------------------------------------------------------------------ planning
    def _plan(self, kind: str) -> Callable[[], object] | None:
        model = self.model
        with model.lock:
            world = model.world
            markets: list[SimMarket] = list(world.catalogue.markets)
            actors = set(self.actors())
            book = world.book
            held = [
                p
                for w in actors
                for p in book.positions.get(w, {}).values()
                if p.size_u >= MIN_SHARES * UNIT and not p.hidden
            ]
            if kind == "split":
                open_ = [m for m in markets if not m.closed and not m.legacy and not m.neg_risk]
                if not open_ or not actors:
                    return None
                wallet, market = self.rng.choice(sorted(actors)), self.rng.choice(open_)
                size = float(self.rng.randint(5, 40))
                return lambda: model.split(wallet, market.condition_id, size)
            if kind == "merge":
                pairs = sorted(
                    {
                        (p.wallet, p.market.condition_id)
                        for p in held
                        if not p.market.closed
                        and not p.market.neg_risk
                        and book.held(p.wallet, p.market, 1 - p.outcome_index) >= MIN_SHARES * UNIT
                    }
                )
                if not pairs:
                    return None
                wallet, condition = self.rng.choice(pairs)
                return lambda: model.merge(wallet, condition, None)
            if kind == "resolve":
                current = [m for m in markets if not m.legacy]
                open_held = sorted(
                    {p.market.condition_id for p in held if not p.market.closed and not p.market.neg_risk}
                )
                if not open_held or sum(1 for m in current if not m.closed) * 2 <= len(current):
                    return None
                condition = self.rng.choice(open_held)
                winner = self.rng.randrange(2)
                return lambda: model.resolve_market(condition, winner)
            if kind in ("redeem", "archive"):
                resolved = sorted(
                    {
                        (p.wallet, p.market.condition_id)
                        for p in held
                        if p.market.closed and not p.market.archived
                    }
                )
                if not resolved:
                    return None
                wallet, condition = self.rng.choice(resolved)
                if kind == "redeem":
                    return lambda: model.redeem(wallet, condition)
                return lambda: model.archive_market(condition)
            if kind == "convert":
                no_legs = sorted(
                    {
                        (p.wallet, p.market.condition_id, p.size_u)
                        for p in held
                        if p.market.neg_risk and p.outcome_index == 1 and not p.market.closed
                    }
                )
                if not no_legs:
                    return None
                # a whole holding of whole shares converts away (a close); else part of it
                whole = [leg for leg in no_legs if leg[2] % UNIT == 0]
                wallet, condition, size_u = self.rng.choice(whole or no_legs)
                size = float(size_u // UNIT if whole else size_u // UNIT - 1)
                if size < MIN_SHARES:
                    return None
                return lambda: model.convert(wallet, [condition], size)
        raise ValueError(f"unknown live event kind {kind!r}")


async def run_live_events(events: LiveEvents, per_minute: float) -> None:
    """Perform ``per_minute`` events a minute until cancelled (0 = none)."""
    if per_minute <= 0:
        return
    while True:
        await asyncio.sleep(60.0 / per_minute)
        try:
            kind = await asyncio.to_thread(events.step)
        except Exception:  # keep the simulator up; a bad event is not worth killing the server
            log.exception("live event failed")
            continue
        if kind:
            log.info("live event: %s (so far %s)", kind, events.done)

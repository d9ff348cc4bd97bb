"""Synthetic but realistic application data at scale, bulk-loaded with ``COPY`` (not a benchmark).

``load(url, trades=N)`` fills a freshly migrated PostgreSQL database with ``N`` fills in
``trades_public`` and the rest of the application tables in proportion, shaped like the live
system rather than uniform noise:

* wallets = N / 100 (about 100 fills each on average), markets = N / 500, users = wallets / 10;
* who trades is skewed (a wallet's weight ~ 1 / rank^0.9: a few wallets hold tens of thousands of
  fills, most a handful), and so is where (popular markets);
* fills come in settlements (one transaction hash shared by a taker and 1-3 makers, same market,
  same second); a year of history whose volume grows linearly toward now;
* ids have their real shapes and lengths (0x + 40 / 64 hex, 77-digit token ids, 64-hex trade ids),
  titles and slugs real-length text;
* ``activity_public`` (TRADE rows plus REDEEMs), ``positions_current`` (N / 10),
  ``position_events`` (N / 4: history, then one event per open position whose ``size_after`` is
  its size, so the ``positions_consistent`` check finds the data consistent, as it is live),
  ``positions_closed`` (N / 20), ``wallet_poll_state`` (5 % hot
  through ``follows``, a few failing wallets backing off), ``external_markets`` (15 per user),
  ``external_positions_raw`` (30 days of one small payload per user), ``wallet_links``,
  ``market_cache`` and a month of hourly ``sync_runs``.

The secondary indexes and primary keys of the big tables are dropped before ``COPY`` and
recreated afterwards from their own definitions (``pg_indexes`` / ``pg_get_constraintdef``),
exactly as migrated, then every table is analyzed.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import psycopg
import sqlalchemy as sa

DAY = 86_400
YEAR = 365 * DAY
CHUNK = 100_000
BIG_TABLES = ("trades_public", "activity_public", "positions_current", "position_events", "positions_closed")

_WORDS = [
    "election",
    "president",
    "senate",
    "fed",
    "rate",
    "cut",
    "bitcoin",
    "ethereum",
    "price",
    "above",
    "below",
    "champions",
    "league",
    "final",
    "world",
    "cup",
    "winner",
    "nba",
    "finals",
    "oscars",
    "best",
    "picture",
    "inflation",
    "recession",
    "gdp",
    "q3",
    "q4",
    "approval",
    "rating",
    "tiktok",
    "ban",
    "spacex",
    "launch",
    "mars",
    "ai",
    "model",
    "release",
    "openai",
    "google",
    "apple",
    "earnings",
    "beat",
    "eurovision",
    "grammy",
    "super",
    "bowl",
    "mvp",
    "trump",
    "harris",
    "biden",
    "putin",
    "ukraine",
    "ceasefire",
    "israel",
    "gaza",
    "china",
    "taiwan",
]


@dataclass(frozen=True)
class Shape:
    """How many rows of each table go with ``trades`` fills."""

    trades: int

    @property
    def wallets(self) -> int:
        return max(1_000, self.trades // 100)

    @property
    def markets(self) -> int:
        return max(200, self.trades // 500)

    @property
    def users(self) -> int:
        return max(100, self.wallets // 10)

    @property
    def activity(self) -> int:
        return self.trades // 2

    @property
    def positions(self) -> int:
        return self.trades // 10

    @property
    def events(self) -> int:
        return self.trades // 4

    @property
    def closed(self) -> int:
        return self.trades // 20


@dataclass
class Market:
    condition_id: str
    tokens: tuple[str, str]
    title: str
    slug: str
    event_slug: str


@dataclass
class Universe:
    """The wallets, markets and users the rows refer to (also what the benchmarks query)."""

    wallets: list[str]
    wallet_weights: np.ndarray
    markets: list[Market]
    market_weights: np.ndarray
    users: list[str]
    hot: list[str]
    now: int
    fills_per_wallet: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


@dataclass
class LoadReport:
    rows: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def _hex(rng: np.random.Generator, n: int, nbytes: int) -> list[str]:
    raw = rng.bytes(n * nbytes).hex()
    width = 2 * nbytes
    return ["0x" + raw[i * width : (i + 1) * width] for i in range(n)]


def _skewed(n: int, exponent: float) -> np.ndarray:
    weights = 1.0 / np.arange(1, n + 1, dtype=np.float64) ** exponent
    return np.cumsum(weights / weights.sum())


def _pick(rng: np.random.Generator, cumulative: np.ndarray, n: int) -> np.ndarray:
    return np.minimum(np.searchsorted(cumulative, rng.random(n)), len(cumulative) - 1)


def _title(rng: np.random.Generator) -> str:
    words = rng.choice(_WORDS, size=int(rng.integers(4, 10)))
    return "Will " + " ".join(words) + " by December 31?"


def universe(shape: Shape, seed: int = 1, now: int | None = None) -> Universe:
    rng = np.random.default_rng(seed)
    wallets = _hex(rng, shape.wallets, 20)
    markets = []
    for i, condition in enumerate(_hex(rng, shape.markets, 32)):
        title = _title(rng)
        slug = "-".join(title.lower().rstrip("?").split()[1:7]) + f"-{i}"
        tokens = (
            str(int(rng.integers(10**17, 10**18))) + "".join(map(str, rng.integers(0, 10, 59))),
            str(int(rng.integers(10**17, 10**18))) + "".join(map(str, rng.integers(0, 10, 59))),
        )
        markets.append(Market(condition, tokens, title, slug, slug.rsplit("-", 2)[0]))
    users = [f"user-{i:07d}" for i in range(shape.users)]
    hot_idx = rng.choice(shape.wallets, size=max(1, shape.wallets // 20), replace=False)
    return Universe(
        wallets=wallets,
        wallet_weights=_skewed(shape.wallets, 0.9),
        markets=markets,
        market_weights=_skewed(shape.markets, 0.8),
        users=users,
        hot=[wallets[i] for i in hot_idx],
        now=int(now if now is not None else time.time()),
    )


def _iso(epochs: np.ndarray) -> list[str]:
    return list(np.datetime_as_string(epochs.astype("datetime64[s]"), unit="s"))


def _times(rng: np.random.Generator, n: int, now: int, span: int = YEAR) -> np.ndarray:
    """Epoch seconds over ``span`` before ``now``, volume growing linearly toward now."""
    return (now - span + span * np.sqrt(rng.random(n))).astype(np.int64)


def _n(value: Any) -> str:
    return "\\N" if value is None else str(value)


# ----------------------------------------------------------------------------- row generators
def trade_chunks(u: Universe, total: int, seed: int) -> Iterator[list[str]]:
    """``trades_public`` rows as COPY text lines, in chunks; settlements of 1 taker + 1-3 makers."""
    rng = np.random.default_rng(seed)
    counts = np.zeros(len(u.wallets), dtype=np.int64)
    made = 0
    while made < total:
        n = min(CHUNK, total - made)
        legs = rng.integers(2, 5, size=n)  # fills per settlement
        settlement = np.repeat(np.arange(n), legs)[:n]
        k = int(settlement[-1]) + 1
        s_market = _pick(rng, u.market_weights, k)
        s_outcome = rng.integers(0, 2, size=k)
        s_time = _times(rng, k, u.now)
        s_price = np.round(rng.uniform(0.01, 0.99, size=k), 3)
        s_tx = _hex(rng, k, 32)
        wallet = _pick(rng, u.wallet_weights, n)
        np.add.at(counts, wallet, 1)
        first = np.r_[True, settlement[1:] != settlement[:-1]]
        taker_side = np.where(rng.random(n) < 0.7, "BUY", "SELL")
        side = np.where(first, taker_side, np.where(rng.random(n) < 0.5, "SELL", "BUY"))
        size = np.round(rng.lognormal(3.0, 1.5, size=n), 2) + 0.01
        trade_ids = _hex(rng, n, 32)
        stamps = _iso(s_time)
        seen = _iso(s_time + rng.integers(1, 120, size=k))
        lines = []
        for i in range(n):
            s = settlement[i]
            m = u.markets[s_market[s]]
            o = int(s_outcome[s])
            lines.append(
                f"{trade_ids[i][2:]}\t{u.wallets[wallet[i]]}\t{m.condition_id}\t{m.tokens[o]}\t{side[i]}\t"
                f"{size[i]}\t{s_price[s]}\t{stamps[s]}+00\t{s_tx[s]}\t{m.title}\t{m.slug}\t{m.event_slug}\t"
                f"{'Yes' if o == 0 else 'No'}\t{o}\t0\t{seen[s]}+00\t{seen[s]}+00\n"
            )
        made += n
        yield lines
    u.fills_per_wallet = counts


TRADE_COLUMNS = (
    "trade_id, wallet_address, condition_id, asset, side, size, price, traded_at, transaction_hash, "
    "title, slug, event_slug, outcome, outcome_index, occurrence, first_seen_at, updated_at"
)


def activity_chunks(u: Universe, total: int, seed: int) -> Iterator[list[str]]:
    rng = np.random.default_rng(seed)
    made = 0
    while made < total:
        n = min(CHUNK, total - made)
        wallet = _pick(rng, u.wallet_weights, n)
        market = _pick(rng, u.market_weights, n)
        outcome = rng.integers(0, 2, size=n)
        kind = np.where(rng.random(n) < 0.85, "TRADE", "REDEEM")
        t = _iso(_times(rng, n, u.now))
        size = np.round(rng.lognormal(3.0, 1.5, size=n), 2)
        price = np.round(rng.uniform(0.01, 0.99, size=n), 3)
        ids, tx = _hex(rng, n, 32), _hex(rng, n, 32)
        lines = []
        for i in range(n):
            m = u.markets[market[i]]
            o = int(outcome[i])
            trade = kind[i] == "TRADE"
            lines.append(
                f"{ids[i][2:]}\t{u.wallets[wallet[i]]}\t{kind[i]}\t{m.condition_id}\t{m.tokens[o]}\t"
                f"{'BUY' if trade else ''}\t{size[i]}\t{round(size[i] * price[i], 4) if trade else size[i]}\t"
                f"{price[i] if trade else 0}\t{'Yes' if o == 0 else 'No'}\t{o}\t{m.title}\t{m.slug}\t"
                f"{m.event_slug}\t{tx[i]}\t{t[i]}+00\t0\t{t[i]}+00\t{t[i]}+00\n"
            )
        made += n
        yield lines


ACTIVITY_COLUMNS = (
    "activity_id, wallet_address, type, condition_id, asset, side, size, usdc_size, price, outcome, "
    "outcome_index, title, slug, event_slug, transaction_hash, occurred_at, occurrence, first_seen_at, "
    "updated_at"
)


def position_chunks(u: Universe, total: int, seed: int) -> Iterator[list[str]]:
    """``positions_current``: distinct (wallet, asset) pairs, skewed like the fills."""
    rng = np.random.default_rng(seed)
    seen: set[tuple[int, int, int]] = set()
    made = 0
    while made < total:
        n = min(CHUNK, total - made)
        wallet = _pick(rng, u.wallet_weights, 2 * n)
        market = _pick(rng, u.market_weights, 2 * n)
        outcome = rng.integers(0, 2, size=2 * n)
        size = np.round(rng.lognormal(4.0, 1.5, size=2 * n), 2) + 0.1
        avg = np.round(rng.uniform(0.01, 0.99, size=2 * n), 4)
        cur = np.round(rng.uniform(0.01, 0.99, size=2 * n), 4)
        first = _iso(_times(rng, 2 * n, u.now))
        now = _iso(np.array([u.now]))[0]
        lines = []
        for i in range(2 * n):
            key = (int(wallet[i]), int(market[i]), int(outcome[i]))
            if key in seen:
                continue
            seen.add(key)
            m = u.markets[market[i]]
            o = int(outcome[i])
            value = round(size[i] * cur[i], 4)
            initial = round(size[i] * avg[i], 4)
            lines.append(
                f"{u.wallets[wallet[i]]}\t{m.tokens[o]}\t{m.condition_id}\t{size[i]}\t{avg[i]}\t{cur[i]}\t"
                f"{value}\t{initial}\t{round(value - initial, 4)}\t0\tf\tf\t{m.title}\t{m.slug}\t"
                f"{'Yes' if o == 0 else 'No'}\t{o}\t\\N\t{first[i]}+00\t{now}+00\t{now}+00\n"
            )
            if len(lines) == n:
                break
        made += len(lines)
        yield lines


POSITION_COLUMNS = (
    "wallet_address, asset, condition_id, size, avg_price, cur_price, current_value, initial_value, "
    "cash_pnl, realized_pnl, redeemable, mergeable, title, slug, outcome, outcome_index, end_date, "
    "first_seen_at, last_seen_at, updated_at"
)


def event_chunks(u: Universe, total: int, seed: int) -> Iterator[list[str]]:
    rng = np.random.default_rng(seed)
    made = 0
    kinds = np.array(["opened", "increased", "decreased", "closed"])
    while made < total:
        n = min(CHUNK, total - made)
        wallet = _pick(rng, u.wallet_weights, n)
        market = _pick(rng, u.market_weights, n)
        outcome = rng.integers(0, 2, size=n)
        kind = kinds[rng.integers(0, 4, size=n)]
        before = np.round(rng.lognormal(3.0, 1.5, size=n), 2)
        after = np.round(rng.lognormal(3.0, 1.5, size=n), 2)
        t = _iso(_times(rng, n, u.now))
        lines = []
        for i in range(n):
            m = u.markets[market[i]]
            closed = kind[i] == "closed"
            lines.append(
                f"{u.wallets[wallet[i]]}\t{m.tokens[int(outcome[i])]}\t{m.condition_id}\t{kind[i]}\t"
                f"{before[i]}\t{0 if closed else after[i]}\t{'manual_close' if closed else chr(92) + 'N'}\t"
                f"{t[i]}+00\n"
            )
        made += n
        yield lines


LATEST_EVENTS = (
    "INSERT INTO position_events (wallet_address, asset, condition_id, event_type, size_before, size_after, "
    "reason, detected_at) SELECT wallet_address, asset, condition_id, 'opened', 0, size, NULL, first_seen_at "
    "FROM positions_current"
)
"""Each open position's latest event records its current size (``quality.inconsistent_positions``)."""
EVENT_COLUMNS = (
    "wallet_address, asset, condition_id, event_type, size_before, size_after, reason, detected_at"
)


def closed_chunks(u: Universe, total: int, seed: int) -> Iterator[list[str]]:
    rng = np.random.default_rng(seed)
    reasons = np.array(["manual_close", "market_closed", "redeemed", "merged", "converted"])
    made = 0
    while made < total:
        n = min(CHUNK, total - made)
        wallet = _pick(rng, u.wallet_weights, n)
        market = _pick(rng, u.market_weights, n)
        outcome = rng.integers(0, 2, size=n)
        reason = reasons[np.minimum(rng.geometric(0.5, size=n) - 1, 4)]
        size = np.round(rng.lognormal(3.0, 1.5, size=n), 2)
        price = np.round(rng.uniform(0.01, 0.99, size=n), 4)
        t = _times(rng, n, u.now)
        closed_at, first = _iso(t), _iso(t - rng.integers(DAY, 60 * DAY, size=n))
        lines = []
        for i in range(n):
            m = u.markets[market[i]]
            o = int(outcome[i])
            lines.append(
                f"{u.wallets[wallet[i]]}\t{m.tokens[o]}\t{m.condition_id}\t{reason[i]}\t{closed_at[i]}+00\t"
                f"{size[i]}\t{price[i]}\t{price[i]}\t0\t{m.title}\t{'Yes' if o == 0 else 'No'}\t"
                f"{first[i]}+00\n"
            )
        made += n
        yield lines


CLOSED_COLUMNS = (
    "wallet_address, asset, condition_id, reason, closed_at, last_size, avg_price, cur_price, "
    "realized_pnl, title, outcome, first_seen_at"
)


def state_rows(u: Universe, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    n = len(u.wallets)
    hot = set(u.hot)
    polled = u.now - rng.integers(0, 3600, size=n)
    p = _iso(polled)
    last_trade = _iso(polled - rng.integers(0, 30 * DAY, size=n))
    retry = _iso(u.now + rng.integers(60, 3600, size=n))
    created = _iso(u.now - rng.integers(DAY, YEAR, size=n))
    never = rng.random(n) < 0.01
    failing = rng.random(n) < 0.01
    inactive = rng.random(n) < 0.01
    pinned = rng.random(n) < 0.005
    null = "\\N"
    lines = []
    for i, w in enumerate(u.wallets):
        if never[i]:  # registered, never polled yet
            nulls4, nulls5 = f"{null}\t" * 4, f"{null}\t" * 5
            lines.append(f"{w}\tt\tf\t{null}\tf\t{nulls4}t\t{nulls5}0\t{created[i]}+00\t{created[i]}+00\n")
            continue
        pol = f"{p[i]}+00"
        active = "f" if inactive[i] and w not in hot else "t"
        retry_after = f"{retry[i]}+00" if failing[i] else null
        error = "HTTP 502 from GET /v2/positions (retried next cycle)" if failing[i] else null
        error_at = pol if failing[i] else null
        lines.append(
            f"{w}\t{active}\t{'t' if pinned[i] else 'f'}\t{last_trade[i]}+00\tt\t"
            f"{pol}\t{pol}\t{pol}\t{pol}\tt\t{pol}\t{pol}\t{retry_after}\t{error}\t{error_at}\t"
            f"{3 if failing[i] else 0}\t{created[i]}+00\t{pol}\n"
        )
    return lines


STATE_COLUMNS = (
    "wallet_address, is_active, is_hot_pinned, last_trade_time_seen, history_complete, last_polled_at, "
    "last_trades_polled_at, last_positions_polled_at, positions_snapshot_at, positions_complete, "
    "last_activity_time_seen, last_verified_at, retry_after, last_error, last_error_at, "
    "consecutive_failures, created_at, updated_at"
)


def follow_rows(u: Universe, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    lines, now = [], _iso(np.array([u.now]))[0]
    for w in u.hot:
        for user in set(rng.choice(len(u.users), size=int(rng.integers(1, 4)))):
            lines.append(f"{u.users[user]}\t{w}\t{now}+00\n")
    return lines


def user_rows(u: Universe, seed: int) -> tuple[list[str], list[str], list[str]]:
    """``wallet_links``, ``external_markets`` and ``external_positions_raw`` lines."""
    rng = np.random.default_rng(seed)
    now = u.now
    today = now - now % DAY
    links, markets, raw = [], [], []
    for user in u.users:
        linked = [u.wallets[i] for i in set(rng.choice(len(u.wallets), size=int(rng.integers(1, 4))))]
        for w in linked:
            links.append(f"{os.urandom(16).hex()}\t{user}\tpolygon\t{w}\t{_iso(np.array([now]))[0]}+00\n")
        held = set(_pick(rng, u.market_weights, 15))
        for mi in held:
            m = u.markets[mi]
            o = int(rng.integers(0, 2))
            size = round(float(rng.lognormal(3.0, 1.5)), 2) + 0.1
            avg, cur = round(float(rng.uniform(0.01, 0.99)), 4), round(float(rng.uniform(0.01, 0.99)), 4)
            resolved = "t" if rng.random() < 0.2 else "f"
            tags = json.dumps(["Politics", "Elections"])
            as_of = _iso(np.array([today + 2 * 3600]))[0]
            markets.append(
                f"{user}\t{m.tokens[o]}\t{m.condition_id}\t{m.title}\tPolitics\t{tags}\t"
                f"{'Yes' if o == 0 else 'No'}\t{size}\t{avg}\t{round(size * cur, 4)}\t"
                f"{round(size * (cur - avg), 4)}\t{resolved}\t{len(linked)}\t{as_of}+00\t{as_of}+00\n"
            )
        payload = json.dumps({"wallets": linked, "positions": [{"asset": "…", "size": 1.0}] * 3})
        for day in range(30):
            d = today - day * DAY
            iso = _iso(np.array([d + 2 * 3600]))[0]
            raw.append(
                f"{os.urandom(16).hex()}\t{user}\tpolymarket\t{iso[:10]}\t0\t{iso}+00\t{payload}\t\\N\n"
            )
    return links, markets, raw


LINK_COLUMNS = "id, user_id, chain, address, created_at"
EXTERNAL_COLUMNS = (
    "user_id, asset, market_id, title, category, tags, outcome, size, avg_price, current_value, pnl, "
    "resolved, wallet_count, as_of, updated_at"
)
RAW_COLUMNS = "id, user_id, source, sync_date, revision, fetched_at, payload, run_id"


def cache_rows(u: Universe) -> list[str]:
    fetched = _iso(np.array([u.now - 600]))[0]
    return [
        f"{m.condition_id}\t{m.title}\t{m.slug}\tPolitics\t[]\t"
        f'["Yes", "No"]\t{json.dumps(list(m.tokens))}\tf\tf\t\\N\t{fetched}+00\n'
        for m in u.markets
    ]


CACHE_COLUMNS = (
    "condition_id, title, slug, category, tags, outcomes, token_ids, closed, resolved, winner_asset, "
    "fetched_at"
)


def run_rows(u: Universe) -> list[str]:
    lines = []
    for h in range(24 * 30):
        started = _iso(np.array([u.now - h * 3600 - 3000]))[0]
        finished = _iso(np.array([u.now - h * 3600 - 600]))[0]
        lines.append(
            f"{os.urandom(16).hex()}\tcold_sweep\t\\N\t{started}+00\t{finished}+00\tsucceeded\t{{}}\n"
        )
    return lines


RUN_COLUMNS = "id, kind, dagster_run_id, started_at, finished_at, status, stats"


# ----------------------------------------------------------------------------- loading
def _psycopg_url(url: str) -> str:
    return sa.engine.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _drop_indexes(cur: psycopg.Cursor[Any], table: str) -> list[str]:
    """Drop every index and PK/unique constraint of ``table``; return the statements that recreate them."""
    cur.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND contype IN ('p', 'u')",
        (table,),
    )
    constraints = cur.fetchall()
    cur.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexname NOT IN "
        "(SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)",
        (table, table),
    )
    indexes = cur.fetchall()
    recreate = [
        f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}' for name, definition in constraints
    ]
    recreate += [definition for _, definition in indexes]
    for name, _ in constraints:
        cur.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
    for name, _ in indexes:
        cur.execute(f'DROP INDEX "{name}"')
    return recreate


def _copy(
    cur: psycopg.Cursor[Any], table: str, columns: str, chunks: Iterator[list[str]] | Sequence[list[str]]
) -> int:
    rows = 0
    with cur.copy(f'COPY "{table}" ({columns}) FROM STDIN') as copy:
        for lines in chunks:
            copy.write("".join(lines))
            rows += len(lines)
    return rows


def load(
    url: str, trades: int, *, seed: int = 1, log: Callable[[str], None] = print, now: int | None = None
) -> tuple[Universe, LoadReport]:
    """Fill the (migrated, empty) PostgreSQL database at ``url``; returns what was loaded and how fast."""
    shape = Shape(trades)
    u = universe(shape, seed, now)
    report = LoadReport()
    with psycopg.connect(_psycopg_url(url), autocommit=True) as conn, conn.cursor() as cur:
        cur.execute("SET TIME ZONE 'UTC'")
        cur.execute("SET maintenance_work_mem = '512MB'")
        cur.execute("SET statement_timeout = 0")
        recreate: list[str] = []
        for table in BIG_TABLES:
            recreate += _drop_indexes(cur, table)
        plan: list[tuple[str, str, Callable[[], Any]]] = [
            ("wallet_poll_state", STATE_COLUMNS, lambda: [state_rows(u, seed + 1)]),
            ("follows", "user_id, wallet_address, created_at", lambda: [follow_rows(u, seed + 2)]),
            ("trades_public", TRADE_COLUMNS, lambda: trade_chunks(u, shape.trades, seed + 3)),
            ("activity_public", ACTIVITY_COLUMNS, lambda: activity_chunks(u, shape.activity, seed + 4)),
            ("positions_current", POSITION_COLUMNS, lambda: position_chunks(u, shape.positions, seed + 5)),
            (
                "position_events",
                EVENT_COLUMNS,
                lambda: event_chunks(u, shape.events - shape.positions, seed + 6),
            ),
            ("positions_closed", CLOSED_COLUMNS, lambda: closed_chunks(u, shape.closed, seed + 7)),
            ("market_cache", CACHE_COLUMNS, lambda: [cache_rows(u)]),
            ("sync_runs", RUN_COLUMNS, lambda: [run_rows(u)]),
        ]
        links, markets, raw = user_rows(u, seed + 8)
        plan += [
            ("wallet_links", LINK_COLUMNS, lambda: [links]),
            ("external_markets", EXTERNAL_COLUMNS, lambda: [markets]),
            ("external_positions_raw", RAW_COLUMNS, lambda: [raw]),
        ]
        for table, columns, chunks in plan:
            started = time.monotonic()
            report.rows[table] = _copy(cur, table, columns, chunks())
            report.seconds[table] = time.monotonic() - started
            log(f"  {table}: {report.rows[table]:,} rows in {report.seconds[table]:.1f} s")
        started = time.monotonic()
        cur.execute(LATEST_EVENTS)  # after the history: the highest ids, so the latest per position
        report.rows["position_events"] += cur.rowcount
        report.seconds["position_events"] += time.monotonic() - started
        log(f"  position_events: +{cur.rowcount:,} latest events of the open positions")
        started = time.monotonic()
        for statement in recreate:
            cur.execute(statement)
        report.seconds["indexes"] = time.monotonic() - started
        log(f"  {len(recreate)} indexes and keys rebuilt in {report.seconds['indexes']:.1f} s")
        started = time.monotonic()
        cur.execute("VACUUM ANALYZE")
        report.seconds["vacuum analyze"] = time.monotonic() - started
    return u, report

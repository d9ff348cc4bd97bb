from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from polymarket_pipeline.db.schema import TradePublic, WalletPollState, table_of
from polymarket_pipeline.db.trades import advance_watermark, upsert_trades
from polymarket_pipeline.db.upsert import bulk_upsert
from polymarket_pipeline.domain.fills import key_fills
from polymarket_pipeline.domain.records import Fill

WALLET = "0x" + "ab" * 20


def _fill(i: int, title: str = "t") -> Fill:
    return Fill(
        wallet_address=WALLET,
        side="BUY",
        asset=str(10**70 + i),
        condition_id="0x" + "1" * 64,
        size=10.0 + i,
        price=0.5,
        timestamp=1_784_000_000 + i,
        transaction_hash=f"0x{i:064x}",
        title=title,
    )


def test_bulk_upsert_inserts_updates_and_skips(engine: Engine) -> None:
    table = table_of(WalletPollState)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [{"wallet_address": f"0x{i:040x}", "is_active": True, "updated_at": now} for i in range(2500)]
    with engine.begin() as connection:
        bulk_upsert(connection, table, rows, key=["wallet_address"])
    later = datetime(2026, 1, 2, tzinfo=UTC)
    with engine.begin() as connection:
        bulk_upsert(
            connection,
            table,
            [{"wallet_address": f"0x{0:040x}", "is_active": False, "updated_at": later}],
            key=["wallet_address"],
        )
        bulk_upsert(  # DO NOTHING keeps the stored row
            connection,
            table,
            [{"wallet_address": f"0x{1:040x}", "is_active": False, "updated_at": later}],
            key=["wallet_address"],
            update=(),
        )
    with engine.connect() as connection:
        assert connection.scalar(sa.select(sa.func.count()).select_from(table)) == 2500
        first = connection.execute(sa.select(table).where(table.c.wallet_address == f"0x{0:040x}")).one()
        second = connection.execute(sa.select(table).where(table.c.wallet_address == f"0x{1:040x}")).one()
    assert (first.is_active, first.updated_at) == (False, later)
    assert (second.is_active, second.updated_at) == (True, now)


def test_trades_round_trip_counts_only_new_rows(engine: Engine) -> None:
    fills = [_fill(i) for i in range(50)]
    t1 = datetime(2026, 1, 1, tzinfo=UTC)
    with engine.begin() as connection:
        assert upsert_trades(connection, key_fills(fills), t1) == 50
    # Seen again (with an enriched title) plus five new ones: five inserted, titles refreshed.
    again = [_fill(i, title="enriched") for i in range(55)]
    t2 = datetime(2026, 1, 1, 0, 1, tzinfo=UTC)
    with engine.begin() as connection:
        assert upsert_trades(connection, key_fills(again), t2) == 5
    table = table_of(TradePublic)
    with engine.connect() as connection:
        rows = connection.execute(sa.select(table).order_by(table.c.traded_at)).all()
    assert len(rows) == 55
    assert {r.title for r in rows} == {"enriched"}
    assert rows[0].traded_at == datetime.fromtimestamp(1_784_000_000, tz=UTC)
    assert rows[0].first_seen_at == t1  # the first sighting is kept
    assert rows[0].size == 10.0
    assert rows[0].price == 0.5


def test_identical_fills_in_one_response_stay_distinct(engine: Engine) -> None:
    twin = _fill(1)
    with engine.begin() as connection:
        assert upsert_trades(connection, key_fills([twin, twin, _fill(2)]), datetime.now(UTC)) == 3
        assert upsert_trades(connection, key_fills([twin, twin, _fill(2)]), datetime.now(UTC)) == 0


def test_watermark_only_moves_forward(engine: Engine) -> None:
    table = table_of(WalletPollState)
    now = datetime(2026, 1, 10, tzinfo=UTC)
    newer = datetime(2026, 1, 5, tzinfo=UTC)
    older = datetime(2025, 12, 1, tzinfo=UTC)
    with engine.begin() as connection:
        connection.execute(sa.insert(table).values(wallet_address=WALLET, updated_at=now))
        advance_watermark(connection, WALLET, newer, now)
        advance_watermark(connection, WALLET, older, now)
        advance_watermark(connection, WALLET, None, now)
    with engine.connect() as connection:
        row = connection.execute(sa.select(table)).one()
    assert row.last_trade_time_seen == newer
    assert row.history_complete is False  # moving a watermark never proves the older fills were read
    assert row.last_trades_polled_at == now


def test_large_batches_count_new_rows_and_skip_unchanged_rewrites(engine: Engine) -> None:
    """A backfill-sized batch (PostgreSQL's COPY path) counts new rows like the small path does."""
    first_batch = [_fill(i) for i in range(3000)]
    t1 = datetime(2026, 1, 1, tzinfo=UTC)
    with engine.begin() as connection:
        assert upsert_trades(connection, key_fills(first_batch), t1) == 3000
    # 2,000 re-read unchanged, 500 re-read with a new title, 1,000 new
    again = [_fill(i, title="enriched" if i < 500 else "t") for i in range(2000)] + [
        _fill(i) for i in range(3000, 4000)
    ]
    t2 = datetime(2026, 1, 2, tzinfo=UTC)
    with engine.begin() as connection:
        assert upsert_trades(connection, key_fills(again), t2) == 1000
    table = table_of(TradePublic)
    with engine.connect() as connection:
        rows = {r.trade_id: r for r in connection.execute(sa.select(table))}
        by_size = {r.size: r for r in rows.values()}
    assert len(rows) == 4000
    assert by_size[10.0].title == "enriched"
    assert by_size[10.0].updated_at == t2  # changed: rewritten
    assert by_size[10.0 + 1500].updated_at == t1  # re-read unchanged: left alone
    assert by_size[10.0 + 3500].first_seen_at == t2


def test_a_fill_dated_in_the_future_never_moves_the_watermark_past_now(engine: Engine) -> None:
    table = table_of(WalletPollState)
    now = datetime(2026, 1, 10, tzinfo=UTC)
    with engine.begin() as connection:
        connection.execute(sa.insert(table).values(wallet_address=WALLET, updated_at=now))
        advance_watermark(connection, WALLET, datetime(2100, 1, 1, tzinfo=UTC), now)
    with engine.connect() as connection:
        assert connection.execute(sa.select(table)).one().last_trade_time_seen == now


@pytest.mark.parametrize("size", [3, 3000])  # the small path and PostgreSQL's COPY path
def test_unknown_values_from_a_degraded_source_never_overwrite_known_ones(engine: Engine, size: int) -> None:
    """The global feed sends outcome index 999 (parsed as None) and empty slugs: they must not win."""
    known = [
        replace(_fill(i), outcome_index=1, outcome="No", event_slug="ev", title="T") for i in range(size)
    ]
    degraded = [replace(f, outcome_index=None, outcome=None, event_slug=None, title="T2") for f in known]
    with engine.begin() as connection:
        assert upsert_trades(connection, key_fills(known), datetime(2026, 1, 1, tzinfo=UTC)) == size
        assert upsert_trades(connection, key_fills(degraded), datetime(2026, 1, 2, tzinfo=UTC)) == 0
    table = table_of(TradePublic)
    with engine.connect() as connection:
        rows = connection.execute(sa.select(table)).all()
    assert {(r.outcome_index, r.outcome, r.event_slug) for r in rows} == {(1, "No", "ev")}
    assert {r.title for r in rows} == {"T2"}  # a known new value still refreshes
    # and an unknown stored value is filled in by a later complete read
    with engine.begin() as connection:
        connection.execute(sa.update(table).values(outcome_index=None))
        upsert_trades(connection, key_fills(known), datetime(2026, 1, 3, tzinfo=UTC))
    with engine.connect() as connection:
        assert {r.outcome_index for r in connection.execute(sa.select(table))} == {1}

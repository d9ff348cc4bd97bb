"""The PnL tables from the stored tape, on SQLite and PostgreSQL, written through the pipeline's own
write paths: hand-computed figures, incremental runs equal to one run over everything, replays
only where a row came late or a market changed, marks refreshed without a replay, honest flags."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from polymarket_pipeline.db import pnl as pnl_store
from polymarket_pipeline.db.engine import create_db_engine
from polymarket_pipeline.db.markets import CachedMarket
from polymarket_pipeline.db.migrate import upgrade
from polymarket_pipeline.domain.records import Activity, Fill, Position
from polymarket_pipeline.sync.pnl import compute_day, pnl_agreement, update_pnl
from polymarket_pipeline_tests.sync.pnl_support import Tape, count, market, rows, snapshot_of, twin_engine

D = Decimal
W = "0x" + "a1" * 20
W2 = "0x" + "b2" * 20
UNTRACKED = "0x" + "c3" * 20
C1, C2, C3 = "0x" + "c1" * 32, "0x" + "c2" * 32, "0x" + "c3" * 32
Y1, N1, Y2, N2, Y3, N3 = "1001", "1002", "2001", "2002", "3001", "3002"
DAY1 = datetime(2026, 6, 1, 12, tzinfo=UTC)
T0 = int(DAY1.timestamp())
NOW = datetime(2026, 6, 10, 9, tzinfo=UTC)
TODAY = NOW.date().isoformat()


def hand_built(tape: Tape) -> None:
    """One wallet through every kind of row, with numbers small enough to check by hand.

    C1 (won by Y1): buy 100 @ 0.40, buy 100 @ 0.60 (avg 0.50), sell 50 @ 0.70 (+10, fee 0.35), redeem
    the 150 left at 1 (+75). C2 (open): split 40 (40 Y2 and 40 N2 at 0.50), buy 60 Y2 @ 0.60 (avg
    0.56, fee 0.36), merge 30 (Y2 -30 x 0.06 = -1.80, N2 0); marks Y2 0.70, N2 0.30. C3 (won by N3,
    unredeemed): buy 20 Y3 @ 0.25, marked at its payout 0. Income: a 5.00 reward, a 1.25 rebate.
    """
    tape.register(W, W2)
    tape.markets(
        [
            market(C1, (Y1, N1), winner=Y1, at=NOW, resolved_at=DAY1 + timedelta(hours=1)),
            market(C2, (Y2, N2), at=NOW),
            market(C3, (Y3, N3), winner=N3, at=NOW, resolved_at=datetime(2026, 6, 5, tzinfo=UTC)),
        ]
    )
    fills = [
        Fill(W, "BUY", Y1, C1, 100, 0.4, T0, "0x01", outcome="Yes", outcome_index=0),
        Fill(W, "BUY", Y1, C1, 100, 0.6, T0 + 10, "0x02", outcome="Yes", outcome_index=0),
        Fill(W, "SELL", Y1, C1, 50, 0.7, T0 + 20, "0x03", outcome="Yes", outcome_index=0),
        Fill(W, "BUY", Y2, C2, 60, 0.6, T0 + 40, "0x05", outcome="Yes", outcome_index=0),
        Fill(W, "BUY", Y3, C3, 20, 0.25, T0 + 45, "0x06", outcome="Yes", outcome_index=0),
        Fill(W2, "BUY", Y2, C2, 10, 0.5, T0 + 50, "0x07", outcome="Yes", outcome_index=0),
    ]
    tape.fills(fills, NOW - timedelta(days=1))
    tape.activity(
        [
            Activity(
                W, "TRADE", T0 + 20, C1, "0x03", size=50, usdc_size=34.65, price=0.7, asset=Y1, side="SELL"
            ),
            Activity(W, "SPLIT", T0 + 30, C2, "0x04", size=40, usdc_size=40),
            Activity(
                W, "TRADE", T0 + 40, C2, "0x05", size=60, usdc_size=36.36, price=0.6, asset=Y2, side="BUY"
            ),
            Activity(W, "MERGE", T0 + 50, C2, "0x08", size=30, usdc_size=30),
            Activity(W, "REDEEM", T0 + 60, C1, "0x09", size=150, usdc_size=150, asset=Y1, outcome_index=0),
            Activity(W, "REWARD", T0 + 70, None, "0x0a", size=5, usdc_size=5),
            Activity(W, "MAKER_REBATE", T0 + 80, None, "0x0b", size=1.25, usdc_size=1.25),
        ],
        NOW - timedelta(days=1),
    )
    tape.snapshot(
        W,
        [
            Position(W, Y2, C2, 70, avg_price=0.56, cur_price=0.7, realized_pnl=-1.8),
            Position(W, N2, C2, 10, avg_price=0.5, cur_price=0.3, realized_pnl=0.0),
        ],
        NOW - timedelta(hours=2),
    )
    tape.snapshot(
        W2,
        [Position(W2, Y2, C2, 10, avg_price=0.5, cur_price=0.7, realized_pnl=0.0)],
        NOW - timedelta(hours=2),
    )
    tape.link("user-1", W)
    tape.link("user-1", W2)
    tape.link("user-2", W)
    tape.link("user-2", UNTRACKED)


def by_asset(engine: Engine, wallet: str = W) -> dict[str, dict[str, object]]:
    return {r["asset"]: r for r in rows(engine, "position_pnl", where=f"wallet_address = '{wallet}'")}


def stats(engine: Engine, wallet: str = W) -> dict[str, object]:
    (row,) = rows(engine, "trader_stats", where=f"wallet_address = '{wallet}'")
    return row


def num(value: object) -> Decimal | None:
    """A stored exact number as a Decimal, on either dialect (SQLite's raw rows are floats)."""
    return None if value is None else D(repr(value)) if isinstance(value, float) else D(str(value))


def test_a_hand_built_ledger_gives_the_hand_computed_figures(engine: Engine) -> None:
    tape = Tape(engine)
    hand_built(tape)
    run = update_pnl(engine, now=NOW)
    assert run.wallets_replayed == 2
    assert run.replay_reasons == {"first_run": 2}

    positions = by_asset(engine)
    expected = {
        # asset: shares, avg, realized, unrealized, mark, source, fees, status, buy cost
        Y1: ("0", "0.5", "85", "0", "1", "resolution", "0.35", "closed", "100"),
        Y2: ("70", "0.56", "-1.8", "9.8", "0.7", "api", "0.36", "open", "56"),
        N2: ("10", "0.5", "0", "-2", "0.3", "api", "0", "open", "20"),
        Y3: ("20", "0.25", "0", "-5", "0", "resolution", "0", "resolved", "5"),
    }
    assert set(positions) == set(expected)
    for asset, (shares, avg, realized, unrealized, mark, source, fees, status, cost) in expected.items():
        p = positions[asset]
        assert num(p["shares"]) == D(shares), asset
        assert num(p["avg_price"]) == D(avg), asset
        assert num(p["realized_pnl"]) == D(realized), asset
        assert num(p["unrealized_pnl"]) == D(unrealized), asset
        assert num(p["mark_price"]) == D(mark), asset
        assert p["mark_source"] == source
        assert num(p["fees_usdc"]) == D(fees), asset
        assert p["status"] == status
        assert num(p["buy_cost"]) == D(cost), asset
        assert bool(p["complete"]) is True
        assert p["outcome"] == "Yes" if asset in (Y1, Y2, Y3) else p["outcome"] == "No"
    assert num(positions[Y2]["cost_basis"]) == D("39.2")
    assert num(positions[Y1]["total_bought"]) == D("200")
    assert num(positions[Y2]["api_avg_price"]) == D("0.56")
    assert num(positions[Y2]["api_realized_pnl"]) == D("-1.8")
    assert positions[Y1]["api_avg_price"] is None  # redeemed: the API no longer lists it

    s = stats(engine)
    figures = {
        "realized_pnl": "83.2", "unrealized_pnl": "2.8", "trade_pnl": "86", "fees_usdc": "0.71",
        "position_pnl": "85.29", "income_usdc": "6.25", "economic_pnl": "91.54", "volume_usdc": "176",
        "win_rate": "0.5", "roi": "0.7619047619", "max_drawdown_usdc": "0",
    }  # fmt: skip
    for column, value in figures.items():
        assert num(s[column]) == D(value), column
    assert (s["fills"], s["markets"], s["positions"], s["open_positions"], s["wins"], s["losses"]) == (
        5,
        3,
        4,
        3,
        1,
        1,
    )
    assert bool(s["complete"]) is True
    assert s["official_delta_usdc"] is None

    (daily,) = rows(engine, "wallet_pnl_daily", where=f"wallet_address = '{W}'")
    assert str(daily["day"]) == TODAY
    assert num(daily["position_pnl"]) == D("85.29")
    assert (daily["fills"], num(daily["volume_usdc"]), daily["mark_basis"]) == (0, D(0), "live")

    users = {r["user_id"]: r for r in rows(engine, "user_pnl")}
    # user-1 = W + W2 (W2: 10 Y2 at 0.50 marked 0.70: +2.00 unrealized)
    assert users["user-1"]["wallets"] == 2
    assert num(users["user-1"]["realized_pnl"]) == D("83.2")
    assert num(users["user-1"]["unrealized_pnl"]) == D("4.8")
    assert num(users["user-1"]["position_pnl"]) == D("87.29")
    assert num(users["user-1"]["economic_pnl"]) == D("93.54")
    assert num(users["user-1"]["volume_usdc"]) == D("181")
    assert bool(users["user-1"]["complete"]) is True
    # user-2 links a wallet nobody tracks: its sums are W's, flagged incomplete
    assert (users["user-2"]["wallets"], users["user-2"]["tracked_wallets"]) == (2, 1)
    assert num(users["user-2"]["position_pnl"]) == D("85.29")
    assert bool(users["user-2"]["complete"]) is False
    assert users["user-2"]["incomplete_reason"] == "wallet_not_tracked"


def test_rerunning_with_nothing_new_changes_nothing_and_reads_no_ledger_row(engine: Engine) -> None:
    hand_built(Tape(engine))
    update_pnl(engine, now=NOW)
    before = {
        t: rows(engine, t)
        for t in ("position_pnl", "trader_stats", "wallet_pnl_daily", "user_pnl", "pnl_wallet_state")
    }
    again = update_pnl(engine, now=NOW + timedelta(minutes=30))
    assert (again.wallets_updated, again.rows_read, again.state_rows_read, again.new_rows) == (0, 0, 0, 0)
    assert again.users_changed == 0
    after = {t: rows(engine, t) for t in before}
    assert after == before  # not even a timestamp moved


def test_new_rows_are_appended_and_equal_one_run_over_everything(
    engine: Engine, db_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    tape = Tape(engine)
    hand_built(tape)
    update_pnl(engine, now=NOW)
    later = [
        Fill(W, "SELL", Y2, C2, 20, 0.8, T0 + 3 * 86_400, "0x20", outcome="Yes", outcome_index=0),
        Fill(W, "BUY", Y2, C2, 10, 0.75, epoch_of(NOW) - 600, "0x21", outcome="Yes", outcome_index=0),
        Fill(W, "BUY", "9001", "0x" + "c9" * 32, 4, 0.5, T0 + 3 * 86_400, "0x23"),  # a market not cached
    ]
    tape.fills(later, NOW + timedelta(minutes=5))
    tape.activity(
        [Activity(W, "TAKER_REBATE", epoch_of(NOW) - 500, None, "0x22", size=0.5, usdc_size=0.5)], NOW
    )
    run = update_pnl(engine, now=NOW + timedelta(minutes=10))
    assert run.new_rows == 4
    assert run.wallets_appended == 1
    assert run.wallets_replayed == run.wallets_partially_replayed == 0
    assert run.rows_read == 4  # the new rows only
    assert run.stale_days == [date(2026, 6, 4)]  # that partition no longer holds
    y2 = by_asset(engine)[Y2]
    # 70 @ 0.56: sell 20 @ 0.80 (+4.80), buy 10 @ 0.75: avg (50 x 0.56 + 7.5) / 60
    assert num(y2["realized_pnl"]) == D("3")
    assert num(y2["shares"]) == D("60")
    assert num(y2["avg_price"]) == D("0.591666666667")
    (daily,) = rows(engine, "wallet_pnl_daily", where=f"wallet_address = '{W}'")
    assert (daily["fills"], num(daily["volume_usdc"])) == (1, D("7.5"))  # today's fill only
    s = stats(engine)
    assert (s["markets"], s["positions"], s["fills"]) == (4, 5, 8)
    assert by_asset(engine)["9001"]["unrealized_pnl"] is None  # no mark for it anywhere
    assert bool(s["unrealized_complete"]) is False

    with twin_engine(request, db_url, tmp_path) as fresh:
        twin = Tape(fresh)
        hand_built(twin)
        twin.fills(later, NOW)
        twin.activity(
            [Activity(W, "TAKER_REBATE", epoch_of(NOW) - 500, None, "0x22", size=0.5, usdc_size=0.5)], NOW
        )
        update_pnl(fresh, now=NOW + timedelta(minutes=10))
        assert snapshot_of(engine, TODAY) == snapshot_of(fresh, TODAY)


def epoch_of(moment: datetime) -> int:
    return int(moment.timestamp())


def test_a_backlog_bigger_than_one_run_is_applied_over_runs_and_equals_one_run(
    engine: Engine, db_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Memory stays bounded: with ``max_rows`` 2, five new rows take three runs, each reading at
    most two rows per table and saying more are left, and the result is one run's over them all."""
    tape = Tape(engine)
    hand_built(tape)
    update_pnl(engine, now=NOW)
    backlog = [
        Fill(
            W,
            "BUY" if i % 2 else "SELL",
            Y2,
            C2,
            2 + i,
            0.6 + i / 100,
            epoch_of(NOW) - 900 + i,
            f"0x4{i}",
            outcome="Yes",
            outcome_index=0,
        )
        for i in range(5)
    ]
    tape.fills(backlog, NOW + timedelta(minutes=5))
    runs = []
    for minute in range(10, 60, 10):
        runs.append(update_pnl(engine, now=NOW + timedelta(minutes=minute), max_rows=2))
        if not runs[-1].rows_left:
            break
    assert [r.new_rows for r in runs] == [2, 2, 1]
    assert [r.rows_left for r in runs] == [True, True, False]
    with twin_engine(request, db_url, tmp_path) as fresh:
        twin = Tape(fresh)
        hand_built(twin)
        twin.fills(backlog, NOW)
        update_pnl(fresh, now=NOW + timedelta(minutes=30))
        assert snapshot_of(engine, TODAY) == snapshot_of(fresh, TODAY)


def test_a_late_row_replays_its_condition_and_still_equals_one_run(
    engine: Engine, db_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    tape = Tape(engine)
    hand_built(tape)
    todays = [Fill(W, "BUY", Y2, C2, 10, 0.75, epoch_of(NOW) - 600, "0x2f", outcome="Yes", outcome_index=0)]
    tape.fills(todays, NOW)
    update_pnl(engine, now=NOW)
    # a fill older than the C2 rows already applied (a backfilled page, or a same-second straggler)
    early = [Fill(W, "BUY", N2, C2, 30, 0.2, T0 + 35, "0x30", outcome="No", outcome_index=1)]
    tape.fills(early, NOW + timedelta(minutes=5))
    run = update_pnl(engine, now=NOW + timedelta(minutes=10))
    assert run.late_events == 1
    assert run.wallets_partially_replayed == 1
    assert run.conditions_replayed == 1  # C2 only: C1 and C3 were not read again
    assert run.replay_reasons == {"late": 1}
    assert run.wallets_replayed == 0
    assert run.rows_read == 1 + 6  # the new row, then C2's six stored rows
    n2 = by_asset(engine)[N2]
    # N2: split 40 @ 0.50, then (earlier than the merge) buy 30 @ 0.20: avg 0.3714..., merge 30 @ 0.50
    assert num(n2["shares"]) == D("40")
    assert num(n2["realized_pnl"]) == D("3.857143")
    (daily,) = rows(engine, "wallet_pnl_daily", where=f"wallet_address = '{W}'")
    assert (daily["fills"], num(daily["volume_usdc"])) == (1, D("7.5"))  # today's fill, counted once
    with twin_engine(request, db_url, tmp_path) as fresh:
        twin = Tape(fresh)
        hand_built(twin)
        twin.fills(todays + early, NOW)
        update_pnl(fresh, now=NOW + timedelta(minutes=10))
        assert snapshot_of(engine, TODAY) == snapshot_of(fresh, TODAY)


def test_a_late_row_makes_every_stored_day_after_it_stale_not_only_its_own(engine: Engine) -> None:
    """Daily figures are cumulative: a fill landing on 06-02 changes 06-02 and every stored day
    after it (06-05 and 06-08 here), up to yesterday; days before it are left as they are."""
    tape = Tape(engine)
    hand_built(tape)
    update_pnl(engine, now=NOW)
    for day in (date(2026, 6, 1), date(2026, 6, 5), date(2026, 6, 8)):
        compute_day(engine, day, now=NOW)
    late = [Fill(W, "BUY", Y2, C2, 5, 0.6, T0 + 86_400 + 60, "0x31", outcome="Yes", outcome_index=0)]
    tape.fills(late, NOW + timedelta(minutes=5))
    run = update_pnl(engine, now=NOW + timedelta(minutes=10))
    assert run.stale_days == [date(2026, 6, 2), date(2026, 6, 5), date(2026, 6, 8)]
    before = {r["day"]: r for r in rows(engine, "wallet_pnl_daily", where=f"wallet_address = '{W}'")}
    for day in run.stale_days:
        compute_day(engine, day, now=NOW + timedelta(minutes=10))
    after = {r["day"]: r for r in rows(engine, "wallet_pnl_daily", where=f"wallet_address = '{W}'")}
    later = [d for d in after if str(d) >= "2026-06-05" and str(d) < "2026-06-10"]
    assert later
    cumulative = ("realized_pnl", "unrealized_pnl", "position_pnl", "marked_positions")
    for day in later:  # the day-end figures after the late fill changed: they were really stale
        assert [after[day][k] for k in cumulative] != [before[day][k] for k in cumulative], day


def test_a_later_leg_of_a_transaction_already_applied_is_replayed_not_guessed(
    engine: Engine, db_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Stored keys keep only the transaction hash (db.pnl.bound_key): a second leg of the same
    transaction and second, stored after the first was applied, replays its condition exactly."""
    legs = [
        Fill(W, "BUY", Y2, C2, 10, 0.4, T0, "0x" + "d" * 64, outcome_index=0),
        Fill(W, "BUY", Y2, C2, 30, 0.6, T0, "0x" + "d" * 64, outcome_index=0),
    ]
    sell = [Fill(W, "SELL", Y2, C2, 20, 0.7, T0 + 60, "0x" + "e" * 64, outcome_index=0)]
    tape = Tape(engine)
    tape.register(W)
    tape.fills([legs[0], *sell], NOW)
    update_pnl(engine, now=NOW)
    tape.fills([legs[1]], NOW + timedelta(minutes=1))
    run = update_pnl(engine, now=NOW + timedelta(minutes=2))
    assert (run.late_events, run.conditions_replayed) == (1, 1)
    y2 = by_asset(engine)[Y2]
    assert num(y2["avg_price"]) == D("0.55")  # (4 + 18) / 40, both legs before the sell
    assert num(y2["realized_pnl"]) == D("3")  # 20 x (0.70 - 0.55)
    with twin_engine(request, db_url, tmp_path) as fresh:
        twin = Tape(fresh)
        twin.register(W)
        twin.fills([*legs, *sell], NOW)
        update_pnl(fresh, now=NOW + timedelta(minutes=2))
        assert snapshot_of(engine, TODAY) == snapshot_of(fresh, TODAY)


def test_a_new_day_rolls_unchanged_wallets_and_the_drawdown_spans_the_days(engine: Engine) -> None:
    tape = Tape(engine)
    hand_built(tape)
    update_pnl(engine, now=NOW)
    tomorrow = NOW + timedelta(days=1)
    rolled = update_pnl(engine, now=tomorrow)
    assert (rolled.wallets_rolled, rolled.wallets_updated, rolled.rows_read) == (2, 0, 0)
    days = [
        str(r["day"]) for r in rows(engine, "wallet_pnl_daily", where=f"wallet_address = '{W}'", order="day")
    ]
    assert days == [TODAY, tomorrow.date().isoformat()]
    # a loss the day after: sell 70 Y2 @ 0.40 (-11.20 realized; the +9.80 unrealized is gone)
    tape.fills([Fill(W, "SELL", Y2, C2, 70, 0.4, epoch_of(tomorrow) + 60, "0x70", outcome_index=0)], tomorrow)
    update_pnl(engine, now=tomorrow + timedelta(hours=1))
    s = stats(engine)
    assert num(s["position_pnl"]) == D("64.29")  # 72.00 realized - 7.00 unrealized - 0.71 fees
    assert num(s["max_drawdown_usdc"]) == D("21")  # from 85.29, stored for the day before
    (today_row,) = rows(
        engine, "wallet_pnl_daily", where=f"wallet_address = '{W}' AND day = '{tomorrow.date()}'"
    )
    assert (today_row["fills"], num(today_row["volume_usdc"])) == (1, D("28"))


def test_a_conversion_replays_the_wallet_with_its_event_members_and_equals_one_run(
    engine: Engine, db_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Neg-risk event of three markets: 10 NO of A bought at 0.60, then converted. The NO leg is sold at
    its own average (0 realized) and 10 YES of B and of C are bought at (0.60 x 1 - 0) / (3 - 1) = 0.30."""
    event = [("0x" + f"{i:02x}" * 32, (f"{i}1", f"{i}2")) for i in (0xA1, 0xB1, 0xC1)]
    cached = [market(c, t, at=NOW, neg_risk=True, event_id="77") for c, t in event]
    (a, (_, no_a)), (b, (yes_b, _)), (c, (yes_c, _)) = event
    buy = [Fill(W, "BUY", no_a, a, 10, 0.6, T0, "0x80", outcome_index=1)]
    convert = [Activity(W, "CONVERSION", T0 + 60, a, "0x81", size=10, usdc_size=0)]

    def world(tape: Tape) -> None:
        tape.register(W)
        tape.markets(cached)

    tape = Tape(engine)
    world(tape)
    tape.fills(buy, NOW)
    update_pnl(engine, now=NOW)
    tape.activity(convert, NOW + timedelta(minutes=1))
    run = update_pnl(engine, now=NOW + timedelta(minutes=2))
    assert run.replay_reasons == {"conversion": 1}
    assert run.wallets_replayed == 1
    positions = by_asset(engine)
    assert (num(positions[no_a]["shares"]), num(positions[no_a]["realized_pnl"])) == (D(0), D(0))
    for yes in (yes_b, yes_c):
        assert (num(positions[yes]["shares"]), num(positions[yes]["avg_price"])) == (D(10), D("0.3"))
    s = stats(engine)
    assert (s["conversions"], s["markets"], bool(s["complete"])) == (1, 3, True)

    # the API marks the YES legs; then a late fill in A: a condition replay cannot undo a conversion,
    # so the wallet is replayed whole, and re-marked from its whole snapshot (not just A's rows)
    marks = [Position(W, yes_b, b, 10, cur_price=0.4), Position(W, yes_c, c, 10, cur_price=0.5)]
    tape.snapshot(W, marks, NOW + timedelta(minutes=3))
    update_pnl(engine, now=NOW + timedelta(minutes=4))
    late = [Fill(W, "BUY", no_a, a, 5, 0.5, T0 + 30, "0x82", outcome_index=1)]
    tape.fills(late, NOW + timedelta(minutes=5))
    run = update_pnl(engine, now=NOW + timedelta(minutes=6))
    assert run.replay_reasons == {"late_with_conversions": 1}
    positions = by_asset(engine)
    # NO of A: 10 @ 0.60 + 5 @ 0.50 = avg 0.5666..., 10 converted at avg (0 realized): YES at
    # (0.5666... - 0) / 2 each; marked 0.40 and 0.50 by the API
    assert num(positions[yes_b]["mark_price"]) == D("0.4")
    assert num(positions[yes_c]["unrealized_pnl"]) == D("2.166667")  # 10 x (0.50 - 0.283333...)
    assert num(positions[no_a]["shares"]) == D(5)
    with twin_engine(request, db_url, tmp_path) as fresh:
        twin = Tape(fresh)
        world(twin)
        twin.fills(buy + late, NOW)
        twin.activity(convert, NOW)
        twin.snapshot(W, marks, NOW + timedelta(minutes=3))
        update_pnl(fresh, now=NOW + timedelta(minutes=6))
        assert snapshot_of(engine, TODAY) == snapshot_of(fresh, TODAY)


def test_a_new_snapshot_re_marks_the_open_positions_without_a_replay(engine: Engine) -> None:
    tape = Tape(engine)
    hand_built(tape)
    update_pnl(engine, now=NOW)
    tape.snapshot(
        W,
        [Position(W, Y2, C2, 70, avg_price=0.56, cur_price=0.9, realized_pnl=-1.8)],  # N2 dropped by the API
        NOW + timedelta(minutes=5),
    )
    run = update_pnl(engine, now=NOW + timedelta(minutes=10))
    assert run.wallets_refreshed == 1
    assert (run.wallets_replayed, run.wallets_partially_replayed, run.wallets_appended) == (0, 0, 0)
    assert run.rows_read == 0
    positions = by_asset(engine)
    assert num(positions[Y2]["unrealized_pnl"]) == D("23.8")  # 70 x (0.90 - 0.56)
    assert positions[N2]["unrealized_pnl"] is None  # no mark left: unknown, never 0
    assert positions[N2]["api_avg_price"] is None
    s = stats(engine)
    assert num(s["unrealized_pnl"]) == D("18.8")  # 23.80 - 5.00 (Y3 at its payout), N2 unmarked
    assert bool(s["unrealized_complete"]) is False
    assert num(s["position_pnl"]) == D("101.29")


def test_an_incomplete_history_is_flagged_until_it_completes_then_replayed(engine: Engine) -> None:
    tape = Tape(engine)
    hand_built(tape)
    tape.history(W, complete=False, at=NOW)
    update_pnl(engine, now=NOW)
    positions = by_asset(engine)
    assert all(not p["complete"] for p in positions.values())
    assert {p["incomplete_reason"] for p in positions.values()} == {"history_incomplete"}
    s = stats(engine)
    assert (bool(s["complete"]), s["incomplete_reason"]) == (False, "history_incomplete")
    users = {r["user_id"]: r for r in rows(engine, "user_pnl")}
    assert bool(users["user-1"]["complete"]) is False
    assert num(s["position_pnl"]) == D("85.29")  # the figures are there, flagged, not hidden

    tape.history(W, complete=True, at=NOW)
    run = update_pnl(engine, now=NOW + timedelta(minutes=5))
    assert run.wallets_replayed == 1
    assert run.replay_reasons == {"history_completed": 1}
    assert bool(stats(engine)["complete"]) is True
    assert all(p["complete"] for p in by_asset(engine).values())


def test_a_market_resolving_replays_its_holders_positions_in_it(engine: Engine) -> None:
    tape = Tape(engine)
    hand_built(tape)
    update_pnl(engine, now=NOW)
    tape.markets([market(C2, (Y2, N2), winner=Y2, at=NOW + timedelta(minutes=1), resolved_at=NOW)])
    run = update_pnl(engine, now=NOW + timedelta(minutes=10))
    assert run.replay_reasons == {"market_changed": 2}  # W and W2 hold C2
    assert run.conditions_replayed == 2
    positions = by_asset(engine)
    assert (positions[Y2]["status"], positions[Y2]["mark_source"]) == ("resolved", "resolution")
    assert num(positions[Y2]["unrealized_pnl"]) == D("30.8")  # 70 x (1 - 0.56)
    assert num(positions[N2]["unrealized_pnl"]) == D("-5")
    s = stats(engine)
    assert (s["wins"], s["losses"]) == (2, 2)  # Y1 and Y2 won; Y3 and N2 lost
    assert rows(engine, "pnl_market_state", where=f"condition_id = '{C2}'")


def test_a_market_learned_late_replays_a_wallet_whose_only_trace_there_is_a_ledger_flag(
    engine: Engine, db_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """A neg-risk redeem paying 10 USDC for tokens never seen: while its market is unknown the payout
    is unexplained (a ledger-level flag, no position row); once the market is cached the shares are
    known to have come from outside the tape (oversold, on the winner's row)."""
    c4, y4, n4 = "0x" + "c4" * 32, "4001", "4002"
    redeem = [Activity(W, "REDEEM", T0, c4, "0x90", size=10, usdc_size=10)]
    tape = Tape(engine)
    tape.register(W)
    tape.activity(redeem, NOW)
    update_pnl(engine, now=NOW)
    assert stats(engine)["incomplete_reason"] == "redeem_payout_unknown"
    assert by_asset(engine) == {}
    learned = [market(c4, (y4, n4), winner=y4, at=NOW + timedelta(minutes=1), neg_risk=True, event_id="9")]
    tape.markets(learned)
    run = update_pnl(engine, now=NOW + timedelta(minutes=2))
    assert run.replay_reasons == {"late_with_ledger_flags": 1}
    assert stats(engine)["incomplete_reason"] == "oversold"
    assert num(by_asset(engine)[y4]["untracked_shares"]) == D(10)
    with twin_engine(request, db_url, tmp_path) as fresh:
        twin = Tape(fresh)
        twin.register(W)
        twin.activity(redeem, NOW)
        twin.markets(learned)
        update_pnl(fresh, now=NOW + timedelta(minutes=2))
        assert snapshot_of(engine, TODAY) == snapshot_of(fresh, TODAY)


def test_compute_day_marks_a_past_day_at_payouts_known_by_then_else_the_last_fill(engine: Engine) -> None:
    tape = Tape(engine)
    hand_built(tape)
    tape.fills([Fill(W2, "BUY", Y2, C2, 5, 0.65, T0 + 3 * 86_400, "0x40", outcome_index=0)], NOW)
    update_pnl(engine, now=NOW)

    before = compute_day(engine, date(2026, 5, 31), now=NOW)
    (empty,) = rows(engine, "wallet_pnl_daily", where=f"wallet_address = '{W}' AND day = '2026-05-31'")
    assert num(empty["realized_pnl"]) == D(0)
    assert num(empty["unrealized_pnl"]) == D(0)
    assert bool(empty["unrealized_complete"]) is True
    assert before.wallets == 2

    first = compute_day(engine, date(2026, 6, 1), now=NOW)
    (day1,) = rows(engine, "wallet_pnl_daily", where=f"wallet_address = '{W}' AND day = '2026-06-01'")
    # C3 resolved on 06-05: on 06-01 Y3 is marked at its last fill (0.25: 0); Y2 at its last fill of
    # any wallet, W2's 0.50 (-4.20); N2 was never traded: unmarked
    assert num(day1["unrealized_pnl"]) == D("-4.2")
    assert num(day1["position_pnl"]) == D("78.29")
    assert (day1["marked_positions"], day1["unmarked_positions"]) == (2, 1)
    assert bool(day1["unrealized_complete"]) is False
    assert num(day1["realized_pnl"]) == D("83.2")
    assert (day1["fills"], num(day1["volume_usdc"]), day1["mark_basis"]) == (5, D("176"), "day_end")
    assert first.marks == {"last_trade": 3, "none": 1}  # W2's Y2 too

    compute_day(engine, date(2026, 6, 4), now=NOW)
    (day4,) = rows(engine, "wallet_pnl_daily", where=f"wallet_address = '{W}' AND day = '2026-06-04'")
    assert num(day4["unrealized_pnl"]) == D("6.3")  # Y2 at W2's fill of that day (0.65), Y3 still 0.25
    assert num(day4["position_pnl"]) == D("88.79")
    compute_day(engine, date(2026, 6, 6), now=NOW)
    (day6,) = rows(engine, "wallet_pnl_daily", where=f"wallet_address = '{W}' AND day = '2026-06-06'")
    assert num(day6["unrealized_pnl"]) == D("1.3")  # Y3 at its payout now (-5)
    assert num(day6["position_pnl"]) == D("83.79")
    assert (day6["fills"], num(day6["volume_usdc"])) == (0, D(0))
    # the curve 0, 78.29, 88.79, 83.79, then 85.29 today: a 5.00 drawdown
    assert num(stats(engine)["max_drawdown_usdc"]) == D("5")
    # and the next run keeps it (its running curve was refreshed), today's point included
    update_pnl(engine, now=NOW + timedelta(minutes=5))
    assert num(stats(engine)["max_drawdown_usdc"]) == D("5")
    with pytest.raises(ValueError, match="future"):
        compute_day(engine, date(2026, 6, 11), now=NOW)


def test_compute_day_for_today_is_the_live_row_update_pnl_writes(engine: Engine) -> None:
    tape = Tape(engine)
    hand_built(tape)
    tape.fills([Fill(W, "BUY", Y2, C2, 10, 0.75, epoch_of(NOW) - 600, "0x2f", outcome_index=0)], NOW)
    update_pnl(engine, now=NOW)
    written = {r["wallet_address"]: r for r in rows(engine, "wallet_pnl_daily", where=f"day = '{TODAY}'")}
    day = compute_day(engine, NOW.date(), now=NOW)
    assert day.live
    assert day.marks == {"api": 3, "resolution": 1}  # W: Y2, N2 at the API, Y3 at its payout; W2: Y2
    again = {r["wallet_address"]: r for r in rows(engine, "wallet_pnl_daily", where=f"day = '{TODAY}'")}
    figures = (
        "realized_pnl", "unrealized_pnl", "position_pnl", "economic_pnl", "fees_usdc", "income_usdc",
        "volume_usdc", "fills", "marked_positions", "unmarked_positions", "complete", "mark_basis",
    )  # fmt: skip
    for wallet in (W, W2):
        assert {c: again[wallet][c] for c in figures} == {c: written[wallet][c] for c in figures}
    assert (again[W]["fills"], num(again[W]["volume_usdc"])) == (1, D("7.5"))


def test_the_agreement_report_finds_a_seeded_disagreement_and_its_likely_cause(engine: Engine) -> None:
    tape = Tape(engine)
    hand_built(tape)
    # the API's own realized PnL of N2 is off by 2.00: a position disagreement
    tape.snapshot(
        W,
        [
            Position(W, Y2, C2, 70, avg_price=0.56, cur_price=0.7, realized_pnl=-1.8),
            Position(W, N2, C2, 10, avg_price=0.5, cur_price=0.3, realized_pnl=2.0),
        ],
        NOW - timedelta(hours=1),
    )
    update_pnl(engine, now=NOW)
    fetched = NOW + timedelta(minutes=1)
    day = int(datetime(2026, 6, 9, tzinfo=UTC).timestamp())
    point = pnl_store.OfficialPnlInput
    stored = pnl_store.store_official_points(
        engine,
        W,
        [
            point(day - 86_400, source_block=1, realized_pnl=0.0, position_pnl=0.0, raw={"old": True}),
            # realized agrees (Polymarket's is net of fees: our 83.20 less the 0.71 paid), position PnL
            # is 50 above ours: the marks differ
            point(day, source_block=2, realized_pnl=D("82.49"), position_pnl=D("135.29"),
                  unrealized_pnl=52.09, fees_paid=-0.71, raw={"timestamp": day}),
        ],
        fetched,
    )  # fmt: skip
    assert stored == 2
    pnl_store.store_official_points(engine, W2, [point(day, realized_pnl=0, position_pnl=D("1.9"))], fetched)
    report = pnl_agreement(engine, now=fetched)
    assert (report.wallets.compared, report.wallets.agreeing, report.wallets.disagreeing) == (2, 1, 1)
    assert report.wallet_share == D("0.5")
    (disagreement,) = report.disagreements
    assert disagreement.wallet == W
    assert disagreement.position_delta == D("-50")
    assert disagreement.realized_delta == D("0")
    assert disagreement.likely_cause == "marks"
    assert report.likely_causes == {"marks": 1}
    s = stats(engine)
    assert num(s["official_delta_usdc"]) == D("-50")
    assert num(s["official_position_pnl"]) == D("135.29")
    assert (bool(s["official_agrees"]), s["official_likely_cause"]) == (False, "marks")
    assert bool(stats(engine, W2)["official_agrees"]) is True  # 2.00 vs 1.90: within $10
    (bad,) = report.position_disagreements
    assert (bad.wallet, bad.asset, bad.realized_delta) == (W, N2, D("-2"))
    assert (report.positions_compared, report.positions_agreeing) == (3, 2)
    assert count(engine, "wallet_pnl_official") == 3
    (latest,) = rows(engine, "wallet_pnl_official", where=f"wallet_address = '{W}' AND source_block = 2")
    assert num(latest["unrealized_pnl"]) == D("52.09")

    # an incomplete ledger is never counted as agreeing or disagreeing
    Tape(engine).history(W, complete=False, at=NOW)
    update_pnl(engine, now=NOW + timedelta(minutes=2))
    report = pnl_agreement(engine, now=NOW + timedelta(minutes=3))
    assert (report.wallets.compared, report.wallets.incomplete_excluded) == (1, 1)
    assert report.disagreements == []
    assert report.positions_incomplete_excluded == 2


def test_a_run_over_some_wallets_leaves_the_others_and_the_cursor_for_the_next_full_run(
    engine: Engine,
) -> None:
    tape = Tape(engine)
    hand_built(tape)
    update_pnl(engine, now=NOW)
    extra = [
        Fill(W, "SELL", Y2, C2, 10, 0.8, epoch_of(NOW) - 60, "0x50", outcome_index=0),
        Fill(W2, "SELL", Y2, C2, 5, 0.8, epoch_of(NOW) - 60, "0x51", outcome_index=0),
    ]
    tape.fills(extra, NOW)
    some = update_pnl(engine, now=NOW + timedelta(minutes=1), wallets=[W])
    assert (some.wallets, some.wallets_appended, some.cursor_advanced) == (1, 1, False)
    everyone = update_pnl(engine, now=NOW + timedelta(minutes=2))
    assert everyone.wallets_appended == 1  # W2 only: W's row is not applied twice
    assert everyone.cursor_advanced
    assert num(by_asset(engine)[Y2]["realized_pnl"]) == D("0.6")  # -1.80 + 10 x 0.24
    assert num(by_asset(engine, W2)[Y2]["realized_pnl"]) == D("1.5")


def test_a_wallet_written_by_another_run_meanwhile_is_left_alone(engine: Engine) -> None:
    hand_built(Tape(engine))
    update_pnl(engine, now=NOW)
    with engine.connect() as connection:
        (state,) = pnl_store.wallet_states(connection, [W]).values()
    write = pnl_store.WalletWrite(W, state.version - 1, False, [], [], {}, {"updated_at": NOW}, None, None)
    with engine.begin() as connection:
        assert pnl_store.write_wallets(connection, [write]) == []
    assert rows(engine, "pnl_wallet_state", where=f"wallet_address = '{W}'")[0]["version"] == state.version


# --- incremental = one run, on a random tape ---------------------------------------------------------


def _random_world(seed: int) -> tuple[list[Fill], list[Activity], list[CachedMarket], list[CachedMarket]]:
    """Three wallets trading three markets (one resolving part-way), with fees, splits, merges,
    same-second rows, redeems after the resolution and rewards; returns the markets before and
    after the resolution."""
    rng = random.Random(seed)
    conditions = [("0x" + f"{i:02x}" * 32, (f"{i}01", f"{i}02")) for i in (7, 8, 9)]
    resolve_at = T0 + 300 * 60
    fills: list[Fill] = []
    activity: list[Activity] = []
    held: dict[tuple[str, str], float] = {}
    ts = T0
    for n in range(240):
        ts += rng.choice((0, 0, 1, 30, 60))  # same-second rows now and then
        wallet = rng.choice((W, W2, UNTRACKED))
        condition, tokens = rng.choice(conditions)
        resolved = condition == conditions[2][0] and ts >= resolve_at
        tx = f"0x{n:064x}"
        kind = rng.random()
        if resolved:
            for index, token in enumerate(tokens):
                if held.get((wallet, token), 0) > 0:
                    size = held.pop((wallet, token))
                    payout = size if index == 0 else 0
                    redeem = Activity(
                        wallet, "REDEEM", ts, condition, tx, size=size, usdc_size=payout, asset=token
                    )
                    activity.append(replace(redeem, outcome_index=index))
            continue
        if kind < 0.55:
            index = rng.randrange(2)
            token = tokens[index]
            side = "BUY" if held.get((wallet, token), 0) < 5 or rng.random() < 0.6 else "SELL"
            size = round(rng.uniform(1, 40), 2)
            if side == "SELL":
                size = min(size, held[(wallet, token)])
            price = round(rng.uniform(0.05, 0.95), 2)
            held[(wallet, token)] = held.get((wallet, token), 0) + (size if side == "BUY" else -size)
            fill = Fill(wallet, side, token, condition, size, price, ts, tx, outcome_index=index)  # type: ignore[arg-type]
            fills.append(fill)
            if rng.random() < 0.5:
                fee = round(size * price * 0.01, 6)
                usdc = size * price + (fee if side == "BUY" else -fee)
                trade = Activity(
                    wallet, "TRADE", ts, condition, tx, size=size, price=price, asset=token, side=side
                )
                activity.append(replace(trade, usdc_size=round(usdc, 6)))
        elif kind < 0.7:
            size = float(rng.randint(1, 20))
            activity.append(Activity(wallet, "SPLIT", ts, condition, tx, size=size, usdc_size=size))
            for token in tokens:
                held[(wallet, token)] = held.get((wallet, token), 0) + size
        elif kind < 0.8:
            both = min(held.get((wallet, t), 0) for t in tokens)
            if both >= 1:
                size = float(int(both))
                activity.append(Activity(wallet, "MERGE", ts, condition, tx, size=size, usdc_size=size))
                for token in tokens:
                    held[(wallet, token)] -= size
        else:
            amount = round(rng.uniform(0.1, 3), 2)
            activity.append(
                Activity(wallet, rng.choice(("REWARD", "MAKER_REBATE")), ts, None, tx, usdc_size=amount)
            )
    at = NOW - timedelta(days=1)
    before = [market(c, t, at=at) for c, t in conditions]
    after = [*before[:2], market(conditions[2][0], conditions[2][1], winner=conditions[2][1][0], at=NOW,
                                 resolved_at=datetime.fromtimestamp(resolve_at, tz=UTC))]  # fmt: skip
    return fills, activity, before, after


@pytest.mark.parametrize("seed", [3, 17])
def test_incremental_runs_with_late_rows_and_market_changes_equal_one_run(
    engine: Engine, db_url: str, tmp_path: Path, request: pytest.FixtureRequest, seed: int
) -> None:
    fills, activity, before, after = _random_world(seed)
    rng = random.Random(seed)
    tape = Tape(engine)
    tape.register(W, W2, UNTRACKED)
    tape.link("user-1", W)
    tape.link("user-1", UNTRACKED)
    tape.markets(before)
    rows_in = [("fill", f) for f in fills] + [("activity", a) for a in activity]
    rng.shuffle(rows_in)  # later batches carry older rows: late ones, and backfilled ones
    batches = [rows_in[i::4] for i in range(4)]
    replays = 0
    for i, batch in enumerate(batches):
        at = NOW - timedelta(hours=4 - i)
        tape.fills([f for k, f in batch if k == "fill"], at)  # type: ignore[misc]
        tape.activity([a for k, a in batch if k == "activity"], at)  # type: ignore[misc]
        if i == 2:
            tape.markets(after)
        tape.snapshot(W, [Position(W, "701", before[0].condition_id, 1, cur_price=0.1 * (i + 1))], at)
        run = update_pnl(engine, now=at + timedelta(minutes=1))
        replays += run.wallets_partially_replayed + run.wallets_replayed
        assert run.wallets_skipped == []
    assert replays > 3  # the shuffled batches did make late rows (and one market resolved)
    last = update_pnl(engine, now=NOW)
    assert last.wallets_updated == 0

    with twin_engine(request, db_url, tmp_path) as fresh:
        twin = Tape(fresh)
        twin.register(W, W2, UNTRACKED)
        twin.link("user-1", W)
        twin.link("user-1", UNTRACKED)
        twin.markets(after)
        twin.fills(fills, NOW - timedelta(hours=4))
        twin.activity(activity, NOW - timedelta(hours=4))
        twin.snapshot(
            W, [Position(W, "701", before[0].condition_id, 1, cur_price=0.4)], NOW - timedelta(hours=1)
        )
        once = update_pnl(fresh, now=NOW)
        assert once.wallets_replayed == 3
        ours, theirs = snapshot_of(engine, TODAY), snapshot_of(fresh, TODAY)
        assert ours["position_pnl"] == theirs["position_pnl"]
        assert ours == theirs
        assert len(ours["position_pnl"]) >= 12


def test_stored_rows_never_go_through_binary_floats_on_the_way_out(engine: Engine) -> None:
    """The replay sees a stored 0.4899999951 as exactly that decimal (Decimal(str(x)))."""
    tape = Tape(engine)
    tape.register(W)
    tape.fills(
        [
            Fill(W, "BUY", Y1, C1, 3, 0.4899999951, T0, "0x60"),
            Fill(W, "SELL", Y1, C1, 3, 0.5, T0 + 1, "0x61"),
        ],
        NOW,
    )
    update_pnl(engine, now=NOW)
    assert num(by_asset(engine)[Y1]["realized_pnl"]) == D("0.030000")  # 3 x 0.0100000049 = 0.0300000147


@pytest.mark.postgres
def test_rows_since_is_an_index_range_on_postgresql(pg_url: str) -> None:
    engine = create_db_engine(pg_url)
    upgrade(engine)
    hand_built(Tape(engine))
    with engine.connect() as connection:
        connection.exec_driver_sql("SET enable_seqscan = off")  # tiny tables: ask which index it would use
        plan = "\n".join(
            connection.exec_driver_sql(
                "EXPLAIN SELECT * FROM trades_public WHERE ingest_seq > 3 AND ingest_seq <= 5"
            ).scalars()
        )
    engine.dispose()
    assert "ix_trades_public_ingest_seq" in plan

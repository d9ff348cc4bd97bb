"""Wallet performance on top of the replay: totals, wins, ROI, drawdown, daily roll-up, comparisons."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from polymarket_pipeline.domain.performance import (
    CumulativeTotals,
    OfficialPoint,
    OfficialVerdict,
    agreement_counts,
    compare_position,
    compare_wallet,
    compare_with_official,
    daily_rollup,
    daily_wallet_figures,
    holdings_at_day_end,
    max_drawdown,
    sum_unrealized,
    unrealized_of_holdings,
    wallet_performance,
)
from polymarket_pipeline.domain.pnl import (
    Book,
    Holding,
    LedgerEvent,
    MarketInfo,
    PositionFigures,
    event_from_activity,
    event_from_fill,
    holdings_of,
    payouts_for_winner,
    position_figures,
    replay,
)
from polymarket_pipeline.domain.records import Activity, Fill

W = "0x" + "b" * 40
D = Decimal
T0 = 1_780_000_000


def cond(i: int) -> str:
    return f"0xc{i}"


def yes(i: int) -> str:
    return f"y{i}"


MARKETS = {cond(i): MarketInfo(cond(i), (yes(i), f"n{i}")) for i in range(1, 7)}


def fill(side: str, i: int, size: float, price: float, ts: int = T0) -> LedgerEvent:
    return event_from_fill(Fill(W, side, yes(i), cond(i), size, price, ts, f"0xf{ts}"))  # type: ignore[arg-type]


def trade_row(side: str, i: int, size: float, price: float, usdc: float, ts: int = T0) -> LedgerEvent:
    return event_from_activity(
        Activity(W, "TRADE", ts, cond(i), f"0xf{ts}", size=size, usdc_size=usdc, price=price, asset=yes(i),
                 side=side)
    )  # fmt: skip


def reward(usdc: float, ts: int = T0) -> LedgerEvent:
    return event_from_activity(Activity(W, "REWARD", ts, None, f"0xr{ts}", size=usdc, usdc_size=usdc))


def wallet_events() -> list[LedgerEvent]:
    return [
        fill("BUY", 1, 100, 0.3),  # A: +20, closed
        trade_row("BUY", 1, 100, 0.3, 30.5),  # fee 0.5
        fill("SELL", 1, 100, 0.5, T0 + 1),
        fill("BUY", 2, 100, 0.4),  # B: -10, closed
        fill("SELL", 2, 100, 0.3, T0 + 1),
        fill("BUY", 3, 10, 0.4),  # C: resolved against it, unredeemed: -4
        fill("BUY", 4, 10, 0.5),  # D: open, marked 0.6: +1 unrealized
        fill("BUY", 5, 10, 0.5),  # E: closed flat: neither won nor lost
        fill("SELL", 5, 10, 0.5, T0 + 1),
        reward(2),
    ]


def wallet_positions(
    extra: list[LedgerEvent] | None = None, api: dict[str, Decimal] | None = None
) -> tuple[list[PositionFigures], Book]:
    markets = {
        **MARKETS,
        cond(3): MarketInfo(cond(3), (yes(3), "n3"), payouts_for_winner((yes(3), "n3"), "n3")),
    }
    book = replay([*wallet_events(), *(extra or [])], markets).book
    return position_figures(book, markets, {yes(4): D("0.6")} if api is None else api), book


def test_wallet_totals_follow_the_identities() -> None:
    positions, book = wallet_positions()
    perf = wallet_performance(book, positions)
    assert perf.realized_pnl == D("10")  # 20 - 10
    assert perf.unrealized_pnl == D("-3")  # -4 (resolution) + 1 (api)
    assert perf.unrealized_complete
    assert perf.trade_pnl == D("7")
    assert perf.fees_usdc == D("0.5")
    assert perf.position_pnl == D("6.5")
    assert perf.income_usdc == D("2")
    assert perf.economic_pnl == D("8.5")
    assert perf.volume_usdc == D("169")  # 80 + 70 + 4 + 5 + 10: USDC notional, not shares
    assert (perf.fills, perf.markets) == (8, 5)
    assert (perf.first_fill_at, perf.last_fill_at) == (T0, T0 + 1)
    assert perf.complete
    assert perf.incomplete_reason is None


def test_wins_losses_win_rate_and_roi_count_decided_positions_only() -> None:
    positions, book = wallet_positions()
    perf = wallet_performance(book, positions)
    assert (perf.wins, perf.losses) == (1, 2)  # A won; B and the resolved-unredeemed C lost; E flat
    assert perf.win_rate == D("0.3333333333")
    assert perf.roi == D("0.0759493671")  # (20 - 10 - 4 + 0) / (30 + 40 + 4 + 5) = 6 / 79


def test_a_wallet_with_nothing_decided_has_no_win_rate_nor_roi() -> None:
    book = replay([fill("BUY", 4, 10, 0.5)], MARKETS).book
    perf = wallet_performance(book, position_figures(book, MARKETS, {}))
    assert (perf.wins, perf.losses, perf.win_rate, perf.roi) == (0, 0, None, None)


def test_unrealized_is_the_known_part_flagged_partial_and_none_when_nothing_is_marked() -> None:
    positions, book = wallet_positions([fill("BUY", 6, 10, 0.5)])
    perf = wallet_performance(book, positions)
    assert (perf.unrealized_pnl, perf.unrealized_complete) == (D("-3"), False)
    assert perf.position_pnl == D("6.5")
    only_unmarked = replay([fill("BUY", 6, 10, 0.5)], MARKETS).book
    figures = position_figures(only_unmarked, MARKETS, {})
    assert sum_unrealized(figures).value is None
    perf = wallet_performance(only_unmarked, figures)
    assert (perf.unrealized_pnl, perf.trade_pnl, perf.position_pnl, perf.economic_pnl) == (None,) * 4
    assert sum_unrealized([]).value == 0
    assert sum_unrealized([]).complete


def test_max_drawdown_of_a_known_curve_skips_unknown_points() -> None:
    days = [date(2026, 3, d) for d in range(1, 8)]
    values = [D(0), D(100), D(40), None, D(120), D(30), D(90)]
    assert max_drawdown(list(zip(days, values, strict=True))) == D("90")  # 120 -> 30
    assert max_drawdown([(days[0], D(1)), (days[1], D(2)), (days[2], D(2))]) == 0
    assert max_drawdown([(days[0], D(50)), (days[1], D(20))]) == D("30")
    assert max_drawdown([]) == 0
    positions, book = wallet_positions()
    assert wallet_performance(book, positions, list(zip(days, values, strict=True))).max_drawdown_usdc == 90


# --- daily roll-up ---------------------------------------------------------------------------

LAST_SECOND = int(datetime(2026, 3, 1, 23, 59, 59, tzinfo=UTC).timestamp())
MIDNIGHT = LAST_SECOND + 1
DAY1, DAY2, DAY3 = date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 3)
PRIOR = CumulativeTotals(D("100"), D("5"), D("7"))


def midnight_events() -> list[LedgerEvent]:
    return [
        fill("BUY", 1, 10, 0.4, LAST_SECOND),
        trade_row("BUY", 1, 10, 0.4, 4.1, LAST_SECOND),  # fee 0.1
        reward(1, LAST_SECOND),
        fill("SELL", 1, 4, 0.9, MIDNIGHT),  # +2
        trade_row("SELL", 1, 4, 0.9, 3.5, MIDNIGHT),  # fee 0.1
    ]


def test_the_daily_roll_up_splits_at_utc_midnight_and_continues_prior_totals() -> None:
    journal = replay(midnight_events(), MARKETS).journal
    day1, day2, day3 = daily_rollup(journal, PRIOR, days=[DAY3])
    assert (day1.day, day1.realized_delta, day1.fees_delta, day1.income_delta) == (DAY1, 0, D("0.1"), D(1))
    assert (day1.volume_usdc, day1.fills) == (D("4"), 1)
    assert day1.cumulative == CumulativeTotals(D("100"), D("5.1"), D("8"))
    assert (day2.day, day2.realized_delta, day2.fees_delta, day2.volume_usdc, day2.fills) == (
        DAY2, D("2"), D("0.1"), D("3.6"), 1
    )  # fmt: skip
    assert day2.cumulative == CumulativeTotals(D("102"), D("5.2"), D("8"))
    assert (day3.day, day3.fills, day3.cumulative) == (DAY3, 0, day2.cumulative)


def test_today_from_yesterday_s_totals_and_book_equals_the_full_roll_up() -> None:
    events = midnight_events()
    yesterday = replay([e for e in events if e.timestamp < MIDNIGHT], MARKETS)
    today = replay([e for e in events if e.timestamp >= MIDNIGHT], MARKETS, start=yesterday.book)
    (day1,) = daily_rollup(yesterday.journal, PRIOR)
    (day2,) = daily_rollup(today.journal, day1.cumulative)
    assert [day1, day2] == daily_rollup(replay(events, MARKETS).journal, PRIOR)
    assert holdings_at_day_end(yesterday.journal, DAY1) == {yes(1): Holding(cond(1), D(10), D("0.4"))}
    held = holdings_at_day_end(today.journal, DAY2, prior=holdings_of(yesterday.book))
    assert held == {yes(1): Holding(cond(1), D(6), D("0.4"))}
    assert holdings_at_day_end(replay(events, MARKETS).journal, DAY1) == holdings_of(yesterday.book)


def test_a_day_s_wallet_figures_mark_its_day_end_holdings() -> None:
    journal = replay(midnight_events(), MARKETS).journal
    _, day2 = daily_rollup(journal, PRIOR)
    held = holdings_at_day_end(journal, DAY2)
    figures = daily_wallet_figures(day2, unrealized_of_holdings(held, {yes(1): D("0.5")}))
    assert (figures.realized_pnl, figures.fees_usdc, figures.income_usdc) == (D(102), D("5.2"), D(8))
    assert (figures.unrealized_pnl, figures.unrealized_complete) == (D("0.6"), True)  # 6 x (0.5 - 0.4)
    assert (figures.trade_pnl, figures.position_pnl, figures.economic_pnl) == (
        D("102.6"),
        D("97.4"),
        D("105.4"),
    )
    assert (figures.volume_usdc, figures.fills) == (D("3.6"), 1)
    unknown = daily_wallet_figures(day2, unrealized_of_holdings(held, {}))
    assert (unknown.unrealized_pnl, unknown.trade_pnl, unknown.unrealized_complete) == (None, None, False)
    assert unrealized_of_holdings({}, {}).value == 0


# --- comparison with Polymarket --------------------------------------------------------------


def verdict(
    official: OfficialPoint, complete: bool = True, conversions: int = 0, fees: str = "100"
) -> OfficialVerdict:
    return compare_with_official(
        official, realized_pnl=D(1000), position_pnl=D(900), fees_usdc=D(fees), complete=complete,
        conversions=conversions,
    )  # fmt: skip


def test_figures_within_ten_dollars_agree_and_the_boundary_is_inclusive() -> None:
    close = verdict(OfficialPoint(realized_pnl=D(1005), position_pnl=D(895)))
    assert (close.realized_delta, close.position_delta, close.agrees, close.likely_cause) == (
        D(-5), D(5), True, None
    )  # fmt: skip
    assert verdict(OfficialPoint(realized_pnl=D(990))).agrees is True  # delta exactly 10
    outside = verdict(OfficialPoint(realized_pnl=D("989.999999")))
    assert (outside.agrees, outside.realized_agrees, outside.position_agrees) == (False, False, None)


def test_the_tolerance_is_one_percent_of_a_large_official_figure() -> None:
    def realized(ours: str, official: str) -> bool | None:
        return compare_with_official(
            OfficialPoint(realized_pnl=D(official)), realized_pnl=D(ours), position_pnl=None,
            fees_usdc=D(0), complete=True,
        ).agrees  # fmt: skip

    assert realized("5000", "5050") is True  # tolerance 50.5
    assert realized("5000", "5051") is False  # tolerance 50.51 < 51
    assert realized("-5000", "-5050") is True


@pytest.mark.parametrize(
    ("official", "complete", "conversions", "fees", "cause"),
    [
        (OfficialPoint(realized_pnl=D(1000), position_pnl=D(600)), False, 3, "300", "ledger_incomplete"),
        (OfficialPoint(realized_pnl=D(1000), position_pnl=D(1000)), True, 3, "100", "fees"),
        (OfficialPoint(realized_pnl=D(1000), position_pnl=D(950), fees_paid=D(50)), True, 0, "0", "fees"),
        (OfficialPoint(realized_pnl=D(1000), position_pnl=D(600)), True, 3, "100", "conversions"),
        (OfficialPoint(realized_pnl=D(1000), position_pnl=D(600)), True, 0, "100", "marks"),
        (OfficialPoint(realized_pnl=D(700), position_pnl=D(900)), True, 0, "100", "unknown"),
    ],
)
def test_a_disagreement_names_its_likely_cause_by_the_first_rule_that_applies(
    official: OfficialPoint, complete: bool, conversions: int, fees: str, cause: str
) -> None:
    result = verdict(official, complete, conversions, fees)
    assert result.agrees is False
    assert result.likely_cause == cause


def test_an_official_point_covering_nothing_gives_no_verdict() -> None:
    result = verdict(OfficialPoint(unrealized_pnl=D(3), wallet_income=D(1), trade_pnl=D(7)))
    assert (result.agrees, result.likely_cause, result.realized_delta, result.position_delta) == (None,) * 4


def test_a_wallet_s_performance_compares_directly() -> None:
    positions, book = wallet_positions()
    perf = wallet_performance(book, positions)
    result = compare_wallet(perf, OfficialPoint(realized_pnl=D(10), position_pnl=D("-50")))
    assert (result.realized_agrees, result.position_agrees, result.position_delta) == (True, False, D("56.5"))
    assert result.likely_cause == "marks"


@pytest.mark.parametrize(
    ("api_avg", "avg_agrees"), [("0.50005", True), ("0.49995", True), ("0.500051", False)]
)
def test_a_position_s_avg_price_agrees_within_half_a_fourth_decimal(api_avg: str, avg_agrees: bool) -> None:
    (figures,) = position_figures(replay([fill("BUY", 1, 100, 0.5)], MARKETS).book, MARKETS)
    assert compare_position(figures, D(api_avg), None).avg_price_agrees is avg_agrees


@pytest.mark.parametrize(
    ("size", "api_realized", "agrees"),
    [
        (100, "5.01", True),  # buy cost 50: tolerance max(0.01, 0.005)
        (100, "5.010001", False),
        (10_000, "500.5", True),  # buy cost 5000: tolerance 0.5
        (10_000, "499.499999", False),
    ],
)
def test_a_position_s_realized_pnl_agrees_within_a_cent_or_a_basis_point_of_its_cost(
    size: int, api_realized: str, agrees: bool
) -> None:
    book = replay([fill("BUY", 1, size, 0.5), fill("SELL", 1, size / 2, 0.6, T0 + 1)], MARKETS).book
    (figures,) = position_figures(book, MARKETS)
    comparison = compare_position(figures, None, D(api_realized))
    assert comparison.realized_agrees is agrees
    assert comparison.avg_price_agrees is None
    assert comparison.realized_delta == figures.realized_pnl - D(api_realized)


def test_the_agreement_share_counts_only_complete_ledgers() -> None:
    agree = OfficialPoint(realized_pnl=D(1000))
    disagree = OfficialPoint(realized_pnl=D(500))
    counts = agreement_counts(
        [verdict(agree), verdict(agree), verdict(disagree), verdict(agree, complete=False),
         verdict(disagree, complete=False), verdict(OfficialPoint())]
    )  # fmt: skip
    assert (counts.compared, counts.agreeing, counts.disagreeing) == (3, 2, 1)
    assert (counts.incomplete_excluded, counts.not_covered) == (2, 1)
    assert counts.share == D("0.6666666667")
    assert agreement_counts([]).share is None


def test_polymarkets_realized_pnl_is_net_of_fees_so_ours_is_compared_less_the_fees() -> None:
    positions, book = wallet_positions()
    perf = wallet_performance(book, positions)
    fees = D("3.25")
    with_fees = replace(perf, fees_usdc=fees)
    exact = compare_wallet(with_fees, OfficialPoint(realized_pnl=perf.realized_pnl - fees))
    assert exact.realized_delta == 0
    assert exact.realized_agrees is True
    pre_fee = compare_wallet(with_fees, OfficialPoint(realized_pnl=perf.realized_pnl))
    assert pre_fee.realized_delta == -fees

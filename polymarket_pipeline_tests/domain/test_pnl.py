"""The ledger replay: every event type and rule of ``pnl.md``, with hand-computed numbers."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from decimal import Decimal, localcontext

import pytest

from polymarket_pipeline.domain.pnl import (
    CONVERSION_LEGS_UNKNOWN,
    HISTORY_INCOMPLETE,
    MARKET_TOKENS_UNKNOWN,
    OVERSOLD,
    REDEEM_PAYOUT_UNKNOWN,
    Book,
    LedgerEvent,
    MarketInfo,
    Markets,
    ReplayResult,
    TokenState,
    affected_assets,
    affected_conditions,
    event_from_activity,
    event_from_fill,
    event_key,
    holdings_of,
    is_late,
    join_reasons,
    payouts_for_winner,
    position_figures,
    quantize_price,
    replay,
    select_mark,
    to_decimal,
    trade_fee,
)
from polymarket_pipeline.domain.records import Activity, Fill

W = "0x" + "a" * 40
C1, C2 = "0xc1", "0xc2"
Y1, N1, Y2, N2 = "y1", "n1", "y2", "n2"
D = Decimal
T0 = 1_780_000_000
MARKETS: dict[str, MarketInfo] = {C1: MarketInfo(C1, (Y1, N1)), C2: MarketInfo(C2, (Y2, N2))}


def resolved(condition: str, winner: str, markets: Markets = MARKETS) -> dict[str, MarketInfo]:
    info = markets[condition]
    return {**markets, condition: replace(info, payouts=payouts_for_winner(info.token_ids, winner))}


def fill(
    side: str, asset: str, size: float, price: float, ts: int = T0, condition: str = C1, tx: str = "0xf"
) -> LedgerEvent:
    return event_from_fill(
        Fill(W, side, asset, condition, size, price, ts, tx)  # type: ignore[arg-type]
    )


def activity(
    kind: str,
    ts: int = T0,
    condition: str | None = C1,
    *,
    asset: str | None = None,
    size: float | None = None,
    usdc: float | None = None,
    price: float | None = None,
    side: str | None = None,
    tx: str = "0xa",
    outcome_index: int | None = None,
) -> LedgerEvent:
    return event_from_activity(
        Activity(
            W, kind, ts, condition, tx, size=size, usdc_size=usdc, price=price, asset=asset, side=side,
            outcome_index=outcome_index,
        )
    )  # fmt: skip


def run(events: list[LedgerEvent], markets: Markets = MARKETS, **kwargs: object) -> ReplayResult:
    return replay(events, markets, **kwargs)  # type: ignore[arg-type]


def token(result: ReplayResult, asset: str) -> TokenState:
    return result.book.tokens[asset]


# --- weighted average cost -------------------------------------------------------------------


def test_buys_average_their_cost_and_a_sell_realizes_against_it_without_moving_it() -> None:
    result = run(
        [fill("BUY", Y1, 100, 0.40), fill("BUY", Y1, 50, 0.70, T0 + 1), fill("SELL", Y1, 60, 0.80, T0 + 2)]
    )
    state = token(result, Y1)
    assert state.avg_price == D("0.5")  # (40 + 35) / 150
    assert state.realized_pnl == D("18")  # 60 x (0.80 - 0.50)
    assert state.amount == D("90")
    assert state.total_bought == D("150")
    assert state.buy_cost == D("75")
    assert result.book.complete


def test_several_buys_then_partial_sells_then_a_buy_reaverages_the_remainder() -> None:
    result = run(
        [
            fill("BUY", Y1, 10, 0.2, T0),
            fill("BUY", Y1, 30, 0.6, T0 + 1),  # avg (2 + 18) / 40 = 0.5
            fill("SELL", Y1, 15, 0.4, T0 + 2),  # -1.5
            fill("SELL", Y1, 5, 0.9, T0 + 3),  # +2.0
            fill("BUY", Y1, 20, 0.8, T0 + 4),  # avg (20 x 0.5 + 16) / 40 = 0.65
        ]
    )
    state = token(result, Y1)
    assert state.realized_pnl == D("0.5")
    assert state.amount == D("40")
    assert state.avg_price == D("0.65")
    assert state.total_bought == D("60")


def test_same_second_buy_and_sell_given_in_reverse_order_apply_buy_first() -> None:
    result = run([fill("SELL", Y1, 10, 0.6, T0), fill("BUY", Y1, 10, 0.5, T0)])
    state = token(result, Y1)
    assert state.realized_pnl == D("1")
    assert state.amount == 0
    assert state.untracked_shares == 0
    assert result.book.complete


def test_a_sell_beyond_the_tracked_amount_realizes_the_tracked_part_and_is_flagged() -> None:
    result = run([fill("BUY", Y1, 10, 0.5), fill("SELL", Y1, 15, 0.7, T0 + 1)])
    state = token(result, Y1)
    assert state.realized_pnl == D("2")  # 10 x 0.2, the 5 untracked shares earn nothing
    assert state.amount == 0
    assert state.untracked_shares == D("5")
    assert state.flags == {OVERSOLD}
    assert not result.book.complete
    assert result.book.incomplete_reason == "oversold"
    (figures,) = position_figures(result.book, MARKETS)
    assert (figures.complete, figures.incomplete_reason, figures.untracked_shares) == (False, OVERSOLD, D(5))


# --- redeem ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "markets", [MARKETS, resolved(C1, Y1)], ids=["payout-from-row", "payout-from-market"]
)
def test_redeeming_the_winner_sells_everything_at_one(markets: Markets) -> None:
    redeem = activity("REDEEM", T0 + 5, asset=Y1, size=100, usdc=100, outcome_index=0)
    result = run([fill("BUY", Y1, 100, 0.3), redeem], markets)
    state = token(result, Y1)
    assert state.realized_pnl == D("70")
    assert state.amount == 0
    assert result.book.complete


def test_redeeming_a_loser_with_zero_usdc_realizes_minus_its_cost() -> None:
    redeem = activity("REDEEM", T0 + 5, asset=N1, size=40, usdc=0, outcome_index=1)
    result = run([fill("BUY", N1, 40, 0.25), redeem])
    assert token(result, N1).realized_pnl == D("-10")  # -avg x amount
    assert token(result, N1).amount == 0


def test_per_outcome_redeem_rows_of_both_tokens_in_one_transaction_each_close_their_token() -> None:
    events = [
        fill("BUY", Y1, 100, 0.6),
        fill("BUY", N1, 50, 0.3),
        activity("REDEEM", T0 + 9, asset=Y1, size=100, usdc=100, tx="0xr"),
        activity("REDEEM", T0 + 9, asset=N1, size=50, usdc=0, tx="0xr"),
    ]
    result = run(events)
    assert token(result, Y1).realized_pnl == D("40")
    assert token(result, N1).realized_pnl == D("-15")
    assert token(result, Y1).amount == token(result, N1).amount == 0
    assert [e.kind for e in result.journal].count("REDEEM") == 2


def test_neg_risk_redeem_with_empty_asset_closes_every_token_of_the_condition_at_its_payouts() -> None:
    events = [
        fill("BUY", Y1, 80, 0.45),
        fill("BUY", N1, 20, 0.5),
        activity("REDEEM", T0 + 9, asset=None, size=80, usdc=80),
    ]
    result = run(events, resolved(C1, Y1))
    assert token(result, Y1).realized_pnl == D("44")  # 80 x (1 - 0.45)
    assert token(result, N1).realized_pnl == D("-10")  # 20 x (0 - 0.5)
    assert token(result, Y1).amount == token(result, N1).amount == 0
    assert result.book.complete


@pytest.mark.parametrize(("paid", "realized"), [(80, D("44")), (0, D("-36"))])
def test_neg_risk_redeem_of_an_unknown_market_infers_the_payout_from_the_usdc_paid(
    paid: float, realized: Decimal
) -> None:
    result = run([fill("BUY", Y1, 80, 0.45), activity("REDEEM", T0 + 9, size=paid, usdc=paid)], {})
    assert token(result, Y1).realized_pnl == realized
    assert token(result, Y1).amount == 0
    assert result.book.complete


@pytest.mark.parametrize("paid", [50, 37], ids=["two-resolutions-fit", "none-fits"])
def test_neg_risk_redeem_whose_payout_cannot_be_inferred_is_flagged_and_leaves_the_shares(
    paid: float,
) -> None:
    events = [
        fill("BUY", Y1, 50, 0.4),
        fill("BUY", N1, 50, 0.5),
        activity("REDEEM", T0 + 9, size=paid, usdc=paid),
    ]
    result = run(events, {})
    for asset in (Y1, N1):
        assert token(result, asset).amount == D("50")
        assert token(result, asset).realized_pnl == 0
        assert token(result, asset).flags == {REDEEM_PAYOUT_UNKNOWN}
    assert result.book.incomplete_reason == "redeem_payout_unknown"


def test_neg_risk_redeem_paying_nothing_for_both_held_outcomes_of_an_unknown_market_is_flagged() -> None:
    events = [fill("BUY", Y1, 10, 0.4), fill("BUY", N1, 20, 0.5), activity("REDEEM", T0 + 9, size=0, usdc=0)]
    result = run(events, {})
    assert (token(result, Y1).amount, token(result, N1).amount) == (D(10), D(20))
    assert result.book.incomplete_reason == "redeem_payout_unknown"


def test_a_per_outcome_redeem_of_more_shares_than_tracked_flags_the_untracked_ones() -> None:
    result = run([fill("BUY", Y1, 30, 0.5), activity("REDEEM", T0 + 9, asset=Y1, size=50, usdc=50)])
    assert token(result, Y1).realized_pnl == D("15")
    assert token(result, Y1).untracked_shares == D("20")
    assert token(result, Y1).flags == {OVERSOLD}


def test_neg_risk_redeem_paying_more_than_the_tracked_shares_flags_the_untracked_ones() -> None:
    result = run([fill("BUY", Y1, 30, 0.5), activity("REDEEM", T0 + 9, size=50, usdc=50)], resolved(C1, Y1))
    assert token(result, Y1).realized_pnl == D("15")
    assert token(result, Y1).untracked_shares == D("20")
    assert token(result, Y1).flags == {OVERSOLD}


def test_recorded_rows_a_taker_fee_and_a_condition_level_redeem_with_an_empty_asset() -> None:
    """Shapes (and numbers) of smart_money/activity_all.json: a TRADE row charging a taker fee and a
    REDEEM with asset "" and size = usdcSize = USDC paid; the market itself is not known here."""
    condition = "0xecba7b1db1c698ab73b3572abfcde327a02b5112676144e049edcc1e1e0f5b0b"
    asset = "46421815574359643620514688756609814860051932583278915389775335554413697029363"
    events = [
        fill("BUY", asset, 10980911.728675, 0.6542489661, 1784059201, condition),
        activity("TRADE", 1784059201, condition, asset=asset, side="BUY", size=402482.85, price=0.6542489661,
                 usdc=267876.215535, outcome_index=1),
        activity("REDEEM", 1784064509, condition, asset="", size=10980911.728675, usdc=10980911.728675),
    ]  # fmt: skip
    result = run(events, {})
    (figures,) = position_figures(result.book, {})
    assert figures.fees_usdc == D("4552.227050")  # 267876.215535 - 402482.85 x 0.6542489661
    assert figures.realized_pnl == D("3796661.583354")  # 10980911.728675 x (1 - 0.6542489661)
    assert (figures.shares, figures.status, figures.complete) == (D(0), "closed", True)


def test_several_redeems_sharing_one_transaction_across_conditions_are_all_applied() -> None:
    events = [
        fill("BUY", Y1, 10, 0.5, condition=C1),
        fill("BUY", N2, 20, 0.4, condition=C2),
        activity("REDEEM", T0 + 9, C1, size=10, usdc=10, tx="0xsame"),
        activity("REDEEM", T0 + 9, C2, size=0, usdc=0, tx="0xsame"),
    ]
    result = run(events, {})
    assert token(result, Y1).realized_pnl == D("5")
    assert token(result, N2).realized_pnl == D("-8")
    assert token(result, Y1).amount == token(result, N2).amount == 0


# --- split and merge -------------------------------------------------------------------------


def test_a_split_buys_both_legs_at_half_and_a_same_second_sale_of_one_leg_comes_after_it() -> None:
    events = [fill("SELL", Y1, 100, 0.7, T0), activity("SPLIT", T0, size=100, usdc=100)]
    result = run(events)
    assert token(result, Y1).realized_pnl == D("20")  # 100 x (0.7 - 0.5)
    assert token(result, Y1).amount == 0
    assert (token(result, N1).amount, token(result, N1).avg_price) == (D(100), D("0.5"))
    assert token(result, Y1).buy_cost == token(result, N1).buy_cost == D("50")
    assert result.book.complete


def test_a_merge_sells_both_legs_at_half() -> None:
    events = [fill("BUY", Y1, 10, 0.6), fill("BUY", N1, 10, 0.3), activity("MERGE", T0 + 1, size=10, usdc=10)]
    result = run(events)
    assert token(result, Y1).realized_pnl == D("-1")
    assert token(result, N1).realized_pnl == D("2")
    assert token(result, Y1).amount == token(result, N1).amount == 0


def test_a_merge_of_more_than_held_is_flagged_on_both_legs() -> None:
    events = [activity("SPLIT", T0, size=5, usdc=5), activity("MERGE", T0 + 1, size=8, usdc=8)]
    result = run(events)
    for asset in (Y1, N1):
        assert token(result, asset).untracked_shares == D("3")
        assert token(result, asset).realized_pnl == 0
        assert token(result, asset).flags == {OVERSOLD}


def test_a_split_of_a_market_whose_tokens_are_unknown_is_flagged() -> None:
    result = run([fill("BUY", Y1, 10, 0.4), activity("SPLIT", T0 + 1, size=10, usdc=10)], {})
    assert token(result, Y1).amount == D("20")
    assert token(result, Y1).avg_price == D("0.45")
    assert MARKET_TOKENS_UNKNOWN in result.book.incomplete_reasons


# --- neg-risk conversions --------------------------------------------------------------------


def neg_risk_event(count: int) -> dict[str, MarketInfo]:
    conditions = [f"0xm{i}" for i in range(count)]
    return {c: MarketInfo(c, (f"{c}-yes", f"{c}-no"), neg_risk_members=tuple(conditions)) for c in conditions}


def test_a_conversion_of_one_no_leg_buys_the_other_yes_legs_at_the_subgraph_price() -> None:
    markets = neg_risk_event(3)
    events = [
        fill("BUY", "0xm0-no", 100, 0.7, T0, condition="0xm0"),
        activity("CONVERSION", T0 + 1, "0xm0", size=100, usdc=0, tx="0xconv"),
    ]
    result = run(events, markets)
    no_leg = token(result, "0xm0-no")
    assert (no_leg.amount, no_leg.realized_pnl) == (0, 0)
    for yes in ("0xm1-yes", "0xm2-yes"):
        # (0.7 x 1 - 0) / (3 - 1)
        assert (token(result, yes).amount, token(result, yes).avg_price) == (D(100), D("0.35"))
        assert token(result, yes).buy_cost == D("35")
    assert "0xm0-yes" not in result.book.tokens
    assert result.book.conversions == 1
    assert result.book.complete


def test_a_conversion_of_two_no_legs_is_one_conversion_priced_from_their_mean_avg() -> None:
    markets = neg_risk_event(4)
    events = [
        fill("BUY", "0xm0-no", 10, 0.8, T0, condition="0xm0"),
        fill("BUY", "0xm1-no", 10, 0.6, T0, condition="0xm1"),
        activity("CONVERSION", T0 + 1, "0xm1", size=10, usdc=0, tx="0xconv"),
        activity("CONVERSION", T0 + 1, "0xm0", size=10, usdc=0, tx="0xconv"),
    ]
    result = run(events, markets)
    for yes in ("0xm2-yes", "0xm3-yes"):
        # noPrice 0.7; (0.7 x 2 - 1) / (4 - 2)
        assert (token(result, yes).amount, token(result, yes).avg_price) == (D(10), D("0.2"))
    assert token(result, "0xm0-no").amount == token(result, "0xm1-no").amount == 0
    assert result.book.conversions == 1
    assert affected_conditions(events[2], markets) == frozenset(markets)


def test_a_conversion_with_unknown_event_members_removes_the_no_leg_and_flags_it() -> None:
    markets = {"0xm0": MarketInfo("0xm0", ("0xm0-yes", "0xm0-no"))}
    events = [
        fill("BUY", "0xm0-no", 100, 0.7, T0, condition="0xm0"),
        activity("CONVERSION", T0 + 1, "0xm0", size=100, usdc=0, tx="0xconv"),
    ]
    result = run(events, markets)
    no_leg = token(result, "0xm0-no")
    assert (no_leg.amount, no_leg.realized_pnl) == (0, 0)
    assert no_leg.flags == {CONVERSION_LEGS_UNKNOWN}
    assert set(result.book.tokens) == {"0xm0-no"}
    assert result.book.incomplete_reason == "conversion_legs_unknown"


# --- fees, income, unknown types -------------------------------------------------------------


def test_trade_activity_carries_fees_apart_from_a_fee_exclusive_cost() -> None:
    events = [
        fill("BUY", Y1, 100, 0.5, T0),
        activity("TRADE", T0, asset=Y1, side="BUY", size=100, price=0.5, usdc=50.35),
        fill("SELL", Y1, 100, 0.6, T0 + 1),
        activity("TRADE", T0 + 1, asset=Y1, side="SELL", size=100, price=0.6, usdc=59.58),
    ]
    result = run(events)
    state = token(result, Y1)
    assert state.avg_price == D("0.5")  # the fee is not cost
    assert state.realized_pnl == D("10")
    assert state.fees_usdc == D("0.77")  # 0.35 added on the buy, 0.42 taken off the sale
    assert state.fills == 2
    assert state.volume_usdc == D("110")


def test_a_real_trade_row_without_a_fee_has_a_zero_fee_after_rounding() -> None:
    # pscanner/activity.json: 714.285713 x 0.860000001148 = 614.2857140008... against 614.285714
    assert trade_fee(to_decimal(714.285713), to_decimal(0.860000001148), to_decimal(614.285714)) == 0
    assert trade_fee(D("10"), D("0.5"), None) == 0


def test_rewards_and_rebates_without_a_market_are_wallet_income_only() -> None:
    events = [
        activity("REWARD", T0, None, size=3249.99909, usdc=3249.99909, price=0),
        activity("MAKER_REBATE", T0 + 1, None, size=3597.7603, usdc=3597.7603, price=0),
        activity("TAKER_REBATE", T0 + 2, None, size=114703.4301, usdc=114703.4301, price=0),
    ]
    result = run(events)
    assert result.book.income_usdc == D("121551.18949")
    assert result.book.income_by_type["TAKER_REBATE"] == D("114703.4301")
    assert result.book.tokens == {}
    assert [(e.kind, e.asset, e.income_usdc) for e in result.journal] == [
        ("INCOME", None, D("3249.99909")),
        ("INCOME", None, D("3597.7603")),
        ("INCOME", None, D("114703.4301")),
    ]


def test_unknown_activity_types_are_ignored_and_counted() -> None:
    events = [
        activity("TRANSFER", T0, asset=Y1, size=5, usdc=5),
        activity("TRANSFER", T0 + 1, asset=Y1, size=6, usdc=6),
        activity("SOMETHING_NEW", T0 + 2),
        fill("BUY", Y1, 1, 0.5, T0 + 3),
    ]
    result = run(events)
    assert result.ignored_types == {"TRANSFER": 2, "SOMETHING_NEW": 1}
    assert result.book.ignored_types == {"TRANSFER": 2, "SOMETHING_NEW": 1}
    assert token(result, Y1).amount == D(1)
    assert len(result.journal) == 1
    assert result.book.complete


# --- exactness -------------------------------------------------------------------------------


def test_floats_from_the_database_give_exact_decimal_results() -> None:
    assert 0.1 + 0.2 != 0.3
    assert to_decimal(0.1) + to_decimal(0.2) == D("0.3")
    events = [fill("BUY", Y1, 1, 0.1), fill("BUY", Y1, 1, 0.2, T0 + 1), fill("SELL", Y1, 2, 0.3, T0 + 2)]
    with localcontext() as ctx:
        ctx.prec = 3  # the caller's context never leaks into the ledger
        result = run(events)
    assert token(result, Y1).avg_price == D("0.15")
    assert token(result, Y1).realized_pnl == D("0.3")
    with pytest.raises(ValueError, match="finite"):
        to_decimal(float("nan"))


def test_stored_figures_are_quantized_and_the_book_is_not() -> None:
    result = run([fill("BUY", Y1, 1, 0.1), fill("BUY", Y1, 2, 0.2, T0 + 1)])
    assert token(result, Y1).avg_price == D("0." + "1" + "6" * 48 + "7")  # unrounded: 50 digits
    (figures,) = position_figures(result.book, MARKETS)
    assert figures.avg_price == D("0.166666666667")
    assert figures.cost_basis == D("0.500000")
    assert figures.shares == D("3.000000")


# --- order, resumption, round trip -----------------------------------------------------------


def test_within_one_second_tokens_come_in_before_they_go_out_and_redeems_last() -> None:
    events = [
        activity("REWARD", T0, None, usdc=1),
        activity("REDEEM", T0, asset=Y1, size=1, usdc=1),
        fill("SELL", Y1, 1, 0.5, T0),
        activity("MERGE", T0, size=1, usdc=1),
        activity("CONVERSION", T0, size=1, usdc=0),
        activity("SPLIT", T0, size=1, usdc=1),
        fill("BUY", Y1, 1, 0.5, T0),
        fill("BUY", Y1, 1, 0.5, T0 - 1),
    ]
    ordered = sorted(events, key=event_key)
    assert ordered[0].timestamp == T0 - 1
    assert {(e.kind, e.side) for e in ordered[1:3]} == {("SPLIT", None), ("FILL", "BUY")}  # tokens in
    assert (ordered[3].kind, ordered[6].kind, ordered[7].kind) == ("CONVERSION", "REDEEM", "INCOME")
    assert {(e.kind, e.side) for e in ordered[4:6]} == {("MERGE", None), ("FILL", "SELL")}  # tokens out
    assert [event_key(e)[1] for e in ordered] == [0, 0, 0, 1, 2, 2, 3, 4]


def test_the_input_order_never_changes_the_result() -> None:
    events = mixed_history()
    shuffled = list(events)
    random.Random(7).shuffle(shuffled)
    assert run(shuffled).book.to_dict() == run(events).book.to_dict()
    assert run(shuffled).journal == run(events).journal


def mixed_history() -> list[LedgerEvent]:
    return [
        fill("BUY", Y1, 100, 0.4, T0),
        activity("TRADE", T0, asset=Y1, side="BUY", size=100, price=0.4, usdc=40.2),
        activity("SPLIT", T0 + 10, size=50, usdc=50),
        fill("SELL", N1, 30, 0.55, T0 + 20),
        activity("REWARD", T0 + 30, None, usdc=2.5),
        fill("BUY", Y2, 10, 0.9, T0 + 40, condition=C2),
        fill("SELL", Y1, 120, 0.65, T0 + 86_400),
        activity("MERGE", T0 + 86_401, size=20, usdc=20),
        activity("REDEEM", T0 + 90_000, C2, size=10, usdc=10),
    ]


def test_replaying_a_then_b_from_a_s_book_equals_replaying_a_and_b_at_once() -> None:
    events = mixed_history()
    cut = T0 + 86_400
    first = run([e for e in events if e.timestamp < cut])
    second = run([e for e in events if e.timestamp >= cut], start=first.book)
    whole = run(events)
    assert second.book.to_dict() == whole.book.to_dict()
    assert first.journal + second.journal == whole.journal
    assert first.book.tokens[Y1].amount == D(150)  # the start book was not mutated by the second run


def test_resuming_at_any_second_boundary_equals_one_replay_on_random_histories() -> None:
    """A property test without hypothesis (not installed): seeded random histories, every cut."""
    rng = random.Random(20260810)
    for _ in range(40):
        events = random_history(rng)
        whole = run(events)
        for cut in sorted({e.timestamp for e in events}):
            first = run([e for e in events if e.timestamp < cut])
            rest = run([e for e in events if e.timestamp >= cut], start=Book.from_dict(first.book.to_dict()))
            assert rest.book.to_dict() == whole.book.to_dict()
            assert first.journal + rest.journal == whole.journal


def random_history(rng: random.Random) -> list[LedgerEvent]:
    events: list[LedgerEvent] = []
    for _ in range(rng.randint(1, 12)):
        ts = T0 + rng.randint(0, 6)
        condition, assets = rng.choice([(C1, (Y1, N1)), (C2, (Y2, N2))])
        size = rng.choice([1, 2.5, 10, 33.333333])
        price = rng.choice([0.01, 0.1, 0.333, 0.5, 0.77, 0.99])
        choice = rng.randrange(7)
        if choice < 3:
            events.append(fill(rng.choice(["BUY", "SELL"]), rng.choice(assets), size, price, ts, condition))
        elif choice == 3:
            events.append(activity(rng.choice(["SPLIT", "MERGE"]), ts, condition, size=size, usdc=size))
        elif choice == 4:
            events.append(activity("REDEEM", ts, condition, asset=rng.choice(assets), size=size, usdc=size))
        elif choice == 5:
            events.append(activity("TRADE", ts, condition, asset=rng.choice(assets), size=size, price=price,
                                   usdc=size * price + 0.01))  # fmt: skip
        else:
            events.append(activity("YIELD", ts, None, usdc=size))
    return events


def test_the_book_round_trips_through_plain_json_values() -> None:
    book = run(mixed_history(), history_complete=False).book
    restored = Book.from_dict(json.loads(json.dumps(book.to_dict())))
    assert restored == book
    rows = [json.loads(json.dumps(state.to_dict())) for state in book.tokens.values()]
    assert Book.from_dict(json.loads(json.dumps(book.wallet_dict())), tokens=rows) == book
    assert not restored.history_complete


def test_a_late_event_is_detected_for_the_conditions_it_touches_only() -> None:
    book = run(mixed_history()).book
    assert is_late(book, fill("BUY", Y1, 1, 0.5, T0 + 5), MARKETS)
    assert not is_late(book, fill("BUY", Y1, 1, 0.5, T0 + 90_001), MARKETS)
    assert not is_late(book, fill("BUY", Y2, 1, 0.5, T0 + 90_000 + 1, condition=C2), MARKETS)
    assert is_late(book, fill("BUY", Y2, 1, 0.5, T0 + 89_999, condition=C2), MARKETS)
    assert not is_late(book, activity("TRADE", T0, asset=Y1, size=1, price=0.5, usdc=0.6), MARKETS)
    assert book.last_key == event_key(mixed_history()[-1])
    fills_only = run([fill("BUY", Y1, 1, 0.5, T0 + 10)]).book
    assert is_late(fills_only, fill("SELL", Y1, 1, 0.5, T0 + 9), MARKETS)
    assert not is_late(fills_only, fill("SELL", Y1, 1, 0.5, T0 + 10), MARKETS)  # same second, sorts after


def test_a_late_event_is_handled_by_replaying_its_condition_from_scratch() -> None:
    events = mixed_history()
    late = fill("BUY", N1, 5, 0.2, T0 + 15)
    book = run(events).book
    assert is_late(book, late, MARKETS)
    condition_events = [e for e in [*events, late] if e.condition_id == C1 and e.kind != "INCOME"]
    fixed = run(condition_events, start=book.without_conditions({C1})).book
    assert fixed.tokens == run([*events, late]).book.tokens
    assert fixed.income_usdc == D("2.5")


def test_events_say_which_conditions_and_tokens_they_touch() -> None:
    book = run([fill("BUY", Y1, 1, 0.5)], {}).book
    assert affected_conditions(activity("SPLIT"), MARKETS) == {C1}
    assert affected_assets(activity("SPLIT"), MARKETS) == {Y1, N1}
    assert affected_assets(activity("REDEEM", size=1, usdc=1), {}, book) == {Y1}
    assert affected_assets(activity("REDEEM", asset=N1, size=1, usdc=0), MARKETS) == {N1}
    assert affected_conditions(activity("REWARD", condition=None, usdc=1), MARKETS) == frozenset()


def test_an_incomplete_history_flags_every_position_and_reasons_join_sorted() -> None:
    result = run([fill("BUY", Y1, 1, 0.5), fill("SELL", N1, 1, 0.5)], history_complete=False)
    figures = {f.asset: f for f in position_figures(result.book, MARKETS)}
    assert figures[Y1].incomplete_reason == HISTORY_INCOMPLETE
    assert figures[N1].incomplete_reason == "history_incomplete,oversold"
    assert result.book.incomplete_reason == "history_incomplete,oversold"
    assert not run([], start=result.book).book.history_complete  # it sticks
    assert join_reasons([OVERSOLD, HISTORY_INCOMPLETE, OVERSOLD]) == "history_incomplete,oversold"
    assert join_reasons([]) is None


# --- marks and figures -----------------------------------------------------------------------


def test_marks_come_from_the_resolution_over_the_api_and_are_unknown_without_either() -> None:
    events = [
        fill("BUY", Y1, 10, 0.4),
        fill("BUY", Y2, 10, 0.3, condition=C2),
        fill("BUY", N2, 4, 0.5, condition=C2),
    ]
    book = run(events).book
    api = {Y1: D("0.55"), Y2: D("0.9")}
    markets = resolved(C2, N2)
    figures = {f.asset: f for f in position_figures(book, markets, api)}
    assert (figures[Y1].mark_price, figures[Y1].mark_source, figures[Y1].unrealized_pnl) == (
        D("0.55"), "api", D("1.5")
    )  # fmt: skip
    assert (figures[Y2].mark_price, figures[Y2].mark_source, figures[Y2].unrealized_pnl) == (
        D("0"), "resolution", D("-3")
    )  # fmt: skip
    assert figures[N2].unrealized_pnl == D("2")  # 4 x (1 - 0.5)
    assert (figures[Y1].status, figures[Y2].status) == ("open", "resolved")
    unmarked = position_figures(book, MARKETS, {})[0]
    assert (unmarked.unrealized_pnl, unmarked.mark_price, unmarked.mark_source) == (None, None, None)
    assert select_mark(Y1, C1, MARKETS, {}) is None


def test_a_closed_position_has_zero_unrealized_and_its_first_and_last_times() -> None:
    result = run([fill("BUY", Y1, 10, 0.4, T0), fill("SELL", Y1, 10, 0.5, T0 + 60)])
    (figures,) = position_figures(result.book, MARKETS)
    assert (figures.status, figures.unrealized_pnl, figures.realized_pnl) == ("closed", D(0), D("1"))
    assert (figures.first_event_at, figures.last_event_at) == (T0, T0 + 60)
    assert (figures.first_fill_at, figures.last_fill_at, figures.fills) == (T0, T0 + 60, 2)
    assert holdings_of(result.book) == {}


def test_the_journal_records_each_token_an_event_moved() -> None:
    result = run([fill("BUY", Y1, 10, 0.4), activity("SPLIT", T0 + 1, size=5, usdc=5)])
    entry, split_y, split_n = result.journal
    assert (entry.is_fill, entry.notional_usdc, entry.shares_after, entry.avg_price_after) == (
        True, D("4"), D(10), D("0.4")
    )  # fmt: skip
    assert (split_y.asset, split_y.shares_after) == (Y1, D(15))
    assert quantize_price(split_y.avg_price_after or D(0)) == D("0.433333333333")  # (4 + 2.5) / 15
    assert (split_n.asset, split_n.is_fill, split_n.notional_usdc) == (N1, False, D(0))
    assert split_y.key == split_n.key

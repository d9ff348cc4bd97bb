from __future__ import annotations

import pytest

from polymarket_pipeline.domain.budgets import (
    CLOB_GENERAL,
    DATA_GENERAL,
    GAMMA_MARKETS,
    ROUTE_CEILINGS,
    Budget,
    busiest_window,
    ceilings_for,
    published_ceiling,
    reserve,
    window_allowance,
)


def send_times(budget: Budget, arrivals: list[float]) -> list[float]:
    tat, sent = 0.0, []
    for now in arrivals:
        tat, wait = reserve(tat, now, budget)
        sent.append(now + wait)
    return sent


def test_the_busiest_window_is_half_open_and_ignores_order() -> None:
    """What a sliding-window server counts: times in [t, t + w); the tests' yardstick, so checked here."""
    times = [3.0, 0.0, 0.5, 1.0, 1.0, 2.9]
    assert busiest_window(times, 1.0) == 3  # 0.5, 1.0, 1.0 (0.0 and 1.0 are a whole second apart)
    assert busiest_window(times, 0.1) == 2
    assert busiest_window(times, 10.0) == 6
    assert busiest_window([], 1.0) == 0
    assert window_allowance(20.0, 5, 1.0) == 25
    assert window_allowance(19.4, 4, 0.25) == 8  # whole requests only


def test_a_burst_goes_at_once_then_the_rate_holds() -> None:
    budget = Budget("t", rate=20, burst=5)
    sent = send_times(budget, [0.0] * 45)
    assert sent[:5] == [0.0] * 5
    assert sent[-1] == pytest.approx(2.0)  # 40 more at 20/s
    assert busiest_window(sent, 1.0) <= 20 + 5


@pytest.mark.parametrize("limit", [200, 150, 1000])
def test_a_published_ceiling_is_never_exceeded_in_any_ten_second_window(limit: int) -> None:
    budget = published_ceiling("x", limit)
    sent = send_times(budget, [0.0] * (3 * limit))  # everyone at once, far past the limit
    assert busiest_window(sent, 10.0) <= limit
    assert busiest_window(sent, 10.0) >= 0.95 * limit  # and the ceiling is used, not wasted


def test_each_route_spends_from_its_api_and_its_own_ceiling() -> None:
    assert ceilings_for("data", "GET /v2/trades") == [DATA_GENERAL, ROUTE_CEILINGS["trades"]]
    assert ceilings_for("data", "GET /trades") == [DATA_GENERAL, ROUTE_CEILINGS["trades"]]
    assert ceilings_for("data", "GET /v2/positions") == [DATA_GENERAL, ROUTE_CEILINGS["positions"]]
    assert ceilings_for("data", "GET /v2/activity") == [DATA_GENERAL]
    assert ceilings_for("gamma", "GET /markets")[-1] == GAMMA_MARKETS
    assert ceilings_for("clob", "GET /markets/{condition_id}") == [CLOB_GENERAL]

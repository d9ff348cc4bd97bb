"""The history frontier rules: when a history is complete, and where the next step starts."""

from __future__ import annotations

import pytest

from polymarket_pipeline.domain.history import (
    HistoryState,
    WalkOutcome,
    after_backward_walk,
    after_forward_walk,
    backfill_budget,
    estimate_rows_to_read,
)

NEW = HistoryState(complete=False)


def test_a_first_poll_that_read_everything_is_complete() -> None:
    assert after_forward_walk(NEW, WalkOutcome(True, 100), from_start=True) == HistoryState(True)


def test_a_first_poll_cut_by_the_page_limit_leaves_a_frontier_at_its_oldest_row() -> None:
    assert after_forward_walk(NEW, WalkOutcome(False, 1_700), from_start=True) == HistoryState(False, 1_700)


def test_an_incremental_walk_never_makes_an_incomplete_history_complete() -> None:
    cut = HistoryState(False, 1_700)
    assert after_forward_walk(cut, WalkOutcome(True, 5_000), from_start=False) == cut
    assert after_forward_walk(NEW, WalkOutcome(True, 5_000), from_start=False) == NEW


def test_an_incremental_walk_cut_early_reopens_the_history_above_the_gap() -> None:
    whole = HistoryState(True)
    # more new fills than a walk reads: the rows between the old watermark and 9_000 are unread
    assert after_forward_walk(whole, WalkOutcome(False, 9_000), from_start=False) == HistoryState(
        False, 9_000
    )


def test_a_cut_walk_with_no_rows_keeps_the_frontier_it_had() -> None:
    cut = HistoryState(False, 1_700)
    assert after_forward_walk(cut, WalkOutcome(False, None), from_start=False) == cut


def test_a_backward_walk_that_reached_the_first_row_completes_the_history() -> None:
    step = after_backward_walk(HistoryState(False, 1_700), WalkOutcome(True, 10), end=1_700)
    assert step.state == HistoryState(True)
    assert step.progressed


def test_a_backward_walk_cut_early_moves_the_frontier_down() -> None:
    step = after_backward_walk(HistoryState(False, 1_700), WalkOutcome(False, 1_200), end=1_700)
    assert step.state == HistoryState(False, 1_200)
    assert step.progressed


def test_a_backward_walk_that_read_only_its_frontier_second_did_not_progress() -> None:
    step = after_backward_walk(HistoryState(False, 1_700), WalkOutcome(False, 1_700), end=1_700)
    assert step.state == HistoryState(False, 1_700)
    assert not step.progressed
    empty = after_backward_walk(HistoryState(False, 1_700), WalkOutcome(False, None), end=1_700)
    assert not empty.progressed


def test_the_budget_is_a_share_of_the_whole_sweep_with_a_floor() -> None:
    # 3,000 regular requests at a 25 % share: 1,000 history pages make 25 % of 4,000
    assert backfill_budget(3_000, share=0.25, min_pages=50) == 1_000
    assert backfill_budget(10, share=0.25, min_pages=50) == 50
    assert backfill_budget(10_000, share=0.0, min_pages=50) == 0
    with pytest.raises(ValueError, match="share"):
        backfill_budget(10, share=1.0, min_pages=50)


def test_rows_to_read_are_estimated_at_the_stored_density() -> None:
    # 1,000 rows stored over 100 s; 50 s of history still unread below the frontier
    assert estimate_rows_to_read(stored=1_000, frontier=1_000, newest=1_100, first=950) == 500
    assert estimate_rows_to_read(stored=1_000, frontier=1_000, newest=1_100, first=1_000) == 0
    assert estimate_rows_to_read(stored=1_000, frontier=1_000, newest=1_100, first=None) is None
    assert estimate_rows_to_read(stored=0, frontier=1_000, newest=1_100, first=900) is None

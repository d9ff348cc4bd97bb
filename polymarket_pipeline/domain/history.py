"""How far a wallet's stored history reaches, and what each walk does to it.

The Data API serves a wallet's fills (and v2 activity) newest first, and every walk is bounded in
pages: a walk that stops early has read the newest rows down to some second and nothing older.
A history is then a *frontier*: every row from the frontier second up to the watermark is stored,
rows older than the frontier are still to read, and the frontier second itself may be partial (it
is re-read whole by the next backward step, which walks ``end = frontier`` inclusive). It is
complete only when a walk that started at the first row ever reached it; an incremental walk,
which starts at the watermark, never proves anything about older rows.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class HistoryState:
    """One route's history of one wallet: complete, or stored back to ``frontier`` (epoch s)."""

    complete: bool
    frontier: int | None = None
    """None while incomplete means "not started": the next backward step starts at the watermark."""

    @property
    def to_read(self) -> bool:
        return not self.complete


@dataclass(frozen=True, slots=True)
class WalkOutcome:
    """What a walk read: whether it reached the end of its range, and its oldest row's second."""

    complete: bool
    oldest: int | None


def after_forward_walk(state: HistoryState, walk: WalkOutcome, *, from_start: bool) -> HistoryState:
    """The history after a poll since the watermark (``from_start``: the first poll, from row one).

    A first poll that completed read everything. An incremental poll that completed adds nothing
    to what is known of older rows. One that stopped early left a gap between the old watermark
    and its oldest row: the frontier moves up to that row and the backward walk re-reads what is
    below it (rows already stored are upserted unchanged).
    """
    if walk.complete:
        return HistoryState(complete=True) if from_start else state
    if walk.oldest is None:
        return HistoryState(complete=False, frontier=state.frontier)
    return HistoryState(complete=False, frontier=walk.oldest)


@dataclass(frozen=True, slots=True)
class BackwardStep:
    """The history after one backward step, and whether the step moved the frontier."""

    state: HistoryState
    progressed: bool


def after_backward_walk(state: HistoryState, walk: WalkOutcome, *, end: int) -> BackwardStep:
    """The history after a walk of rows at or before ``end`` (the frontier, re-read whole).

    A complete walk reached the wallet's first row: the history is whole. One that stopped early
    moved the frontier down to its oldest row, unless every row it read was at ``end`` itself
    (one second holding more rows than a step reads): then nothing moved, and the caller says so.
    """
    if walk.complete:
        return BackwardStep(HistoryState(complete=True), progressed=True)
    if walk.oldest is None or walk.oldest >= end:
        return BackwardStep(HistoryState(complete=False, frontier=end), progressed=False)
    return BackwardStep(HistoryState(complete=False, frontier=walk.oldest), progressed=True)


def backfill_budget(regular_requests: int, *, share: float, min_pages: int) -> int:
    """Pages a sweep may spend on older history: ``share`` of the sweep's requests, at least ``min_pages``.

    The regular polls come first and cost ``regular_requests``; the history steps may then add
    ``share / (1 - share)`` of that, so they are at most ``share`` of the whole sweep, but never
    fewer than ``min_pages`` (a small deployment with one huge wallet still makes progress).
    """
    if not 0.0 <= share < 1.0:
        raise ValueError(f"history backfill share must be in [0, 1), got {share}")
    if share == 0.0:
        return 0
    return max(min_pages, int(regular_requests * share / (1.0 - share)))


def estimate_rows_to_read(*, stored: int, frontier: int, newest: int, first: int | None) -> int | None:
    """Rows still older than ``frontier``, estimated at the density of the stored span.

    ``first`` is the wallet's first activity (one ASC request tells it); without it, or without
    a stored span to measure, there is no estimate. The API gives no row counts, so this is an
    estimate and is labelled as one wherever it is shown.
    """
    if first is None or newest <= frontier or stored <= 0:
        return None
    if first >= frontier:
        return 0
    return round(stored / (newest - frontier) * (frontier - first))

from __future__ import annotations

from polymarket_pipeline.domain.reconcile import (
    CloseReason,
    EventType,
    StoredPosition,
    classify_close,
    close_changes,
    diff_snapshot,
    explaining_activity,
    unexplained,
)
from polymarket_pipeline.domain.records import Activity, Position

W = "0x" + "a" * 40
C1, C2, C3 = ("0x" + c * 64 for c in "123")


def pos(asset: str, size: float, condition: str = C1) -> Position:
    return Position(wallet_address=W, asset=asset, condition_id=condition, size=size)


def stored(asset: str, size: float, condition: str = C1) -> StoredPosition:
    return StoredPosition(asset=asset, condition_id=condition, size=size)


def test_diff_detects_open_increase_decrease_and_disappearance() -> None:
    previous = {
        "a": stored("a", 10),
        "b": stored("b", 10),
        "c": stored("c", 10),
        "d": stored("d", 10, C2),
    }
    diff = diff_snapshot(previous, [pos("a", 10.0000000001), pos("b", 15), pos("c", 4), pos("e", 3)])
    kinds = {(c.asset, c.event_type, c.size_before, c.size_after) for c in diff.changes}
    assert kinds == {
        ("b", EventType.INCREASED, 10, 15),
        ("c", EventType.DECREASED, 10, 4),  # partial close: an event, not a close
        ("e", EventType.OPENED, 0.0, 3),
    }
    assert [p.asset for p in diff.disappeared] == ["d"]
    assert diff.disappeared_condition_ids == {C2}


def test_zero_size_rows_count_as_gone() -> None:
    diff = diff_snapshot({"a": stored("a", 5)}, [pos("a", 0)])
    assert [p.asset for p in diff.disappeared] == ["a"]
    assert diff.changes == []


def test_an_incomplete_snapshot_yields_no_changes_and_no_closes() -> None:
    previous = {"a": stored("a", 10), "b": stored("b", 10)}
    diff = diff_snapshot(previous, [pos("a", 15)], complete=False)
    assert diff.changes == []
    assert diff.disappeared == []  # "b" missing from a capped walk proves nothing


def act(kind: str, condition: str | None = C1, asset: str | None = None, tx: str = "0x1") -> Activity:
    return Activity(
        wallet_address=W, type=kind, timestamp=1, condition_id=condition, transaction_hash=tx, asset=asset
    )


def test_close_reason_precedence() -> None:
    p1, p2, p3, p4, p5 = (stored(a, 1, c) for a, c in [("x", C1), ("y", C2), ("z", C3), ("m", C2), ("n", C3)])
    activity = explaining_activity(
        [
            act("REDEEM", C1),
            act("MERGE", None, asset="m"),
            act("CONVERSION", None, asset="n"),
            act("TRADE", C3),
        ]
    )
    resolved = {C1, C2}
    assert classify_close(p1, activity=activity, resolved=resolved) is CloseReason.REDEEMED
    assert classify_close(p2, activity=activity, resolved=resolved) is CloseReason.MARKET_CLOSED
    assert classify_close(p3, activity=activity, resolved=resolved) is CloseReason.MANUAL_CLOSE
    assert classify_close(p4, activity=activity, resolved=resolved) is CloseReason.MERGED  # beats resolution
    assert classify_close(p5, activity=activity, resolved=resolved) is CloseReason.CONVERTED
    closes = close_changes([p1, p3], activity=activity, resolved=resolved)
    assert [(c.event_type, c.reason, c.size_before, c.size_after) for _, c in closes] == [
        (EventType.CLOSED, CloseReason.REDEEMED, 1, 0.0),
        (EventType.CLOSED, CloseReason.MANUAL_CLOSE, 1, 0.0),
    ]


def test_redeem_beats_merge_beats_conversion_on_the_same_market() -> None:
    position = stored("x", 1, C1)
    both = explaining_activity([act("CONVERSION"), act("MERGE"), act("REDEEM")])
    assert classify_close(position, activity=both, resolved=set()) is CloseReason.REDEEMED
    assert (
        classify_close(
            position, activity=explaining_activity([act("CONVERSION"), act("MERGE")]), resolved=set()
        )
        is CloseReason.MERGED
    )


def test_only_closing_activity_explains_and_only_unexplained_markets_need_resolution() -> None:
    rows = [
        act("REDEEM", C1),
        act("REDEEM", C2, tx="0x1"),  # several REDEEMs of one transaction
        act("TRADE", C3, tx="0x2"),
        act("REWARD", None, tx="0x3"),  # rewards carry no market
    ]
    activity = explaining_activity(rows)
    assert set(activity) == {C1, C2}
    gone = [stored("a", 1, C1), stored("b", 1, C3)]
    assert unexplained(gone, activity) == {C3}

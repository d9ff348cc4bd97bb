from __future__ import annotations

from polymarket_pipeline.domain.reconcile import (
    CloseReason,
    EventType,
    StoredPosition,
    classify_close,
    close_changes,
    diff_snapshot,
    redeemed_condition_ids,
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


def test_close_reason_precedence() -> None:
    p1, p2, p3 = stored("x", 1, C1), stored("y", 1, C2), stored("z", 1, C3)
    redeemed, resolved = {C1}, {C1, C2}
    assert classify_close(p1, redeemed=redeemed, resolved=resolved) is CloseReason.REDEEMED
    assert classify_close(p2, redeemed=redeemed, resolved=resolved) is CloseReason.MARKET_CLOSED
    assert classify_close(p3, redeemed=redeemed, resolved=resolved) is CloseReason.MANUAL_CLOSE
    closes = close_changes([p1, p3], redeemed=redeemed, resolved=resolved)
    assert [(c.event_type, c.reason, c.size_before, c.size_after) for _, c in closes] == [
        (EventType.CLOSED, CloseReason.REDEEMED, 1, 0.0),
        (EventType.CLOSED, CloseReason.MANUAL_CLOSE, 1, 0.0),
    ]


def test_only_redeem_rows_mark_a_market_redeemed() -> None:
    rows = [
        Activity(wallet_address=W, type="REDEEM", timestamp=1, condition_id=C1, transaction_hash="0x1"),
        Activity(wallet_address=W, type="REDEEM", timestamp=1, condition_id=C2, transaction_hash="0x1"),
        Activity(wallet_address=W, type="TRADE", timestamp=1, condition_id=C3, transaction_hash="0x2"),
    ]
    assert redeemed_condition_ids(rows) == {C1, C2}

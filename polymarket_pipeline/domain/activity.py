"""Activity identity: one ``activity_public`` row per activity, whatever the paging repeated."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from polymarket_pipeline.domain.records import Activity


@dataclass(frozen=True, slots=True)
class KeyedActivity:
    activity_id: str
    occurrence: int
    activity: Activity


def key_activity(rows: Iterable[Activity]) -> list[KeyedActivity]:
    """Give every row its ``activity_id``; exact repeats (after ``union_pages``) are numbered.

    Several REDEEMs of one transaction differ in market or size and get distinct ids; two rows
    identical in every keyed field are kept apart by their occurrence number, as fills are.
    """
    seen: Counter[str] = Counter()
    keyed = []
    for row in sorted(rows, key=lambda r: (r.timestamp, r.natural_key)):
        key = row.natural_key
        occurrence = seen[key]
        seen[key] += 1
        keyed.append(KeyedActivity(row.activity_id(occurrence), occurrence, row))
    return keyed

"""Adding up run statistics field by field, from the dataclass itself rather than a hand-kept list.

A sweep, a hot tick and a history phase each count what they did in a dataclass; a sensor adds
several ticks' counts before it reports them, and a shard's counts are added to its run's. Every
field is added the way its type says: numbers are summed, counters and sets joined, flags or'ed,
capped mappings filled up to their cap, nested statistics merged in turn, and an optional value
(the latest summary, the first error) taken from the other side when this side has none. A field
added to a dataclass is therefore merged without anyone remembering to list it.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Mapping
from typing import Any


def merge_counts(into: Any, other: Any, *, caps: Mapping[str, int] | None = None) -> None:
    """Add ``other``'s fields into ``into`` (same dataclass type); private fields are left alone.

    ``caps`` bounds mappings by field name (e.g. the listed failures): entries past the cap are
    dropped, as the original collection does.
    """
    if type(into) is not type(other) or not dataclasses.is_dataclass(into):
        raise TypeError(f"cannot merge {type(other).__name__} into {type(into).__name__}")
    for f in dataclasses.fields(into):
        if f.name.startswith("_"):
            continue
        mine, theirs = getattr(into, f.name), getattr(other, f.name)
        setattr(into, f.name, _merged(f.name, mine, theirs, caps or {}))


def _merged(name: str, mine: Any, theirs: Any, caps: Mapping[str, int]) -> Any:
    if theirs is None:
        return mine
    if mine is None:
        return theirs
    if isinstance(mine, bool):
        return mine or bool(theirs)
    if isinstance(mine, int | float):
        return mine + theirs
    if isinstance(mine, Counter):
        mine.update(theirs)
        return mine
    if isinstance(mine, set):
        return mine | theirs
    if isinstance(mine, dict):
        cap = caps.get(name)
        for key, value in theirs.items():
            if cap is None or len(mine) < cap or key in mine:
                mine.setdefault(key, value)
        return mine
    if dataclasses.is_dataclass(mine) and not isinstance(mine, type):
        if _frozen(mine):
            return theirs  # a summary as of the other side's end: the later one stands
        merge_counts(mine, theirs, caps=caps)
        return mine
    return mine  # text (a first error) keeps this side's


def _frozen(value: Any) -> bool:
    params = getattr(type(value), "__dataclass_params__", None)
    return bool(params is not None and params.frozen)

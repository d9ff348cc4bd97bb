"""Validation at the boundary: bad rows are rejected one by one, bad bodies raise.

A row that breaks a field rule (``api.fields``), or that belongs to another wallet than the one
asked for, is dropped on its own: counted (``ApiStats.rows_rejected`` and the call's result),
logged with the route, wallet, page, row and field it broke (escaped and cut, the first few per
call in full, then one summary), and never fails its page, its walk or its wallet. A body whose
*structure* is wrong (not an array where one is due, no ``data`` envelope) still raises
``PayloadError``, since nothing in it can be trusted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from polymarket_pipeline.api.errors import PayloadError
from polymarket_pipeline.api.stats import ApiStats
from polymarket_pipeline.api.text import escape

log = logging.getLogger("polymarket_pipeline.api")

M = TypeVar("M", bound=BaseModel)

LOGGED_REJECTIONS_PER_CALL = 5
"""Rejected rows logged in full per call; the rest are counted in one summary line."""


@dataclass(frozen=True)
class ParseContext:
    """What a parse must know and an error must name: route, wallet, page, and the current time."""

    route: str
    wallet: str | None = None
    now: int | None = None
    """Epoch seconds bounding timestamps (None: the wall clock)."""
    page: int | None = None
    """0-based page of a walk, for messages."""

    def at_page(self, page: int) -> ParseContext:
        return ParseContext(self.route, self.wallet, self.now, page)

    @property
    def subject(self) -> str:
        return f"{self.route} for wallet {self.wallet}" if self.wallet else self.route

    def error(self, detail: str, *, field: str | None = None, retryable: bool = False) -> PayloadError:
        where = f"page {self.page}: " if self.page is not None else ""
        return PayloadError(
            where + detail, route=self.route, wallet=self.wallet, field=field, retryable=retryable
        )

    @property
    def validation_context(self) -> dict[str, Any]:
        return {"now": self.now}


@dataclass
class Rejections:
    """The rows one call rejected: counted in the call's result and in ``stats``, logged sparingly."""

    stats: ApiStats | None = None
    count: int = 0
    samples: list[str] = field(default_factory=list)

    def reject(self, ctx: ParseContext, detail: str, *, row: int | None = None) -> None:
        self.count += 1
        if self.stats is not None:
            self.stats.record_rejected_row()
        place = []
        if ctx.page is not None:
            place.append(f"page {ctx.page}")
        if row is not None:
            place.append(f"row {row}")
        message = f"{ctx.subject}: {', '.join(place) + ': ' if place else ''}row rejected: {detail}"
        if len(self.samples) < LOGGED_REJECTIONS_PER_CALL:
            self.samples.append(message)
            log.warning("%s", message)  # its server-sent parts are escaped already

    def summarize(self, ctx: ParseContext) -> None:
        """One line for the rejections that were not logged in full (call once, at the end)."""
        hidden = self.count - len(self.samples)
        if hidden > 0:
            log.warning("%s: %d more rows rejected (not logged one by one)", ctx.subject, hidden)


def _location(loc: Sequence[int | str]) -> str | None:
    parts: list[str] = []
    for item in loc:
        parts.append(f"[{item}]" if isinstance(item, int) else ("." if parts else "") + item)
    return "".join(parts) or None


def describe_validation_error(exc: ValidationError) -> tuple[str, str | None]:
    """(message, field) for the first error: ``invalid field 'price': must be ... (got 7.5)``."""
    first = exc.errors(include_url=False)[0]
    name = _location(first["loc"])
    if first["type"] == "missing":
        detail = f"missing required field {name!r}"
    else:
        value = first.get("input")
        shown = f"'{escape(value, 60)}'" if isinstance(value, str) else escape(repr(value), 60)
        detail = f"invalid field {name!r}: {first['msg']} (got {shown})"
    more = exc.error_count() - 1
    if more:
        detail += f" (+{more} more error{'s' if more > 1 else ''})"
    return detail, name


def json_type(value: Any) -> str:
    """The JSON name of a decoded value's type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, dict):
        err = value.get("error")
        return f"object (error: {escape(repr(err), 120)})" if isinstance(err, str) else "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    return "number"


def validate_rows(
    ctx: ParseContext,
    model: type[M],
    rows: Any,
    rejections: Rejections,
    *,
    where: str | None = None,
    check: Callable[[M], str | None] | None = None,
) -> list[M]:
    """Validate a JSON array row by row; a bad row (or one ``check`` objects to) is rejected alone."""
    if not isinstance(rows, list):
        raise ctx.error(f"{where + ': ' if where else ''}expected a JSON array, got {json_type(rows)}")
    out: list[M] = []
    context = ctx.validation_context
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            rejections.reject(ctx, f"expected a JSON object, got {json_type(row)}", row=i)
            continue
        try:
            parsed = model.model_validate(row, context=context)
        except ValidationError as exc:
            rejections.reject(ctx, describe_validation_error(exc)[0], row=i)
            continue
        problem = check(parsed) if check is not None else None
        if problem:
            rejections.reject(ctx, problem, row=i)
            continue
        out.append(parsed)
    return out


def validate_object(ctx: ParseContext, model: type[M], body: Any, *, where: str | None = None) -> M:
    """Validate a structural JSON object (an envelope, a single market): any error raises."""
    prefix = where + ": " if where else ""
    if not isinstance(body, dict):
        raise ctx.error(f"{prefix}expected a JSON object, got {json_type(body)}")
    try:
        return model.model_validate(body, context=ctx.validation_context)
    except ValidationError as exc:
        detail, name = describe_validation_error(exc)
        raise ctx.error(prefix + detail, field=name) from exc


def wallet_check(wallet: str | None) -> Callable[[Any], str | None] | None:
    """For wallet-scoped calls: a row of another wallet is rejected (it would be stored as ours)."""
    if wallet is None:
        return None

    def check(row: Any) -> str | None:
        other = getattr(row, "wallet_address", None)
        if other is not None and other != wallet:
            return f"row belongs to wallet {other}, not to the wallet asked for"
        return None

    return check

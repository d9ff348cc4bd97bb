"""Shared field types and error reporting for the wire-format parsers.

The annotated types do the normalizing once (lower-case hex ids, epoch-second timestamps, ``""``
meaning absent), so the v1 and v2 parsers cannot drift apart on the same fill.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, TypeAdapter, ValidationError
from pydantic.alias_generators import to_camel

from polymarket_pipeline.api.errors import PayloadError
from polymarket_pipeline.domain.addresses import is_address

M = TypeVar("M", bound=BaseModel)

_MS_THRESHOLD = 100_000_000_000
"""Epoch values above this are milliseconds (year 5138 in seconds)."""
_UNKNOWN_DATE = date(1970, 1, 1)
"""v2 sends ``1970-01-01`` for "no end date"."""


@dataclass(frozen=True)
class ParseContext:
    """What a parse error must name: the route and, for wallet calls, the wallet."""

    route: str
    wallet: str | None = None

    def error(self, detail: str, *, field: str | None = None, retryable: bool = False) -> PayloadError:
        return PayloadError(detail, route=self.route, wallet=self.wallet, field=field, retryable=retryable)


class WireModel(BaseModel):
    """Base for snake_case payloads: unknown fields are ignored, instances are immutable."""

    model_config = ConfigDict(extra="ignore", frozen=True, allow_inf_nan=False)


class CamelWireModel(BaseModel):
    """Base for camelCase payloads (v1, Gamma): Python names map to ``proxyWallet`` etc."""

    model_config = ConfigDict(
        extra="ignore", frozen=True, allow_inf_nan=False, alias_generator=to_camel, populate_by_name=True
    )


# --- field normalizers -------------------------------------------------------------------------


def _strip_required(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # a token id sent as a JSON number
    if isinstance(value, str):
        value = value.strip()
        if not value:
            raise ValueError("must not be empty")
    return value


def _hex_id(value: Any) -> Any:
    value = _strip_required(value)
    return value.lower() if isinstance(value, str) else value


def _optional_hex_id(value: Any) -> Any:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return _hex_id(value)


def _address(value: Any) -> Any:
    value = _hex_id(value)
    if isinstance(value, str) and not is_address(value):
        raise ValueError("not a 0x-prefixed 40-hex-digit address")
    return value


def _empty_to_none(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _upper(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


def to_epoch_seconds(value: Any) -> Any:
    """Epoch seconds as int, from seconds, milliseconds, numeric strings or ISO-8601 strings."""
    if isinstance(value, bool):
        raise ValueError("expected a timestamp, got a boolean")
    if isinstance(value, str):
        text = value.strip()
        try:
            value = float(text)
        except ValueError:
            parsed = parse_datetime(text)
            if parsed is None:
                raise ValueError(f"unparseable timestamp {text!r}") from None
            return int(parsed.timestamp())
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise ValueError("timestamp is not finite")
        if value > _MS_THRESHOLD:
            value = value / 1000
        return int(value)
    return value


def parse_datetime(value: Any) -> datetime | None:
    """A timezone-aware UTC datetime from ISO-8601 variants (``Z``, ``+00``, date only); else None."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _lenient_date(value: Any) -> date | None:
    """Position end dates: ``YYYY-MM-DD`` or ISO; ``1970-01-01``, empty or junk mean unknown."""
    if isinstance(value, datetime):
        result: date | None = value.date()
    elif isinstance(value, date):
        result = value
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        try:
            result = date.fromisoformat(text[:10])
        except ValueError:
            parsed = parse_datetime(text)
            result = parsed.date() if parsed else None
    else:
        result = None
    return None if result == _UNKNOWN_DATE else result


def _lenient_datetime(value: Any) -> datetime | None:
    parsed = parse_datetime(value)
    return None if parsed is None or parsed.date() == _UNKNOWN_DATE else parsed


def _json_list(value: Any) -> Any:
    """Gamma encodes arrays as JSON strings (``"[\\"Yes\\", \\"No\\"]"``); accept both forms."""
    if value is None:
        return []
    if isinstance(value, str):
        if not value.strip():
            return []
        try:
            decoded = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not a JSON-encoded array: {exc.msg}") from None
        if not isinstance(decoded, list):
            raise ValueError("JSON-encoded value is not an array")
        return decoded
    return value


def _stringify_items(value: Any) -> Any:
    value = _json_list(value)
    if isinstance(value, list):
        return [str(v) if isinstance(v, int | float) and not isinstance(v, bool) else v for v in value]
    return value


def _false_if_none(value: Any) -> Any:
    return False if value is None else value


RequiredStr = Annotated[str, BeforeValidator(_strip_required)]
"""A non-empty string (token ids; JSON numbers are accepted and stringified)."""
HexId = Annotated[str, BeforeValidator(_hex_id)]
"""Condition ids and transaction hashes: compared case-insensitively, so stored lower-case."""
OptionalHexId = Annotated[str | None, BeforeValidator(_optional_hex_id)]
Address = Annotated[str, BeforeValidator(_address)]
"""A wallet: ``0x`` + 40 hex, lower-cased."""
OptionalStr = Annotated[str | None, BeforeValidator(_empty_to_none)]
"""Text where the API sends ``""`` for "not known" (unenriched titles, feed event slugs)."""
Timestamp = Annotated[int, BeforeValidator(to_epoch_seconds)]
TradeSide = Annotated[Literal["BUY", "SELL"], BeforeValidator(_upper)]
OptionalSide = Annotated[str | None, BeforeValidator(lambda v: _empty_to_none(_upper(v)))]
"""Activity sides: ``""`` on REDEEM/SPLIT/MERGE rows means none."""
LenientDate = Annotated[date | None, BeforeValidator(_lenient_date)]
LenientDatetime = Annotated[datetime | None, BeforeValidator(_lenient_datetime)]
Flag = Annotated[bool, BeforeValidator(_false_if_none)]
"""A boolean where null means false."""
JsonStrList = Annotated[list[str], BeforeValidator(_stringify_items)]
JsonFloatList = Annotated[list[float], BeforeValidator(_json_list)]


# --- validation helpers ------------------------------------------------------------------------


def _format_loc(loc: Sequence[int | str]) -> tuple[int | None, str | None]:
    """Split a pydantic error location into (row index, dotted field path)."""
    row: int | None = None
    parts: list[str] = []
    for i, item in enumerate(loc):
        if i == 0 and isinstance(item, int):
            row = item
        elif isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(("." if parts else "") + item)
    return row, "".join(parts) or None


def payload_error_from(
    ctx: ParseContext, exc: ValidationError, *, row_base: int = 0, where: str | None = None
) -> PayloadError:
    """A ``PayloadError`` naming the route, wallet, row and field of the first validation error."""
    first = exc.errors()[0]
    row, field = _format_loc(first["loc"])
    prefix = []
    if where:
        prefix.append(where)
    if row is not None:
        prefix.append(f"row {row + row_base}")
    if first["type"] == "missing":
        detail = f"missing required field {field!r}"
    else:
        shown = repr(first.get("input"))
        if len(shown) > 80:
            shown = shown[:77] + "..."
        detail = f"invalid field {field!r}: {first['msg']} (got {shown})"
    more = exc.error_count() - 1
    if more:
        detail += f" (+{more} more error{'s' if more > 1 else ''})"
    return ctx.error(": ".join([*prefix, detail]), field=field)


def validate_rows(
    ctx: ParseContext, adapter: TypeAdapter[list[M]], rows: Any, *, where: str | None = None
) -> list[M]:
    """Validate a JSON array of rows; any bad row fails the whole page with its index and field."""
    if not isinstance(rows, list):
        raise ctx.error(f"{where + ': ' if where else ''}expected a JSON array, got {json_type(rows)}")
    try:
        return adapter.validate_python(rows)
    except ValidationError as exc:
        raise payload_error_from(ctx, exc, where=where) from exc


def validate_one(ctx: ParseContext, model: type[M], body: Any, *, where: str | None = None) -> M:
    """Validate a single JSON object."""
    if not isinstance(body, dict):
        raise ctx.error(f"{where + ': ' if where else ''}expected a JSON object, got {json_type(body)}")
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise payload_error_from(ctx, exc, where=where) from exc


def json_type(value: Any) -> str:
    """The JSON name of a decoded value's type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, dict):
        err = value.get("error")
        return f"object (error: {err!r})" if isinstance(err, str) else "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    return "number"

"""Validated field types shared by every wire model (Data API v1 and v2, CLOB, Gamma).

Each type states one rule of what may enter the database, once, so no two parsers can disagree
on the same value: hex ids are ``0x`` + 64 hex and lower-cased, token ids are decimal strings,
numbers are JSON numbers (never strings such as ``"1e3"``) and finite, sizes and USDC amounts are
not negative, prices lie in [0, 1], timestamps fall between Polymarket's launch and a few minutes
from now, text is cleaned and cut to what the schema holds, and ``""`` means absent.

A value that breaks a rule fails validation of its *row*; the row is then rejected on its own
(see ``api.validation``). Rules that need the current time read it from the validation context
(``{"now": epoch_seconds}``), so tests can pin it.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AliasChoices,
    AliasGenerator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    StrictBool,
    ValidationInfo,
)
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from polymarket_pipeline.api import text

LAUNCH = int(datetime(2020, 6, 1, tzinfo=UTC).timestamp())
"""Polymarket's launch: nothing on the exchange is older."""
FUTURE_TOLERANCE_SECONDS = 300
"""Timestamps may run this far ahead of our clock (block times, clock skew); later ones are junk."""
MS_THRESHOLD = 100_000_000_000
"""Epoch values above this are milliseconds (year 5138 in seconds)."""
UNKNOWN_OUTCOME = 999
"""The API's "outcome could not be labeled"; read as None, like anything outside 0..998."""
UNKNOWN_DATE = date(1970, 1, 1)
"""v2 sends ``1970-01-01`` for "no end date"."""

TITLE_CHARS = 1000
SLUG_CHARS = 500
OUTCOME_CHARS = 200
NAME_CHARS = 200
"""Names, categories, tag labels, statuses."""
MAX_LIST_ITEMS = 200
"""Tags, outcomes and tokens per market: real markets have a handful."""

HEX_ID = re.compile(r"0x[0-9a-f]{64}")
_ADDRESS = re.compile(r"0x[0-9a-f]{40}")
_TOKEN_ID = re.compile(r"[0-9]{1,100}")
_CODE = re.compile(r"[A-Z_]{1,32}")
_DECIMAL = re.compile(r"-?[0-9]{1,40}(\.[0-9]{1,60})?")


def _fail(kind: str, message: str, value: Any = None) -> PydanticCustomError:
    return PydanticCustomError(kind, message, {"value": value})


def required(validate: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``validate``, except that an absent value (null, ``""``) fails instead of becoming None."""

    def validate_required(value: Any) -> Any:
        result = validate(value)
        if result is None:
            raise _fail("required", "must not be empty", value)
        return result

    return validate_required


class WireModel(BaseModel):
    """Base of every wire model: unknown fields ignored, immutable, NaN/inf refused."""

    model_config = ConfigDict(extra="ignore", frozen=True, allow_inf_nan=False)


def wire_config(aliases: Mapping[str, str | AliasChoices], *, camel: bool) -> ConfigDict:
    """A wire format's config: field ``x`` is read from ``aliases[x]``, else camelCase or as is.

    Wire models name their fields after the record; a version states only its spellings.
    """

    def alias(name: str) -> str | AliasChoices:
        return aliases.get(name, to_camel(name) if camel else name)

    return ConfigDict(alias_generator=AliasGenerator(validation_alias=alias))


# --- text ------------------------------------------------------------------------------------------


def _text(max_chars: int) -> Callable[[Any], str | None]:
    def validate(value: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            raise _fail("text_type", "must be a string", value)
        return text.clean(value, max_chars)

    return validate


Title = Annotated[str | None, BeforeValidator(_text(TITLE_CHARS))]
"""Titles and questions: cleaned, at most 1000 characters, ``""`` -> None."""
Slug = Annotated[str | None, BeforeValidator(_text(SLUG_CHARS))]
"""Slugs and event slugs (the unscoped feed sends ``""``: unknown)."""
Outcome = Annotated[str | None, BeforeValidator(_text(OUTCOME_CHARS))]
OutcomeLabel = Annotated[str, BeforeValidator(required(_text(OUTCOME_CHARS)))]
"""A market's outcome label (Gamma ``outcomes``): present, since token ids are matched by position."""
Name = Annotated[str | None, BeforeValidator(_text(NAME_CHARS))]
"""Names, categories, tag labels, statuses."""


# --- identifiers -----------------------------------------------------------------------------------


def _hex_id(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _fail("hex_id_type", "must be a string", value)
    stripped = value.strip().lower()
    if not stripped:
        return None
    if not HEX_ID.fullmatch(stripped):
        raise _fail("hex_id", "must be 0x followed by 64 hex digits", value)
    return stripped


def _address(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _fail("address_type", "must be a string", value)
    stripped = value.strip().lower()
    if not stripped:
        return None
    if not _ADDRESS.fullmatch(stripped):
        raise _fail("address", "must be 0x followed by 40 hex digits", value)
    return stripped


def _token_id(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # a token id sent as a JSON integer is still exact
    if not isinstance(value, str):
        raise _fail("token_id_type", "must be a decimal string", value)
    stripped = value.strip()
    if not stripped:
        return None
    if not _TOKEN_ID.fullmatch(stripped):
        raise _fail("token_id", "must be a decimal string of at most 100 digits", value)
    return stripped


HexId = Annotated[str, BeforeValidator(required(_hex_id))]
"""Condition ids and transaction hashes: ``0x`` + 64 hex, stored lower-case."""
OptionalHexId = Annotated[str | None, BeforeValidator(_hex_id)]
"""A condition id that may be absent: reward and rebate activity rows send ``""``."""
Address = Annotated[str, BeforeValidator(required(_address))]
"""A wallet: ``0x`` + 40 hex, lower-cased."""
OptionalAddress = Annotated[str | None, BeforeValidator(_address)]
TokenId = Annotated[str, BeforeValidator(required(_token_id))]
"""A CLOB token id: a decimal string of at most 100 digits (they are ~77)."""
OptionalTokenId = Annotated[str | None, BeforeValidator(_token_id)]
"""An asset that may be absent: neg-risk REDEEMs, rewards and rebates send ``""``."""


def _code(max_chars: int) -> Callable[[Any], str | None]:
    def validate(value: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            raise _fail("code_type", "must be a string", value)
        stripped = value.strip().upper()
        if not stripped:
            return None
        if len(stripped) > max_chars or not _CODE.fullmatch(stripped):
            raise _fail("code", f"must be 1-{max_chars} letters or underscores", value)
        return stripped

    return validate


Code = Annotated[str, BeforeValidator(required(_code(32)))]
"""An enum the API may extend (activity ``type``): upper-case letters and ``_``, at most 32."""
OptionalSide = Annotated[str | None, BeforeValidator(_code(8))]
"""Activity ``side``: ``""`` on REDEEM/SPLIT/MERGE rows means none; ``IN``/``OUT`` on TIPs."""


def _trade_side(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


TradeSide = Annotated[Literal["BUY", "SELL"], BeforeValidator(_trade_side)]


# --- numbers ---------------------------------------------------------------------------------------


def _number(value: Any) -> float | None:
    """A finite JSON number as float; strings (``"1e3"``), booleans and non-finite values fail."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail("number_type", "must be a JSON number", value)
    try:
        number = float(value)
    except OverflowError:
        raise _fail("number_finite", "must be finite", value) from None
    if not math.isfinite(number):
        raise _fail("number_finite", "must be finite", value)
    return number


def _non_negative(value: float | None) -> float | None:
    if value is not None and value < 0:
        raise _fail("non_negative", "must not be negative", value)
    return value


def _probability(value: float | None) -> float | None:
    if value is not None and not 0.0 <= value <= 1.0:
        raise _fail("probability", "must be between 0 and 1", value)
    return value


Number = Annotated[float, BeforeValidator(required(_number))]
"""Any finite JSON number (PnL may be negative)."""
OptionalNumber = Annotated[float | None, BeforeValidator(_number)]
Amount = Annotated[float, BeforeValidator(required(_number)), AfterValidator(_non_negative)]
"""Shares or USDC: finite and not negative."""
OptionalAmount = Annotated[float | None, BeforeValidator(_number), AfterValidator(_non_negative)]
Price = Annotated[float, BeforeValidator(required(_number)), AfterValidator(_probability)]
"""USDC per share: between 0 and 1."""
OptionalPrice = Annotated[float | None, BeforeValidator(_number), AfterValidator(_probability)]


def _decimal_text(value: Any) -> Any:
    """Gamma sends prices as decimal strings (``"0.5843311669077693146635445446077281"``)."""
    if isinstance(value, str):
        stripped = value.strip()
        if not _DECIMAL.fullmatch(stripped):
            raise _fail("decimal_text", "must be a plain decimal number", value)
        return float(stripped)
    return value


DecimalPrice = Annotated[
    float, BeforeValidator(required(_number)), BeforeValidator(_decimal_text), AfterValidator(_probability)
]
"""A price as a JSON number or a plain decimal string (Gamma); never ``"1e3"``, in [0, 1]."""


def _outcome_index(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail("outcome_index_type", "must be a JSON number", value)
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        return None
    index = int(value)
    return index if 0 <= index < UNKNOWN_OUTCOME else None


OutcomeIndex = Annotated[int | None, BeforeValidator(_outcome_index)]
"""0..998; the API's 999 ("could not be labeled") and anything else out of range are None."""


def _timestamp(value: Any, info: ValidationInfo) -> int:
    number = required(_number)(value)
    if number > MS_THRESHOLD:
        number /= 1000
    seconds = int(number)
    now = (info.context or {}).get("now")
    latest = (int(now) if now is not None else int(datetime.now(UTC).timestamp())) + FUTURE_TOLERANCE_SECONDS
    if not LAUNCH <= seconds <= latest:
        raise _fail(
            "timestamp_range", "must be between 2020-06-01 and 5 minutes from now (epoch s or ms)", value
        )
    return seconds


Timestamp = Annotated[int, BeforeValidator(_timestamp)]
"""Epoch seconds from seconds or milliseconds, between the launch and now + 5 minutes."""


# --- flags, dates, lists ---------------------------------------------------------------------------


def _flag(value: Any) -> Any:
    return False if value is None else value


Flag = Annotated[StrictBool, BeforeValidator(_flag)]
"""A boolean where null means false (strings and numbers fail)."""
OptionalFlag = StrictBool | None


def parse_datetime(value: Any) -> datetime | None:
    """A timezone-aware UTC datetime from ISO-8601 variants (``Z``, ``+00``, date only); else None."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if not isinstance(value, str) or not value.strip() or len(value) > 64:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _lenient_date(value: Any) -> date | None:
    """Position end dates: ``YYYY-MM-DD`` or ISO; ``1970-01-01``, empty or junk mean unknown."""
    result: date | None = None
    if isinstance(value, str) and value.strip() and len(value) <= 64:
        stripped = value.strip()
        try:
            result = date.fromisoformat(stripped[:10])
        except ValueError:
            parsed = parse_datetime(stripped)
            result = parsed.date() if parsed else None
    return None if result == UNKNOWN_DATE else result


def _lenient_datetime(value: Any) -> datetime | None:
    parsed = parse_datetime(value) if isinstance(value, str) else None
    return None if parsed is None or parsed.date() == UNKNOWN_DATE else parsed


LenientDate = Annotated[date | None, BeforeValidator(_lenient_date)]
LenientDatetime = Annotated[datetime | None, BeforeValidator(_lenient_datetime)]


def json_list(value: Any) -> Any:
    """Gamma encodes arrays as JSON strings (``"[\\"Yes\\", \\"No\\"]"``); accept both forms."""
    if value is None:
        return []
    if isinstance(value, str):
        if not value.strip():
            return []
        try:
            decoded = json.loads(value)
        except json.JSONDecodeError as exc:
            reason = exc.msg.replace("{", "(")  # braces would be read as message placeholders
            raise _fail("json_list", f"is not a JSON-encoded array ({reason})", value) from None
        if not isinstance(decoded, list):
            raise _fail("json_list", "JSON-encoded value is not an array", value)
        value = decoded
    if isinstance(value, list) and len(value) > MAX_LIST_ITEMS:
        raise _fail("list_length", f"has more than {MAX_LIST_ITEMS} items", len(value))
    return value


def _labels(value: Any) -> Any:
    """Tags as ``[{label, slug}, ...]`` or ``["Crypto", ...]`` -> cleaned labels, empty ones dropped."""
    value = json_list(value)
    if not isinstance(value, list):
        return value
    labels: list[str] = []
    for tag in value:
        if isinstance(tag, dict):
            tag = tag.get("label") or tag.get("slug")
        if isinstance(tag, str):
            label = text.clean(tag, NAME_CHARS)
            if label and label not in labels:
                labels.append(label)
        elif tag is not None:
            raise _fail("tag", "must be a string or an object with a label", tag)
    return labels


Labels = Annotated[list[str], BeforeValidator(_labels)]
"""Tag labels, from objects (``{label, slug}``) or strings, each cleaned, distinct, in order."""
OutcomeList = Annotated[list[OutcomeLabel], BeforeValidator(json_list)]
TokenIdList = Annotated[list[TokenId], BeforeValidator(json_list)]
PriceList = Annotated[list[DecimalPrice], BeforeValidator(json_list)]

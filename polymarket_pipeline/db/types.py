"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Context, Decimal, localcontext
from typing import Any

from sqlalchemy import DateTime, Numeric
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

_DECIMAL_CONTEXT = Context(prec=60)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes in Python on both dialects.

    SQLite has no timezone type and hands back naive values; storing UTC and re-attaching the
    zone on read keeps comparisons with ``datetime.now(UTC)`` correct everywhere.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given where a UTC timestamp is required")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class ExactDecimal(TypeDecorator[Decimal]):
    """Exact decimals (money, shares, prices) as ``NUMERIC(precision, scale)``.

    PostgreSQL stores and returns them exactly. SQLite has no decimal type: the value is stored
    as a binary double and read back through its shortest repr, which is exact for up to 15
    significant digits (USDC amounts below $10^9 at 6 decimals, every price at 12) and rounded to
    15 significant digits beyond. Values are quantized to ``scale`` both ways.
    """

    impl = Numeric
    cache_ok = True

    def __init__(self, precision: int, scale: int) -> None:
        super().__init__(precision=precision, scale=scale)
        self.precision = precision
        self.scale = scale
        self._quantum = Decimal(1).scaleb(-scale)

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "sqlite":  # floats both ways: SQLAlchemy's own conversion warns and rounds
            return dialect.type_descriptor(Numeric(self.precision, self.scale, asdecimal=False))
        return dialect.type_descriptor(Numeric(self.precision, self.scale))

    def _quantize(self, value: Decimal) -> Decimal:
        with localcontext(_DECIMAL_CONTEXT):
            return value.quantize(self._quantum, rounding=ROUND_HALF_EVEN)

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError(f"a binary float {value!r} given where an exact decimal is required")
        exact = self._quantize(Decimal(value))
        return float(exact) if dialect.name == "sqlite" else exact

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if isinstance(value, float):
            return self._quantize(Decimal(repr(value)))
        return self._quantize(Decimal(value))

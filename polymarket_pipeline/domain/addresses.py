"""Wallet address validation: addresses are stored lower-case, so every lookup agrees."""

from __future__ import annotations

import re

_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_CONDITION_ID = re.compile(r"^0x[0-9a-fA-F]{64}$")


class InvalidAddressError(ValueError):
    """A wallet address that is not ``0x`` followed by 40 hex digits."""

    def __init__(self, value: object) -> None:
        super().__init__(f"invalid wallet address {value!r}: expected 0x followed by 40 hex digits")
        self.value = value


def normalize_address(value: str) -> str:
    """Return the lower-case form of a valid address, or raise :class:`InvalidAddressError`."""
    if not isinstance(value, str) or not _ADDRESS.match(value.strip()):
        raise InvalidAddressError(value)
    return value.strip().lower()


def is_address(value: object) -> bool:
    return isinstance(value, str) and bool(_ADDRESS.match(value))


def is_condition_id(value: object) -> bool:
    return isinstance(value, str) and bool(_CONDITION_ID.match(value))

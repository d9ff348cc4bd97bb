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


def shard_of(address: str, shards: int) -> int:
    """The static shard (0 .. shards-1) of a wallet: its address as a number, modulo ``shards``.

    Addresses are uniformly random hex, so shards come out even, and a wallet never changes shard.
    """
    if shards < 1:
        raise ValueError(f"shards must be at least 1, got {shards}")
    return int(address.removeprefix("0x"), 16) % shards


def parse_shard(text: str) -> tuple[int, int]:
    """``"i/n"`` -> (i, n), validated: 0 <= i < n."""
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise ValueError(f"a shard is written i/n (e.g. 3/8), got {text!r}") from None
    if not 0 <= index < count:
        raise ValueError(f"shard {text!r} is out of range: need 0 <= i < n")
    return index, count

"""The simulator's state in one place: wallets, the catalogue, the tape, the book, the row counter.

The parts (settlement, activity, history) are plain functions over a ``World``; ``MarketModel``
wraps it with the lock, the random streams, the clock and the journal.
"""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass, field
from typing import Any

from polymarket_pipeline.simulator.catalog import Profile, make_profile
from polymarket_pipeline.simulator.config import SimulatorConfig
from polymarket_pipeline.simulator.markets import MarketCatalogue
from polymarket_pipeline.simulator.positions import Book
from polymarket_pipeline.simulator.tape import TapeStore


def new_hash(rng: random.Random) -> str:
    """A transaction hash: 0x + 64 hex."""
    return f"0x{rng.getrandbits(256):064x}"


def unit_draw(seq: int, salt: int) -> float:
    """A stable number in [0, 1) for a row, so a per-row coin flip never changes between servings."""
    return (zlib.crc32(f"{salt}:{seq}".encode()) & 0xFFFFFFFF) / 2**32


@dataclass
class World:
    config: SimulatorConfig
    catalogue: MarketCatalogue = field(default_factory=MarketCatalogue)
    tape: TapeStore = field(default_factory=TapeStore)
    book: Book = field(default_factory=Book)
    wallets: list[str] = field(default_factory=list)
    profiles: dict[str, Profile] = field(default_factory=dict)
    seq: int = 0
    conversions: list[dict[str, Any]] = field(default_factory=list)
    """Each CONVERSION with what its rows cannot show (the markets it fed and the collateral)."""

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def new_wallet(self, rng: random.Random) -> str:
        while True:
            address = f"0x{rng.getrandbits(160):040x}"
            if address not in self.profiles:
                break
        self._register(address, make_profile(rng, len(self.wallets)))
        return address

    @staticmethod
    def check_wallet(address: str) -> str:
        """A wallet address, normalized (lower case), or ValueError."""
        address = str(address).strip().lower()
        if len(address) != 42 or not address.startswith("0x"):
            raise ValueError(f"invalid wallet address {address!r}")
        try:
            int(address[2:], 16)
        except ValueError:
            raise ValueError(f"invalid wallet address {address!r}") from None
        return address

    def ensure_wallet(self, address: str) -> str:
        """A valid address, registered (with a profile derived from it) on first sight."""
        address = self.check_wallet(address)
        if address not in self.profiles:
            seed = int(address[2:], 16) ^ self.config.seed
            self._register(address, make_profile(random.Random(seed), len(self.wallets)))
        return address

    def _register(self, address: str, profile: Profile) -> None:
        self.wallets.append(address)
        self.profiles[address] = profile
        self.tape.register(address)
        self.book.register(address)

    def forget_wallets_after(self, count: int) -> None:
        """Undo registrations past the first ``count`` wallets (a change that failed half-way)."""
        while len(self.wallets) > count:
            address = self.wallets.pop()
            del self.profiles[address]
            del self.tape.wallet_fills[address]
            del self.tape.wallet_taker_fills[address]
            del self.tape.wallet_activity[address]
            self.book.forget(address)

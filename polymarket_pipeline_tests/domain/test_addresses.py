from __future__ import annotations

import pytest

from polymarket_pipeline.domain.addresses import InvalidAddressError, normalize_address, parse_shard, shard_of
from polymarket_pipeline_tests.support import random_wallets


def test_addresses_are_validated_and_lower_cased() -> None:
    assert normalize_address(" 0xABCDEF0123456789abcdef0123456789ABCDEF01 ") == (
        "0xabcdef0123456789abcdef0123456789abcdef01"
    )
    for bad in [
        "",
        "0x",
        "0x123",
        "abcdef0123456789abcdef0123456789abcdef01",
        "0x" + "g" * 40,
        "0x" + "a" * 41,
    ]:
        with pytest.raises(InvalidAddressError, match="invalid wallet address"):
            normalize_address(bad)


def test_shards_are_stable_even_and_validated() -> None:
    wallets = random_wallets(4000, seed=3)
    counts = [sum(1 for w in wallets if shard_of(w, 4) == i) for i in range(4)]
    assert sum(counts) == 4000
    assert min(counts) > 900  # even enough: 1,000 each expected
    assert shard_of(wallets[0], 4) == shard_of(wallets[0], 4)
    assert parse_shard("3/8") == (3, 8)
    for bad in ("8/8", "x/2", "1", "-1/2"):
        with pytest.raises(ValueError, match="shard"):
            parse_shard(bad)

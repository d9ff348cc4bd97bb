from __future__ import annotations

import pytest

from polymarket_pipeline.domain.addresses import InvalidAddressError, normalize_address


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

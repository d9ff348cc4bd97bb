from __future__ import annotations

from dataclasses import replace

from polymarket_pipeline.domain.activity import key_activity
from polymarket_pipeline.domain.fills import union_pages
from polymarket_pipeline.domain.records import Activity

W = "0x" + "a" * 40
REDEEM = Activity(
    wallet_address=W,
    type="REDEEM",
    timestamp=1784064509,
    condition_id="0x" + "e" * 64,
    transaction_hash="0x" + "0d" * 32,
    size=10980911.728675,
    usdc_size=10980911.728675,
    price=0.0,
)


def test_redeems_sharing_a_transaction_stay_distinct_rows() -> None:
    other_market = replace(REDEEM, condition_id="0x" + "2" * 64, size=5.0, usdc_size=0.0)
    keyed = key_activity([REDEEM, other_market])
    assert len({k.activity_id for k in keyed}) == 2


def test_rewards_without_a_market_are_keyed_and_repeats_across_pages_collapse() -> None:
    reward = Activity(
        wallet_address=W, type="REWARD", timestamp=1784075104, condition_id=None,
        transaction_hash="0x" + "42" * 32, size=3249.99909, usdc_size=3249.99909, price=0.0,
    )  # fmt: skip
    rows = union_pages([[reward, REDEEM], [REDEEM]])
    keyed = key_activity(rows)
    assert len(keyed) == 2
    assert (
        key_activity([reward])[0].activity_id == keyed[[k.activity for k in keyed].index(reward)].activity_id
    )

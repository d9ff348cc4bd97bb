"""Hand-written wire payloads shaped like the reference's examples (v1, v2, CLOB, Gamma).

Each builder returns a fresh dict, so a test can delete or null a field without affecting others.
The v1 and v2 builders describe the *same* fill / position, so their parses must be equal.
"""

from __future__ import annotations

import copy
from typing import Any

WALLET = "0x16bb9951a36fce71e2ef57890b786145e0ba8492"
WALLET_MIXED_CASE = "0x16BB9951A36FCE71E2EF57890B786145E0BA8492"
ASSET = "50439686646826559881210337175926663599989394468197167988269486206046406520312"
OPPOSITE_ASSET = "44914465637297319816681463234953032477919413063019359633128421605039733545953"
CONDITION = "0xad0785e454a8b0d96171b924ed7e1aa158ce87892ec81a44a0387cccdf92a3a7"
TX = "0x8dfb8e946cfcb9de7b089955e0bfc223e36fec6065d2d6806d4380a743fe3829"
TIMESTAMP = 1784326906


def v1_trade(**overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "proxyWallet": WALLET_MIXED_CASE,
        "side": "BUY",
        "asset": ASSET,
        "conditionId": CONDITION.upper().replace("0X", "0x"),
        "size": 40000,
        "price": 0.4899999951,
        "timestamp": TIMESTAMP,
        "title": "St. Louis Cardinals vs. Arizona Diamondbacks",
        "slug": "mlb-stl-ari-2026-07-17",
        "icon": "https://polymarket-upload.s3.us-east-2.amazonaws.com/Repetitive-markets/MLB.jpg",
        "eventSlug": "mlb-stl-ari-2026-07-17",
        "outcome": "St. Louis Cardinals",
        "outcomeIndex": 0,
        "name": "SDTrading",
        "pseudonym": "",
        "bio": "",
        "profileImage": "",
        "profileImageOptimized": "",
        "transactionHash": TX,
    }
    row.update(overrides)
    return row


def v2_trade(**overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "proxy_wallet": WALLET,
        "side": "BUY",
        "token_id": ASSET,
        "condition_id": CONDITION,
        "size": 40000.0,
        "price": 0.4899999951,
        "timestamp": TIMESTAMP,
        "title": "St. Louis Cardinals vs. Arizona Diamondbacks",
        "slug": "mlb-stl-ari-2026-07-17",
        "icon": "https://polymarket-upload.s3.us-east-2.amazonaws.com/Repetitive-markets/MLB.jpg",
        "event_slug": "mlb-stl-ari-2026-07-17",
        "outcome": "St. Louis Cardinals",
        "outcome_index": 0,
        "name": "SDTrading",
        "pseudonym": "",
        "bio": "",
        "profile_image": "",
        "profile_image_optimized": "",
        "transaction_hash": TX.upper().replace("0X", "0x"),
    }
    row.update(overrides)
    return row


def v2_envelope(data: Any, *, next_cursor: str | None = None, limit: int = 1000) -> dict[str, Any]:
    return {
        "data": copy.deepcopy(data),
        "pagination": {
            "limit": limit,
            "offset": 0,
            "has_more": next_cursor is not None,
            "next_cursor": next_cursor,
        },
    }


def v1_position(**overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "proxyWallet": WALLET,
        "asset": ASSET,
        "conditionId": CONDITION,
        "size": 241141.2997,
        "avgPrice": 0.3769,
        "initialValue": 90890.7375,
        "currentValue": 126599.1823,
        "cashPnl": 35708.4447,
        "percentPnl": 39.2872,
        "totalBought": 241141.2997,
        "realizedPnl": 0,
        "percentRealizedPnl": 39.2872,
        "curPrice": 0.525,
        "redeemable": False,
        "mergeable": False,
        "title": "Will the Oklahoma City Thunder win the 2026 NBA Finals?",
        "slug": "will-the-oklahoma-city-thunder-win-the-2026-nba-finals",
        "icon": "https://example.invalid/okc.png",
        "eventId": "27830",
        "eventSlug": "2026-nba-champion",
        "outcome": "Yes",
        "outcomeIndex": 0,
        "oppositeOutcome": "No",
        "oppositeAsset": OPPOSITE_ASSET,
        "endDate": "2026-07-01",
        "negativeRisk": True,
    }
    row.update(overrides)
    return row


def v2_position(**overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "proxy_wallet": WALLET,
        "token_id": ASSET,
        "condition_id": CONDITION,
        "current_size": 241141.2997,
        "avg_price": 0.3769,
        "entry_cost_usdc": 90890.7375,
        "entry_fees_usdc": 0.0,
        "total_cost_usdc": 90890.7375,
        "current_price": 0.525,
        "current_value": 126599.1823,
        "total_size": 241141.2997,
        "realized_pnl": 0.0,
        "unrealized_pnl": 35708.4447,
        "total_pnl": 35708.4447,
        "percent_pnl": 39.2872,
        "percent_realized_pnl": 39.2872,
        "status": "OPEN",
        "redeemable": False,
        "mergeable": False,
        "negative_risk": True,
        "archived": False,
        "title": "Will the Oklahoma City Thunder win the 2026 NBA Finals?",
        "slug": "will-the-oklahoma-city-thunder-win-the-2026-nba-finals",
        "icon": "https://example.invalid/okc.png",
        "event_id": "27830",
        "event_slug": "2026-nba-champion",
        "outcome": "Yes",
        "outcome_index": 0,
        "opposite_outcome": "No",
        "opposite_token_id": OPPOSITE_ASSET,
        "end_date": "2026-07-01",
        "last_event_at": 1784326906,
        "first_entry_at": 1780000000,
        "name": "SDTrading",
        "profile_image": "",
        "verified": False,
    }
    row.update(overrides)
    return row


REDEEM_TX = "0x5dceb505251b9bf70cf9cd796b5a6f0de5f6850497af7d48b72decd886d86662"


def v1_activity_redeem(**overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "proxyWallet": WALLET,
        "timestamp": 1788636762,
        "conditionId": CONDITION,
        "type": "REDEEM",
        "size": 100,
        "usdcSize": 0,
        "transactionHash": REDEEM_TX,
        "price": 0,
        "asset": "",
        "side": "",
        "outcomeIndex": 999,
        "title": "Will MrBeast's next video get at least 40 million views on day 1?",
        "slug": "will-mrbeasts-next-video",
        "icon": "https://example.invalid/mrbeast.png",
        "eventSlug": "of-views-of-next-mrbeast-video-on-day-1-20260905",
        "outcome": "",
        "name": "balthazar",
        "pseudonym": "Sparse-Cookie",
        "bio": "gg",
        "profileImage": "https://example.invalid/p.png",
        "profileImageOptimized": "",
    }
    row.update(overrides)
    return row


def v2_activity_redeem(**overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "proxy_wallet": WALLET,
        "timestamp": 1788636762,
        "condition_id": CONDITION,
        "type": "REDEEM",
        "size": 100.0,
        "usdc_size": 0.0,
        "transaction_hash": REDEEM_TX,
        "price": 0.0,
        "token_id": "",
        "side": "",
        "outcome_index": 999,
        "title": "Will MrBeast's next video get at least 40 million views on day 1?",
        "slug": "will-mrbeasts-next-video",
        "icon": "https://example.invalid/mrbeast.png",
        "event_slug": "of-views-of-next-mrbeast-video-on-day-1-20260905",
        "outcome": "",
        "name": "balthazar",
        "pseudonym": "Sparse-Cookie",
        "bio": "gg",
        "profile_image": "https://example.invalid/p.png",
        "profile_image_optimized": "",
    }
    row.update(overrides)
    return row


def v1_value(value: float | None = 126599.1823) -> list[dict[str, Any]]:
    return [{"user": WALLET, "value": value}]


def v2_value(value: float | None = 126599.1823) -> dict[str, Any]:
    return {"data": {"proxy_wallet": WALLET, "value": value}}


CLOB_CONDITION = "0x8ccc3f4951ff02c1d34b87988752b4444ad17228732780a6cf22afefe8478bb6"
CLOB_YES = "108872296183993054938831082799825620165440189659433018108548854929333464287226"
CLOB_NO = "89711174926330519158043401581181146613785179104141808554061413232025882707365"


def clob_resolved_market(**overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "accepting_order_timestamp": "2026-02-27T23:33:23Z",
        "accepting_orders": False,
        "active": True,
        "archived": False,
        "closed": True,
        "condition_id": CLOB_CONDITION,
        "enable_order_book": False,
        "end_date_iso": "2028-01-01T00:00:00Z",
        "fpmm": "",
        "game_start_time": None,
        "is_50_50_outcome": False,
        "maker_base_fee": 0,
        "market_slug": "katana-fdv-above-1b-one-day-after-launch-395-996",
        "minimum_order_size": 5,
        "minimum_tick_size": 0.001,
        "neg_risk": False,
        "neg_risk_market_id": "",
        "question": "Katana FDV above $1B one day after launch?",
        "question_id": "0xd2f779abf76c499ddd1114924e69d384691dd8eb23b255b98b5273593068c88e",
        "rewards": {"max_spread": 4.5, "min_size": 50, "rates": None},
        "seconds_delay": 0,
        "tags": ["Crypto", "FDV", "Pre-Market", "Katana"],
        "taker_base_fee": 0,
        "tokens": [
            {"outcome": "Yes", "price": 0, "token_id": CLOB_YES, "winner": False},
            {"outcome": "No", "price": 1, "token_id": CLOB_NO, "winner": True},
        ],
    }
    row.update(overrides)
    return row


def gamma_market(**overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": "540817",
        "question": "Katana FDV above $1B one day after launch?",
        "conditionId": CLOB_CONDITION,
        "slug": "katana-fdv-above-1b-one-day-after-launch-395-996",
        "endDate": "2028-01-01T00:00:00Z",
        "category": None,
        "outcomes": '["Yes", "No"]',
        "outcomePrices": '["0", "1"]',
        "clobTokenIds": f'["{CLOB_YES}", "{CLOB_NO}"]',
        "active": True,
        "closed": True,
        "umaResolutionStatus": "resolved",
        "umaResolutionStatuses": '["proposed"]',
        "closedTime": "2026-03-19 23:20:15+00",
        "acceptingOrders": False,
        "negRisk": False,
        "submitted_by": "0x91430CaD2d3975766499717fA0D66A78D814E5c5",
        "approved": True,
        "holdingRewardsEnabled": False,
        "feeType": None,
        "requiresTranslation": False,
        "events": [{"id": "1", "slug": "katana", "category": "Crypto"}],
        "tags": [
            {"id": "21", "label": "Crypto", "slug": "crypto"},
            {"id": "99", "label": "FDV", "slug": "fdv"},
        ],
    }
    row.update(overrides)
    return row

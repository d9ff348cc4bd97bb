"""Bounds through real HTTP, against a tiny local server that misbehaves on purpose.

The simulator cannot (yet) serve an endless body, a multi-megabyte error page or a hostile row,
so these use a stdlib ``ThreadingHTTPServer`` on a loopback port: the client's socket, httpx's
stream and our bounded reader are all real; only the server's answers are scripted.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from polymarket_pipeline.api import ApiHTTPError, ClientSettings, PayloadError, PolymarketClient
from polymarket_pipeline_tests.api import payloads as p

Script = Callable[[BaseHTTPRequestHandler], None]


class LocalServer:
    """Answers every GET with ``script``; counts the bytes it managed to send."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.sent = 0
        self.requests: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def do_GET(self) -> None:
                outer.requests.append(self.path)
                # the client hanging up mid-body is what a bounded reader should do
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    outer.script(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def write(self, handler: BaseHTTPRequestHandler, data: bytes) -> None:
        handler.wfile.write(data)
        self.sent += len(data)

    def __enter__(self) -> LocalServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def serve() -> Iterator[Callable[[Script], LocalServer]]:
    servers: list[LocalServer] = []

    def start(script: Script) -> LocalServer:
        server = LocalServer(script)
        servers.append(server.__enter__())
        return server

    yield start
    for server in servers:
        server.__exit__()


def client_for(server: LocalServer, **overrides: Any) -> PolymarketClient:
    values: dict[str, Any] = {
        "data_api_url": server.url,
        "rate_limit": 1000.0,
        "burst": 100,
        "wallet_cooldown_seconds": 0.0,
        "backoff_base_seconds": 0.01,
        "max_retries": 1,
        "read_timeout_seconds": 5.0,
    }
    values.update(overrides)
    return PolymarketClient(ClientSettings(**values))


def headers(handler: BaseHTTPRequestHandler, status: int, **extra: str) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    for name, value in extra.items():
        handler.send_header(name.replace("_", "-"), value)
    handler.end_headers()


def test_endless_body_is_cut_at_the_limit(serve: Callable[[Script], LocalServer]) -> None:
    def endless(handler: BaseHTTPRequestHandler) -> None:
        headers(handler, 200)
        server.write(handler, b'{"data": [')
        while server.sent < 300 << 20:  # a 300 MB answer, if nobody stops it
            server.write(handler, b" " * (64 << 10))

    server = serve(endless)

    async def go() -> None:
        async with client_for(server, max_response_bytes=2 << 20) as client:
            await client.fetch_value(p.WALLET)

    with pytest.raises(PayloadError, match=r"exceeds max_response_bytes \(2097152 bytes\)") as info:
        asyncio.run(go())
    assert info.value.retryable is False
    assert len(server.requests) == 1  # not retried
    assert server.sent < 40 << 20  # the socket was closed long before 300 MB


def test_gzip_bomb_over_http_is_bounded(serve: Callable[[Script], LocalServer]) -> None:
    bomb = gzip.compress(b"[" + b" " * (128 << 20) + b"]")

    def script(handler: BaseHTTPRequestHandler) -> None:
        headers(handler, 200, Content_Encoding="gzip", Content_Length=str(len(bomb)))
        server.write(handler, bomb)

    server = serve(script)

    async def go() -> None:
        async with client_for(server, max_response_bytes=1 << 20) as client:
            await client.fetch_value(p.WALLET)

    with pytest.raises(PayloadError, match="exceeds max_response_bytes"):
        asyncio.run(go())


def test_megabytes_of_ansi_error_text_become_one_short_escaped_line(
    serve: Callable[[Script], LocalServer],
) -> None:
    forged = "\x1b[2J\x1b[31mpwned\n2026-11-30 12:00:00 +0000 - dagster - ERROR - forged\n" * 100_000

    def script(handler: BaseHTTPRequestHandler) -> None:
        headers(handler, 500)
        server.write(handler, json.dumps({"error": forged}).encode())

    server = serve(script)

    async def go() -> None:
        async with client_for(server) as client:
            await client.fetch_value(p.WALLET)

    with pytest.raises(ApiHTTPError) as info:
        asyncio.run(go())
    message = str(info.value)
    assert "\x1b" not in message
    assert "\n" not in message
    assert len(info.value.server_message or "") <= 301
    assert message.startswith(f"GET /v2/value for wallet {p.WALLET}: HTTP 500: \\x1b[2J\\x1b[31mpwned\\n2026")
    assert len(server.requests) == 2  # a 500 is retried (max_retries=1)


def test_a_hostile_row_over_http_is_rejected_alone(serve: Callable[[Script], LocalServer]) -> None:
    rows = [
        p.v2_trade(timestamp=1_780_000_003, transaction_hash="0x" + "1" * 64),
        p.v2_trade(timestamp=1_780_000_002, size="1e3"),
        p.v2_trade(timestamp=99999999999999999),
        p.v2_trade(timestamp=1_780_000_001, condition_id="0x" + "a" * 80),
        p.v2_trade(timestamp=1_780_000_000, title="nul\x00here"),
    ]

    def script(handler: BaseHTTPRequestHandler) -> None:
        body = json.dumps(p.v2_envelope(rows)).encode()
        headers(handler, 200, Content_Length=str(len(body)))
        server.write(handler, body)

    server = serve(script)

    async def go() -> Any:
        async with client_for(server) as client:
            return await client.fetch_wallet_trades(p.WALLET), client.stats

    history, stats = asyncio.run(go())
    assert [f.timestamp for f in history.fills] == [1_780_000_003, 1_780_000_000]
    assert history.fills[1].title == "nulhere"
    assert history.rejected == 3
    assert stats.rows_rejected == 3

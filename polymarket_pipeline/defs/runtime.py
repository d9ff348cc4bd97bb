"""Running async sweeps inside Dagster ops, with a graceful stop on SIGTERM/SIGINT.

The first signal asks the sweep to stop starting wallets: the wallets in hand finish and commit
(or, after a grace period, are abandoned with nothing half-written), then the op raises Dagster's
interrupt error so the run ends as canceled with every committed cursor intact.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from dagster._core.errors import DagsterExecutionInterruptedError

T = TypeVar("T")

DEFAULT_GRACE_SECONDS = 30.0


def run_stoppable(
    main: Callable[[asyncio.Event], Awaitable[T]],
    *,
    grace_seconds: float = DEFAULT_GRACE_SECONDS,
    on_signal: Callable[[str], None] | None = None,
) -> T:
    """Run ``main(stop)`` to completion; a signal sets ``stop`` and, after the sweep, interrupts."""
    received: list[str] = []

    async def runner() -> T:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        task = asyncio.ensure_future(main(stop))

        def handle(name: str) -> None:
            received.append(name)
            if on_signal:
                on_signal(name)
            if not stop.is_set():
                stop.set()
                loop.call_later(grace_seconds, task.cancel)
            else:  # a second signal: abandon the wallets in hand now
                task.cancel()

        installed = _install(loop, handle)
        try:
            return await task
        finally:
            _restore(loop, installed)

    try:
        result = asyncio.run(runner())
    except asyncio.CancelledError:
        raise DagsterExecutionInterruptedError() from None
    if received:
        raise DagsterExecutionInterruptedError()
    return result


def _install(loop: asyncio.AbstractEventLoop, handle: Callable[[str], None]) -> dict[int, Any]:
    if threading.current_thread() is not threading.main_thread():
        return {}
    saved: dict[int, Any] = {}
    for sig in (signal.SIGTERM, signal.SIGINT):
        saved[sig] = signal.getsignal(sig)
        loop.add_signal_handler(sig, handle, sig.name)
    return saved


def _restore(loop: asyncio.AbstractEventLoop, saved: dict[int, Any]) -> None:
    for sig, previous in saved.items():
        loop.remove_signal_handler(sig)
        signal.signal(sig, previous)

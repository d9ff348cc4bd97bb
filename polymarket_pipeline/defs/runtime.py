"""Running async sweeps inside Dagster ops, with a graceful stop on SIGTERM/SIGINT or Terminate.

The first signal asks the sweep to stop starting wallets: the wallets in hand finish and commit
(or, after a grace period, are abandoned with nothing half-written), then the op raises Dagster's
interrupt error so the run ends as canceled with every committed cursor intact. A run marked
CANCELING (the UI's Terminate, when the webserver cannot reach the container to signal it) is
noticed within ``CANCEL_POLL_SECONDS`` and stopped the same way.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from dagster import DagsterExecutionInterruptedError

T = TypeVar("T")

DEFAULT_GRACE_SECONDS = 30.0
CANCEL_POLL_SECONDS = 5.0


def run_stoppable(
    main: Callable[[asyncio.Event], Awaitable[T]],
    *,
    grace_seconds: float = DEFAULT_GRACE_SECONDS,
    on_signal: Callable[[str], None] | None = None,
    cancel_requested: Callable[[], bool] | None = None,
) -> T:
    """Run ``main(stop)`` to completion; a signal (or ``cancel_requested()`` turning true) sets
    ``stop`` and, after the sweep, interrupts."""
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
        watcher = asyncio.ensure_future(_watch(cancel_requested, handle)) if cancel_requested else None
        try:
            return await task
        finally:
            if watcher is not None:
                watcher.cancel()
            _restore(loop, installed)

    try:
        result = asyncio.run(runner())
    except asyncio.CancelledError:
        raise DagsterExecutionInterruptedError() from None
    if received:
        raise DagsterExecutionInterruptedError()
    return result


async def _watch(cancel_requested: Callable[[], bool], handle: Callable[[str], None]) -> None:
    while True:
        await asyncio.sleep(CANCEL_POLL_SECONDS)
        if await asyncio.to_thread(cancel_requested):
            handle("Terminate")
            return


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

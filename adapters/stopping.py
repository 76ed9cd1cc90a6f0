"""Ctrl-C and SIGTERM for the long-running commands: the first stops planbot gracefully (every
`finally` runs: servers close, the database is let go), a second forces the exit at once."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Coroutine
from typing import Any

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def run_until_stopped(main: Coroutine[Any, Any, None]) -> None:
    """Run `main` to its end or until a stop signal, which cancels it; without a traceback."""
    asyncio.run(_until_stopped(main))


async def _until_stopped(main: Coroutine[Any, Any, None]) -> None:
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    stopping = False

    def on_signal(signum: int) -> None:
        nonlocal stopping
        if stopping:
            print("planbot: forced to stop", file=sys.stderr, flush=True)
            os._exit(128 + signum)
        stopping = True
        print("planbot: stopping (Ctrl-C again to force)", file=sys.stderr, flush=True)
        task.cancel()

    # Kept until the loop closes, so that a second signal still forces while it winds down.
    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, on_signal, signum)
    try:
        await main
    except asyncio.CancelledError:
        if not stopping:
            raise
        task.uncancel()

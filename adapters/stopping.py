"""Ctrl-C and SIGTERM for the long-running commands: the first stops planbot gracefully (every
`finally` runs: servers close, the database is let go), a second forces the exit at once."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Coroutine, Iterator
from typing import Any

import uvicorn

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Server(uvicorn.Server):
    """uvicorn leaving the stop signals to `run_until_stopped`: stop it with `should_exit`."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def run_until_stopped(main: Coroutine[Any, Any, None]) -> None:
    """Run `main` to its end or until a stop signal, which cancels it; without a traceback."""
    asyncio.run(_until_stopped(main))


def _serving(signum: int) -> uvicorn.Server | None:
    """A plain uvicorn server whose own handler has the signal while it serves: it stops by
    itself, then raises the signal again once it has stopped."""
    server = getattr(signal.getsignal(signum), "__self__", None)
    return server if isinstance(server, uvicorn.Server) else None


async def _until_stopped(main: Coroutine[Any, Any, None]) -> None:
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    stopping = False
    echoes = 0

    def on_signal(signum: int) -> None:
        nonlocal stopping, echoes
        server = _serving(signum)
        if server is None and echoes:
            echoes -= 1  # uvicorn passing on the signal it has stopped for
            return
        if stopping:
            print("planbot: forced to stop", file=sys.stderr, flush=True)
            os._exit(128 + signum)
        stopping = True
        print("planbot: stopping (Ctrl-C again to force)", file=sys.stderr, flush=True)
        if server is None:
            task.cancel()
        else:
            # Cancelling would cut its shutdown short: let it finish serving, then go on.
            server.should_exit = True
            echoes += 1

    # Kept until the loop closes, so that a second signal still forces while it winds down.
    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, on_signal, signum)
    try:
        await main
    except asyncio.CancelledError:
        if not stopping:
            raise
        task.uncancel()

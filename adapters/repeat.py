"""Background jobs that run every few seconds for the life of the process (notice delivery,
the sweep): a failure is logged and the job tried again next time, never left dead."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger("planbot")


async def repeat(job: Callable[[], Awaitable[object]], every: float, what: str) -> None:
    """Run `job`, wait `every` seconds, and again, until cancelled."""
    while True:
        try:
            await job()
        except Exception:
            log.exception("%s failed; trying again in %s s", what, every)
        await asyncio.sleep(every)

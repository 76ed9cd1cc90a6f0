"""`planbot run`: migrate, then keep the time-driven sweep running until interrupted."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys

from adapters.settings import Settings, load_settings
from adapters.wiring import build_context
from core.clock import format_iso
from core.migrate import upgrade
from core.services.sweep import sweep

log = logging.getLogger("planbot")
SWEEP_EVERY_SECONDS = 60


def announce(settings: Settings) -> None:
    """Say what is running, and say loudly when the clock is frozen."""
    if settings.PLANBOT_CLOCK is not None:
        print(
            f"PLANBOT_CLOCK is set: planbot's clock is frozen at "
            f"{format_iso(settings.PLANBOT_CLOCK)}",
            file=sys.stderr,
        )
    print(f"planbot: database {settings.DATABASE_URL}", file=sys.stderr)


async def sweep_forever(settings: Settings) -> None:
    ctx = build_context(settings)
    try:
        while True:
            report = await sweep(ctx)
            if report.counts:
                log.info("sweep: %s", dict(report.counts))
            await asyncio.sleep(SWEEP_EVERY_SECONDS)
    finally:
        await ctx.db.dispose()


def run() -> int:
    settings = load_settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    upgrade(settings.DATABASE_URL)
    announce(settings)
    print("planbot: the sweep runs every minute; press Ctrl-C to stop", file=sys.stderr)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(sweep_forever(settings))
    return 0

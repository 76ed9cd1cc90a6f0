"""One process, every configured platform: each adds its routes to the one web app, its
start and stop steps, and its background jobs; Slack and Telegram run side by side."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.routing import BaseRoute

from adapters.repeat import repeat
from adapters.settings import Settings
from adapters.web import create_app
from adapters.wiring import payment_routes
from core.services.context import Context

log = logging.getLogger("planbot")
Step = Callable[[], Awaitable[Any]]


@dataclass
class Launch:
    """What one platform adds to the process."""

    name: str
    routes: list[BaseRoute] = field(default_factory=list)
    start: list[Step] = field(default_factory=list)
    stop: list[Step] = field(default_factory=list)
    jobs: list[tuple[Step, float]] = field(default_factory=list)
    """Run every so many seconds for the life of the process (notice delivery, the sweep)."""
    banner: str = ""


def web_routes(ctx: Context, settings: Settings, launches: Sequence[Launch]) -> list[BaseRoute]:
    return [*(r for launch in launches for r in launch.routes), *payment_routes(ctx, settings)]


async def start_all(launches: Sequence[Launch]) -> list[asyncio.Task[None]]:
    """Start every platform in order, then their background jobs."""
    for launch in launches:
        for step in launch.start:
            await step()
    return [
        asyncio.create_task(repeat(job, every, f"{launch.name} job"))
        for launch in launches
        for job, every in launch.jobs
    ]


async def stop_all(launches: Sequence[Launch], jobs: Sequence[asyncio.Task[None]]) -> None:
    """Cancel the jobs, then stop the platforms in reverse order, each whatever the others do."""
    for task in jobs:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    for launch in reversed(launches):
        for step in launch.stop:
            try:
                await step()
            except Exception:
                log.exception("stopping %s failed", launch.name)


async def run_launches(
    ctx: Context, settings: Settings, launches: Sequence[Launch], *, quiet: bool = True
) -> None:
    """The web app with every platform's routes, until interrupted."""
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(ctx, routes=web_routes(ctx, settings, launches)),
            host=settings.PLANBOT_HOST,
            port=settings.PLANBOT_PORT,
            log_level="warning" if quiet else "info",
        )
    )
    jobs: list[asyncio.Task[None]] = []
    try:
        jobs = await start_all(launches)
        for launch in launches:
            if launch.banner:
                print(launch.banner, flush=True)
        print(f"Payment links open {settings.public_url}. Stop with Ctrl-C.", flush=True)
        await server.serve()
    finally:
        await stop_all(launches, jobs)

"""One process, every configured platform: each adds its routes to the one web app, its
start and stop steps, and its background jobs; Slack and Telegram run side by side.

A platform starts in a task of its own: a step that fails (its API cannot be reached) is
retried with backoff while the web app serves everything else, and the platform's routes
and jobs wait until it is ready. Stopping cancels a start still retrying."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.routing import BaseRoute

from adapters.readiness import Gated, Readiness
from adapters.repeat import Backoff, Sleep, keep_trying, repeat
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
    secrets: tuple[str, ...] = ()
    """Hidden from the start-up errors logged and shown by /readyz (a token in a URL)."""

    @property
    def key(self) -> str:
        """The platform's name in /readyz."""
        return self.name.lower()


def web_routes(ctx: Context, settings: Settings, launches: Sequence[Launch]) -> list[BaseRoute]:
    return [*(r for launch in launches for r in launch.routes), *payment_routes(ctx, settings)]


def expected(launches: Sequence[Launch]) -> Readiness:
    """Every platform with start-up steps, not started yet."""
    return Readiness(launch.key for launch in launches if launch.start)


def serving_app(
    ctx: Context, settings: Settings, launches: Sequence[Launch], readiness: Readiness
) -> Starlette:
    """The web app at once: each platform's routes answer 503 until it is ready, the others
    (the payment webhooks, the probes) as usual; /readyz reports `readiness`."""
    gated: list[BaseRoute] = [
        _gated(route, readiness, launch.key) for launch in launches for route in launch.routes
    ]
    app = create_app(ctx, routes=[*gated, *payment_routes(ctx, settings)])
    app.state.readiness = readiness
    return app


def _gated(route: BaseRoute, readiness: Readiness, key: str) -> Gated:
    return Gated(route, lambda: readiness.is_ready(key))


async def bring_up(launch: Launch, readiness: Readiness, *, backoff: Backoff, sleep: Sleep) -> None:
    """Run the start steps in order, each until it succeeds; then the jobs, until cancelled."""
    for step in launch.start:
        attempts = await keep_trying(
            step,
            f"starting {launch.name}",
            backoff=backoff,
            sleep=sleep,
            failed=lambda attempt, error: readiness.failed(launch.key, attempt, error),
            secrets=launch.secrets,
        )
        if attempts > 1:
            log.info("%s started after %d attempts", launch.name, attempts)
    if launch.start:
        readiness.ready(launch.key)
        if launch.banner:
            print(launch.banner, flush=True)
    async with asyncio.TaskGroup() as jobs:
        for job, every in launch.jobs:
            jobs.create_task(repeat(job, every, f"{launch.name} job"))


async def start_all(
    launches: Sequence[Launch],
    readiness: Readiness | None = None,
    *,
    backoff: Backoff | None = None,
    sleep: Sleep = asyncio.sleep,
) -> list[asyncio.Task[None]]:
    """Start every platform side by side in the background, each then running its jobs;
    returns at once with their tasks, for `stop_all`."""
    readiness = readiness if readiness is not None else expected(launches)
    for launch in launches:
        if launch.start:
            readiness.expect(launch.key)
    return [
        asyncio.create_task(
            bring_up(launch, readiness, backoff=backoff or Backoff(), sleep=sleep),
            name=f"start {launch.name}",
        )
        for launch in launches
    ]


async def stop_all(launches: Sequence[Launch], tasks: Sequence[asyncio.Task[None]]) -> None:
    """Cancel the start-ups still retrying and the jobs, then stop the platforms in reverse
    order, each whatever the others do."""
    for task in tasks:
        task.cancel()
    for task in tasks:
        try:
            await task
        except asyncio.CancelledError:
            if not task.cancelled():
                raise  # stop_all itself is being cancelled
        except Exception:
            log.exception("%s ended with an error", task.get_name())
    for launch in reversed(launches):
        for step in launch.stop:
            try:
                await step()
            except Exception:
                log.exception("stopping %s failed", launch.name)


async def run_launches(
    ctx: Context, settings: Settings, launches: Sequence[Launch], *, quiet: bool = True
) -> None:
    """The web app with every platform's routes, until interrupted; platforms start behind it."""
    readiness = expected(launches)
    server = uvicorn.Server(
        uvicorn.Config(
            serving_app(ctx, settings, launches, readiness),
            host=settings.PLANBOT_HOST,
            port=settings.PLANBOT_PORT,
            log_level="warning" if quiet else "info",
        )
    )
    tasks: list[asyncio.Task[None]] = []
    try:
        tasks = await start_all(launches, readiness)
        for launch in launches:
            if launch.banner and not launch.start:
                print(launch.banner, flush=True)
        print(f"Payment links open {settings.public_url}. Stop with Ctrl-C.", flush=True)
        await server.serve()
    finally:
        await stop_all(launches, tasks)

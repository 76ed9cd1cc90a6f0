"""Which platforms have started, for /readyz and for their own routes: a platform whose API
could not be reached at start is retried in the background while the web app serves the
others, and its routes answer 503 until it is ready."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Match
from starlette.types import Receive, Scope, Send

from core.clock import format_iso

STARTING, RETRYING, READY = "starting", "retrying", "ready"
RETRY_AFTER_SECONDS = 5


def wall_clock() -> datetime:
    """Real time even when PLANBOT_CLOCK freezes planbot's clock: an operator reads it."""
    return datetime.now(UTC)


@dataclass
class PlatformState:
    state: str
    since: datetime
    attempts: int = 0
    last_error: str | None = None
    up: asyncio.Event = field(default_factory=asyncio.Event)

    def as_json(self) -> dict[str, Any]:
        shown: dict[str, Any] = {"state": self.state, "since": format_iso(self.since)}
        if self.attempts:
            shown["attempts"] = self.attempts
        if self.last_error is not None:
            shown["last_error"] = self.last_error
        return shown


class Readiness:
    """Each platform's start-up state: starting, retrying (with the attempts and the last
    error) or ready, each since when."""

    def __init__(
        self, platforms: Iterable[str] = (), *, clock: Callable[[], datetime] = wall_clock
    ) -> None:
        self.clock = clock
        self.platforms: dict[str, PlatformState] = {}
        for name in platforms:
            self.expect(name)

    def expect(self, name: str) -> None:
        """A platform that is configured and not started yet."""
        self.platforms.setdefault(name, PlatformState(STARTING, self.clock()))

    def failed(self, name: str, attempt: int, error: str) -> None:
        platform = self.platforms[name]
        if platform.state != RETRYING:
            platform.state, platform.since = RETRYING, self.clock()
        platform.attempts, platform.last_error = attempt, error

    def ready(self, name: str) -> None:
        platform = self.platforms[name]
        platform.state, platform.since = READY, self.clock()
        platform.attempts, platform.last_error = 0, None
        platform.up.set()

    def is_ready(self, name: str) -> bool:
        platform = self.platforms.get(name)
        return platform is None or platform.state == READY

    @property
    def all_ready(self) -> bool:
        return all(p.state == READY for p in self.platforms.values())

    def as_json(self) -> dict[str, Any]:
        return {name: platform.as_json() for name, platform in self.platforms.items()}


def readyz_response(database_ready: bool, readiness: Readiness | None) -> Response:
    """/readyz: the database's and each platform's state as JSON, 200 only when all are ready."""
    platforms = readiness if readiness is not None else Readiness()
    database: dict[str, str] = {"state": READY}
    if not database_ready:
        database = {"state": "unavailable", "error": "the database does not answer"}
    return JSONResponse(
        {"database": database, "platforms": platforms.as_json()},
        status_code=200 if database_ready and platforms.all_ready else 503,
        headers={"Cache-Control": "no-store"},
    )


class Gated(BaseRoute):
    """A platform's route that answers 503 with Retry-After until the platform is ready."""

    def __init__(self, route: BaseRoute, ready: Callable[[], bool]) -> None:
        self.route, self.ready = route, ready

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        return self.route.matches(scope)

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        return self.route.url_path_for(name, **path_params)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.ready():
            await self.route.handle(scope, receive, send)
            return
        response = PlainTextResponse(
            "starting: not ready yet, try again shortly",
            status_code=503,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
        await response(scope, receive, send)

"""A console chat on the test database: type lines, read the transcript back."""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest

from adapters.console import ConsoleChat, open_chat
from adapters.sandbox import SandboxGateway
from core.catalog import Catalog
from core.clock import FixedClock
from core.db import Database
from core.services.context import Context
from core.services.outbox import OutboxNotifier

PUBLIC_URL = "http://planbot.test"


@dataclass
class Chat:
    """One person typing; `say` returns what the console printed for those lines."""

    console: ConsoleChat
    buffer: io.StringIO

    async def say(self, *lines: str) -> str:
        start = self.buffer.tell()
        for line in lines:
            await self.console.step(line)
        self.buffer.seek(start)
        text = self.buffer.read()
        self.buffer.seek(0, io.SEEK_END)
        return text


ChatFactory = Callable[..., Awaitable[Chat]]


@pytest.fixture
def services(db: Database, catalog: Catalog, clock: FixedClock) -> Context:
    return Context(
        db=db,
        catalog=catalog,
        clock=clock,
        gateway=SandboxGateway(PUBLIC_URL),
        notifier=OutboxNotifier(db, clock),
    )


@pytest.fixture
def open_console(services: Context) -> ChatFactory:
    async def factory(
        user: str = "alice", role: str = "admin", workspace: str = "acme", language: str = "en"
    ) -> Chat:
        buffer = io.StringIO()
        console = await open_chat(
            services, workspace=workspace, user=user, role=role, language=language, out=buffer
        )
        return Chat(console, buffer)

    return factory

"""Fixtures for the web app and the sandbox: the shared context with the sandbox as its gateway."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import httpx
import pytest

from adapters.sandbox import SandboxGateway
from adapters.web import create_app
from core.access import Actor
from core.services.context import Context
from core.services.outbox import OutboxNotifier
from core.services.workspaces import create_workspace

PUBLIC_URL = "http://planbot.test"


@pytest.fixture
def sandbox_ctx(ctx: Context) -> Context:
    """The `ctx` fixture (same database, catalog and clock) wired as the app wires it."""
    return replace(
        ctx, gateway=SandboxGateway(PUBLIC_URL), notifier=OutboxNotifier(ctx.db, ctx.clock)
    )


@pytest.fixture
async def ws(sandbox_ctx: Context, owner: Actor) -> int:
    return await create_workspace(sandbox_ctx, owner, "Acme Support")


@pytest.fixture
async def client(sandbox_ctx: Context) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(sandbox_ctx))
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as http:
        yield http

"""The one notice sender of a bot: it holds the bot's lease in `notice_senders`, leases due
notices, checks each at send time, paces them to the platform, and marks each with its
outcome (DESIGN 14 "Delivery").

Only the holder of the bot's lease sends, whichever worker it runs in; the lease is renewed
while a batch goes out, and a crashed holder's lease expires so another worker takes over.
No transaction is open while a platform call runs.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol, cast

from sqlalchemy import CursorResult, or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from core.model import NoticeSender as SenderLease
from core.pacing import Pace, Pacer
from core.services.context import Context
from core.services.notice_checks import NotYet, QueuedNotice, Ready, Stale, prepare
from core.services.outbox import (
    Deferred,
    Failed,
    Outcome,
    Sent,
    Suppressed,
    Unknown,
    lease_batch,
    mark_attempted,
    record,
    renew_leases,
)

log = logging.getLogger("planbot.notices")
HOLD = timedelta(seconds=10)
"""How long the bot's sender lease lasts unless renewed."""
RENEW_SECONDS = 2.0
BATCH = 200

BeforeRequest = Callable[[], Awaitable[None]]
"""Awaited by a transport just before each request leaves: waits for the pace, and before
the first marks the notice attempted; raises LeaseLost when it must not go."""
Hook = Callable[[QueuedNotice], Awaitable[None]]


class Transport(Protocol):
    """A platform's way of saying one notice: renders and sends it, and maps the platform's
    answers and errors to an Outcome (never raising for a send that failed)."""

    async def send(self, ready: Ready, before_request: BeforeRequest) -> Outcome: ...


class LeaseLost(Exception):
    """This sender no longer holds the bot's lease or the notice's: it must not send."""


@dataclass
class Hooks:
    """Points where a test stops a sender as a crash would: after the lease, before the
    request (`leased`), and after the answer, before it is marked (`answered`)."""

    leased: Hook | None = None
    answered: Hook | None = None


def sender_name(platform: str, token: str) -> str:
    """The lease name of one bot: its platform and a short digest of its token (never the
    token itself)."""
    return f"{platform}:{hashlib.sha256(token.encode()).hexdigest()[:16]}"


def new_owner() -> str:
    """This process's name as a lease owner: host, pid and a random part."""
    return f"{socket.gethostname()[:20]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


async def hold_sender(ctx: Context, name: str, owner: str, hold: timedelta = HOLD) -> bool:
    """Take or renew the bot's sender lease: True when `owner` holds it until now + hold."""
    now = ctx.clock.now()
    insert = pg_insert if ctx.db.is_postgres else sqlite_insert
    async with ctx.db.unit_of_work() as session:
        await session.execute(
            insert(SenderLease)
            .values(name=name, owner=owner, expires_at=now + hold)
            .on_conflict_do_nothing(index_elements=["name"])
        )
        result = await session.execute(
            update(SenderLease)
            .where(
                SenderLease.name == name,
                or_(SenderLease.owner == owner, SenderLease.expires_at <= now),
            )
            .values(owner=owner, expires_at=now + hold)
        )
        return cast(CursorResult[Any], result).rowcount == 1


async def let_go(ctx: Context, name: str, owner: str) -> None:
    """Give the lease up at shutdown, so another worker takes over at once."""
    async with ctx.db.unit_of_work() as session:
        await session.execute(
            update(SenderLease)
            .where(SenderLease.name == name, SenderLease.owner == owner)
            .values(expires_at=ctx.clock.now())
        )


class Sender:
    """Sends one platform's notices for one bot; `name` None: no bot lease (every process
    sends its own, as the console does)."""

    def __init__(
        self,
        ctx: Context,
        platform: str,
        transport: Transport,
        pace: Pace,
        *,
        name: str | None,
        owner: str | None = None,
        batch: int = BATCH,
        hooks: Hooks | None = None,
    ) -> None:
        self.ctx = ctx
        self.platform = platform
        self.transport = transport
        self.pacer = Pacer(pace)
        self.name = name
        self.owner = owner or new_owner()
        self.batch = batch
        self.hooks = hooks or Hooks()
        self._turn = asyncio.Lock()
        self._lost = False

    async def drain(self) -> int:
        """Send batches until fewer than a full one are due; how many notices were handled."""
        handled = 0
        while True:
            count = await self.send_batch()
            handled += count
            if count < self.batch:
                return handled

    async def forever(self, every: float) -> None:
        """Drain, wait `every` seconds, again, until cancelled; a failure is logged."""
        try:
            while True:
                try:
                    await self.drain()
                except Exception:
                    log.exception("%s notice delivery failed; trying again", self.platform)
                await asyncio.sleep(every)
        finally:
            await asyncio.shield(self.let_go())

    async def let_go(self) -> None:
        """Give up the bot's lease (at shutdown), so another worker takes over at once."""
        if self.name is not None:
            await let_go(self.ctx, self.name, self.owner)

    async def send_batch(self) -> int:
        """One batch, if this sender holds the bot's lease: how many notices it handled."""
        async with self._turn:
            if self.name is not None and not await hold_sender(self.ctx, self.name, self.owner):
                return 0
            db, clock = self.ctx.db, self.ctx.clock
            queued = await lease_batch(db, clock, self.platform, self.owner, limit=self.batch)
            if not queued:
                return 0
            self._lost = False
            renewing = asyncio.create_task(self._keep_holding()) if self.name else None
            try:
                await self._send_all(queued)
            finally:
                if renewing is not None:
                    renewing.cancel()
            return len(queued)

    async def _keep_holding(self) -> None:
        assert self.name is not None
        while True:
            await asyncio.sleep(RENEW_SECONDS)
            try:
                held = await hold_sender(self.ctx, self.name, self.owner)
                if held:
                    await renew_leases(self.ctx.db, self.ctx.clock, self.platform, self.owner)
            except Exception:
                log.exception("renewing the %s notice sender lease failed", self.platform)
                held = False
            if not held:
                log.warning("%s notice sender lease lost: stopping this batch", self.platform)
                self._lost = True
                return

    async def _send_all(self, queued: list[QueuedNotice]) -> None:
        verdicts = await prepare(self.ctx, queued)
        settled: list[tuple[QueuedNotice, Outcome]] = []
        chats: dict[str, list[tuple[QueuedNotice, Ready]]] = {}
        for q, verdict in zip(queued, verdicts, strict=True):
            match verdict:
                case Stale(reason):
                    settled.append((q, Suppressed(reason)))
                case NotYet(until):
                    settled.append((q, Deferred(until)))
                case Ready():
                    chats.setdefault(verdict.notice.chat_id or "", []).append((q, verdict))
        await record(self.ctx.db, self.ctx.clock, self.owner, settled)
        async with asyncio.TaskGroup() as group:
            for chat, items in chats.items():
                group.create_task(self._send_chat(chat, items))

    async def _send_chat(self, chat: str, items: list[tuple[QueuedNotice, Ready]]) -> None:
        """One chat's notices in order, each marked as soon as its answer came."""
        for q, ready in items:
            try:
                outcome = await self._send_one(chat, q, ready)
            except LeaseLost:
                return
            if self.hooks.answered is not None:
                await self.hooks.answered(q)
            await record(self.ctx.db, self.ctx.clock, self.owner, [(q, outcome)])

    async def _send_one(self, chat: str, q: QueuedNotice, ready: Ready) -> Outcome:
        attempted = False

        async def mark() -> None:
            if self.hooks.leased is not None:
                await self.hooks.leased(q)
            if not await mark_attempted(self.ctx.db, self.ctx.clock, q.id, self.owner):
                raise LeaseLost(f"notice {q.id}")

        async def before_request() -> None:
            nonlocal attempted
            if self._lost:
                raise LeaseLost(self.platform)
            await self.pacer.turn(chat, None if attempted else mark)
            attempted = True

        try:
            return await self.transport.send(ready, before_request)
        except LeaseLost:
            raise
        except Exception as exc:  # a fault of ours, not the platform's answer
            log.exception("notice %s to %s: sending failed", q.id, chat)
            error = f"{type(exc).__name__}: {exc}"
            # Once the request may have left it is never resent; before, it never will work.
            return Unknown(error) if attempted else Failed(error)


async def deliver_in_chat(
    ctx: Context, platform: str, chat_id: str, show: Callable[[Ready], None]
) -> int:
    """A chat whose notices are shown where it runs (the console): each due one is leased
    as attempted (showing it is the request), checked, shown, and marked; how many."""
    owner = new_owner()
    queued = await lease_batch(
        ctx.db, ctx.clock, platform, owner, limit=BATCH, chat_id=chat_id, attempted=True
    )
    if not queued:
        return 0
    outcomes: list[tuple[QueuedNotice, Outcome]] = []
    for q, verdict in zip(queued, await prepare(ctx, queued), strict=True):
        match verdict:
            case Stale(reason):
                outcomes.append((q, Suppressed(reason)))
            case NotYet(until):
                outcomes.append((q, Deferred(until)))
            case Ready():
                show(verdict)
                outcomes.append((q, Sent()))
    await record(ctx.db, ctx.clock, owner, outcomes)
    return len(queued)

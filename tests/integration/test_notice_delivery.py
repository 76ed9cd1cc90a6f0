"""Notice delivery with leases (DESIGN 14): a sender stopped at any step — after the lease,
after the request, mid-batch — loses nothing and sends nothing twice once another sender
takes over (the notice whose request went out is marked unknown); one sender per bot at a
time; outcomes recorded as the platform answered."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from sqlalchemy import select

from core.access import Actor, StaffTier
from core.clock import FixedClock
from core.db import Database
from core.model import OutboxNotice
from core.pacing import Pace
from core.ports import Notice
from core.services import notice_sender
from core.services.context import Context
from core.services.notice_checks import NotYet, QueuedNotice, Ready, Stale, Verdict
from core.services.notice_sender import BeforeRequest, Hooks, Sender, hold_sender
from core.services.outbox import (
    LEASE,
    MAX_ATTEMPTS,
    Failed,
    OutboxNotifier,
    Outcome,
    RetryLater,
    Sent,
    Unknown,
    lease_batch,
    mark_attempted,
)
from core.services.staff.lookup import notices
from core.states import NoticeState

FAST = Pace(overall=None, per_chat=1000.0)
"""No pacing to speak of: these tests are about leases and outcomes, not timing."""
NAME = "test:bot"
VIEWER = Actor("console", "sam", tier=StaffTier.VIEWER)


class Killed(BaseException):
    """Stands for the process dying at that point: nothing after it runs or handles it."""


@dataclass
class Platform:
    """A chat platform that records every request that reached it, answering as told."""

    answers: dict[str, list[Outcome]] = field(default_factory=dict)
    """Per chat, outcomes to give before accepting (consumed in order)."""
    received: list[tuple[str, str]] = field(default_factory=list)
    """(chat, subject) of each request that arrived."""

    async def send(self, ready: Ready, before_request: BeforeRequest) -> Outcome:
        await before_request()
        chat = ready.notice.chat_id or ""
        waiting = self.answers.get(chat)
        if waiting:
            outcome = waiting.pop(0)
            if isinstance(outcome, Sent | Unknown):
                self.received.append((chat, ready.notice.subject or ""))
            return outcome
        self.received.append((chat, ready.notice.subject or ""))
        return Sent()


async def enqueue(ctx: Context, workspace_id: int, chats: list[str]) -> list[str]:
    """One notice per entry of `chats`, oldest first; their subjects."""
    outbox = OutboxNotifier(ctx.db, ctx.clock)
    subjects = [f"order:{n}" for n in range(len(chats))]
    await outbox.notify_all(
        [
            Notice("payment.succeeded", workspace_id, "test", chat, {}, subject=subject)
            for chat, subject in zip(chats, subjects, strict=True)
        ]
    )
    return subjects


async def states(db: Database) -> dict[str, NoticeState]:
    async with db.read() as session:
        rows = await session.scalars(select(OutboxNotice).order_by(OutboxNotice.id))
        return {r.subject: r.state for r in rows}


def sender(ctx: Context, platform: Platform, owner: str, hooks: Hooks | None = None) -> Sender:
    return Sender(ctx, "test", platform, FAST, name=NAME, owner=owner, hooks=hooks)


def kill_at(step: int, killed: list[str] | None = None) -> notice_sender.Hook:
    """A hook that kills the sender at its `step`-th notice (from 1), noting its subject."""
    seen = 0

    async def hook(queued: QueuedNotice) -> None:
        nonlocal seen
        seen += 1
        if seen == step:
            if killed is not None:
                killed.append(queued.notice.subject or "")
            raise Killed

    return hook


async def take_over(ctx: Context, clock: FixedClock, platform: Platform) -> int:
    """Another process's sender, once the crashed one's leases have lapsed."""
    late = sender(ctx, platform, "worker-2")
    assert await late.drain() == 0  # the crashed holder's bot lease still stands
    clock.advance(LEASE + timedelta(seconds=1))
    return await late.drain()


async def test_a_sender_killed_between_lease_and_send_loses_nothing(
    ctx: Context, clock: FixedClock, workspace_id: int
) -> None:
    subjects = await enqueue(ctx, workspace_id, ["c1", "c1", "c1"])
    platform = Platform()
    with pytest.raises(BaseExceptionGroup) as died:
        await sender(ctx, platform, "worker-1", Hooks(leased=kill_at(1))).drain()
    assert died.group_contains(Killed)
    assert platform.received == []
    assert set((await states(ctx.db)).values()) == {NoticeState.SENDING}
    assert await take_over(ctx, clock, platform) == 3
    assert platform.received == [("c1", s) for s in subjects]
    assert set((await states(ctx.db)).values()) == {NoticeState.SENT}


async def test_a_sender_killed_after_the_request_before_marking_leaves_it_unknown(
    ctx: Context, clock: FixedClock, workspace_id: int
) -> None:
    subjects = await enqueue(ctx, workspace_id, ["c1", "c1", "c1"])
    platform = Platform()
    with pytest.raises(BaseExceptionGroup):
        await sender(ctx, platform, "worker-1", Hooks(answered=kill_at(1))).drain()
    assert platform.received == [("c1", subjects[0])]
    await take_over(ctx, clock, platform)
    assert platform.received == [("c1", s) for s in subjects]  # the first never resent
    assert await states(ctx.db) == {
        subjects[0]: NoticeState.UNKNOWN,
        subjects[1]: NoticeState.SENT,
        subjects[2]: NoticeState.SENT,
    }


async def test_a_sender_killed_mid_batch_loses_none_and_duplicates_none(
    ctx: Context, clock: FixedClock, workspace_id: int
) -> None:
    chats = [f"c{n % 3}" for n in range(12)]
    subjects = await enqueue(ctx, workspace_id, chats)
    platform = Platform()
    with pytest.raises(BaseExceptionGroup):
        killed: list[str] = []
        await sender(ctx, platform, "worker-1", Hooks(answered=kill_at(5, killed))).drain()
    await take_over(ctx, clock, platform)
    received = [s for _, s in platform.received]
    assert len(received) == len(set(received))  # none twice
    final = await states(ctx.db)
    assert set(final.values()) <= {NoticeState.SENT, NoticeState.UNKNOWN}
    assert {s for s in subjects if final[s] == NoticeState.SENT} <= set(received)
    # Not one lost: what never arrived is unknown (marked attempted as the process died),
    # like the killed one and any other chat's whose request was in flight.
    assert {s for s in subjects if s not in received} <= {
        s for s in subjects if final[s] == NoticeState.UNKNOWN
    }
    assert final[killed[0]] == NoticeState.UNKNOWN and killed[0] in received


async def test_outcomes_are_recorded_and_a_refused_notice_is_not_retried(
    ctx: Context, clock: FixedClock, workspace_id: int
) -> None:
    subjects = await enqueue(ctx, workspace_id, ["blocked", "gone-quiet", "ok"])
    platform = Platform(
        answers={
            "blocked": [Failed("Forbidden: bot was blocked by the user")],
            "gone-quiet": [Unknown("TimedOut")],
        }
    )
    assert await sender(ctx, platform, "worker-1").drain() == 3
    clock.advance(timedelta(hours=1))
    assert await sender(ctx, platform, "worker-1").drain() == 0
    assert await states(ctx.db) == {
        subjects[0]: NoticeState.FAILED,
        subjects[1]: NoticeState.UNKNOWN,
        subjects[2]: NoticeState.SENT,
    }
    shown = {n.chat_id: n.state for n in await notices(ctx, VIEWER, workspace_id)}
    assert shown == {
        "blocked": NoticeState.FAILED,
        "gone-quiet": NoticeState.UNKNOWN,
        "ok": NoticeState.SENT,
    }


async def test_a_notice_retried_after_its_wait_and_failed_past_the_maximum(
    ctx: Context, clock: FixedClock, workspace_id: int
) -> None:
    wait = timedelta(seconds=3)
    subjects = await enqueue(ctx, workspace_id, ["once", "always"])
    platform = Platform(
        answers={
            "once": [RetryLater(wait, "429")],
            "always": [RetryLater(wait, "connection refused")] * MAX_ATTEMPTS,
        }
    )
    worker = sender(ctx, platform, "worker-1")
    assert await worker.drain() == 2
    assert await worker.drain() == 0  # not before the wait
    clock.advance(wait)
    assert await worker.drain() == 2
    assert platform.received == [("once", subjects[0])]
    for _ in range(MAX_ATTEMPTS):
        clock.advance(wait)
        await worker.drain()
    assert await states(ctx.db) == {subjects[0]: NoticeState.SENT, subjects[1]: NoticeState.FAILED}
    async with ctx.db.read() as session:
        given_up = await session.scalar(
            select(OutboxNotice).where(OutboxNotice.chat_id == "always")
        )
    assert given_up is not None and given_up.attempts == MAX_ATTEMPTS
    assert given_up.error is not None and "connection refused" in given_up.error


async def test_stale_is_suppressed_and_not_yet_offered_again_at_its_time(
    ctx: Context, clock: FixedClock, workspace_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    subjects = await enqueue(ctx, workspace_id, ["paid", "link-coming"])
    later = clock.now() + timedelta(minutes=5)

    async def checked(_: Context, queued: list[QueuedNotice]) -> list[Verdict]:
        return [
            Stale("the renewal was paid")
            if q.notice.chat_id == "paid"
            else NotYet(later)
            if clock.now() < later
            else Ready(q.notice, "en", "UTC")
            for q in queued
        ]

    monkeypatch.setattr(notice_sender, "prepare", checked)
    platform = Platform()
    worker = sender(ctx, platform, "worker-1")
    assert await worker.drain() == 2
    assert await states(ctx.db) == {
        subjects[0]: NoticeState.SUPPRESSED,
        subjects[1]: NoticeState.PENDING,
    }
    clock.set(later)
    assert await worker.drain() == 1
    assert platform.received == [("link-coming", subjects[1])]


@dataclass
class Faulty(Platform):
    """A transport with a fault of its own for one chat, before or after its request."""

    broken: dict[str, bool] = field(default_factory=dict)
    """Chat → whether the request left before the fault."""

    async def send(self, ready: Ready, before_request: BeforeRequest) -> Outcome:
        chat = ready.notice.chat_id or ""
        if chat in self.broken:
            if self.broken[chat]:
                await before_request()
            raise ValueError("cannot render")
        return await super().send(ready, before_request)


async def test_a_fault_in_one_notice_leaves_the_rest_of_the_batch_sent(
    ctx: Context, clock: FixedClock, workspace_id: int
) -> None:
    subjects = await enqueue(ctx, workspace_id, ["before", "after", "ok"])
    platform = Faulty(broken={"before": False, "after": True})
    assert await sender(ctx, platform, "worker-1").drain() == 3
    assert await states(ctx.db) == {
        subjects[0]: NoticeState.FAILED,
        subjects[1]: NoticeState.UNKNOWN,
        subjects[2]: NoticeState.SENT,
    }


async def test_two_senders_at_once_one_holds_the_lease_and_each_notice_goes_once(
    ctx: Context, workspace_id: int
) -> None:
    subjects = await enqueue(ctx, workspace_id, [f"c{n}" for n in range(40)])
    other_db = Database.from_url(ctx.db.engine.url.render_as_string(hide_password=False))
    other = Context(db=other_db, catalog=ctx.catalog, clock=ctx.clock)
    platform = Platform()
    try:
        done = await asyncio.gather(
            sender(ctx, platform, "worker-1").drain(),
            sender(other, platform, "worker-2").drain(),
            sender(ctx, platform, "worker-3").drain(),
        )
    finally:
        await other_db.dispose()
    assert sorted(done) == [0, 0, 40]
    assert sorted(s for _, s in platform.received) == sorted(subjects)


async def test_the_bot_lease_is_one_holders_until_it_expires_or_is_let_go(ctx: Context) -> None:
    assert await hold_sender(ctx, NAME, "worker-1")
    assert not await hold_sender(ctx, NAME, "worker-2")
    assert await hold_sender(ctx, NAME, "worker-1")  # renewed
    assert isinstance(ctx.clock, FixedClock)
    ctx.clock.advance(notice_sender.HOLD + timedelta(seconds=1))
    assert await hold_sender(ctx, NAME, "worker-2")  # the first stopped renewing
    await notice_sender.let_go(ctx, NAME, "worker-2")
    assert await hold_sender(ctx, NAME, "worker-1")


async def test_a_lapsed_lease_whose_request_left_is_unknown_and_one_that_did_not_is_offered_again(
    ctx: Context, clock: FixedClock, workspace_id: int
) -> None:
    subjects = await enqueue(ctx, workspace_id, ["a", "b"])
    first, _ = await lease_batch(ctx.db, clock, "test", "worker-1")
    assert await mark_attempted(ctx.db, clock, first.id, "worker-1")
    assert not await mark_attempted(ctx.db, clock, first.id, "worker-2")
    clock.advance(LEASE + timedelta(seconds=1))
    again = await lease_batch(ctx.db, clock, "test", "worker-2")
    assert [q.notice.subject for q in again] == [subjects[1]]
    assert (await states(ctx.db))[subjects[0]] == NoticeState.UNKNOWN

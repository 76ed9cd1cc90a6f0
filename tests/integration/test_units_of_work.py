"""Units of work are explicit (DESIGN 12): joining is said, effects wait for the commit, a
refusal rolls back what the step wrote, and no provider is called inside a transaction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.engine import Engine
from bot.flow import Flow, Go, Move, Step, Turn
from bot.vocabulary import Choices, Incoming, Reply
from core.access import Actor
from core.clock import FixedClock
from core.db import Database, NestedUnitOfWork, WriteInReadSession, after_commit
from core.errors import Conflict
from core.model import AuditEntry, Conversation
from core.ports import Checkout, CheckoutRequest, PaymentGateway
from core.pricing import Terms
from core.services.context import Context
from core.services.orders import place_order
from core.services.subscriptions import unsubscribe
from core.services.sweep import sweep
from tests.integration.helpers import buy, subscription


async def audit_count(db: Database) -> int:
    async with db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(AuditEntry)) or 0)


async def test_a_unit_of_work_inside_another_must_say_it_joins(ctx: Context) -> None:
    async with ctx.db.unit_of_work() as outer:
        with pytest.raises(NestedUnitOfWork):
            async with ctx.db.unit_of_work():
                pass
        async with ctx.db.unit_of_work(join=True) as inner:
            assert inner is outer
        with pytest.raises(NestedUnitOfWork):
            async with ctx.db.read():
                pass


async def test_a_read_session_refuses_to_write(ctx: Context, workspace_id: int) -> None:
    before = await audit_count(ctx.db)
    with pytest.raises(WriteInReadSession):
        async with ctx.db.read() as session:
            session.add(_entry(workspace_id, ctx))
            await session.flush()
    assert await audit_count(ctx.db) == before


def _entry(workspace_id: int, ctx: Context) -> AuditEntry:
    return AuditEntry(
        at=ctx.clock.now(), workspace_id=workspace_id, actor="test", action="probe.write"
    )


async def test_effects_run_after_the_commit_and_never_after_a_rollback(
    ctx: Context, workspace_id: int
) -> None:
    seen: list[tuple[str, bool, int]] = []
    before = await audit_count(ctx.db)

    def effect(name: str) -> Callable[[], object]:
        async def run() -> None:
            seen.append((name, ctx.db.in_unit_of_work, await audit_count(ctx.db)))

        return run

    async with ctx.db.unit_of_work() as session:
        session.add(_entry(workspace_id, ctx))
        after_commit(session, effect("committed"))  # type: ignore[arg-type]
        assert seen == []
    with pytest.raises(Conflict):
        async with ctx.db.unit_of_work() as session:
            session.add(_entry(workspace_id, ctx))
            after_commit(session, effect("rolled back"))  # type: ignore[arg-type]
            raise Conflict("no")
    assert seen == [("committed", False, before + 1)]
    assert await audit_count(ctx.db) == before + 1


async def test_a_refusal_after_a_write_leaves_no_write_and_the_conversation_in_place(
    ctx: Context, owner: Actor, workspace_id: int
) -> None:
    async def write_then_refuse(turn: Turn, answer: str) -> Move:
        async with turn.services.db.unit_of_work() as session:
            session.add(_entry(workspace_id, turn.services))
            await session.flush()
            turn.data["half"] = "done"
            raise Conflict("Refused after writing.")

    async def ask(turn: Turn) -> list[Reply]:
        return [Choices("Go on?", (), turn.version)]

    async def begin(turn: Turn) -> Move:
        return Go("ask")

    flow = Flow(
        "trial", begin, {"ask": Step(ask, write_then_refuse, typed=True)}, frozenset({"ask"})
    )
    engine = Engine(ctx, {"trial": flow})
    base = Incoming(owner.platform, None, "chat", owner.user_id, workspace_id=workspace_id)
    before = await audit_count(ctx.db)
    await engine.handle(replace(base, command="trial"))
    replies = await engine.handle(replace(base, text="yes"))
    assert "Refused after writing." in str(replies) and "Go on?" in str(replies)
    assert await audit_count(ctx.db) == before
    async with ctx.db.read() as session:
        conversation = await session.scalar(select(Conversation))
    assert conversation is not None
    assert (conversation.flow, conversation.step, conversation.data) == ("trial", "ask", {})


class OutsideTransactions:
    """A gateway that fails the test if it is called while a unit of work is open."""

    def __init__(self, inner: PaymentGateway, db: Database) -> None:
        self.inner, self.db, self.name = inner, db, inner.name
        self.calls: list[str] = []

    def _check(self, what: str) -> None:
        assert not self.db.in_unit_of_work, f"{what} called inside a unit of work"
        self.calls.append(what)

    async def create_checkout(self, request: CheckoutRequest) -> Checkout:
        self._check("create_checkout")
        return await self.inner.create_checkout(request)

    async def cancel_checkout(self, provider_reference: str) -> None:
        self._check("cancel_checkout")
        await self.inner.cancel_checkout(provider_reference)


async def test_no_provider_call_is_made_while_a_unit_of_work_is_open(
    ctx: Context, owner: Actor, workspace_id: int
) -> None:
    assert ctx.gateway is not None
    guard = OutsideTransactions(ctx.gateway, ctx.db)
    ctx.gateway = guard
    first = await place_order(ctx, owner, workspace_id, Terms("cc2", 1, 5))
    second = await place_order(ctx, owner, workspace_id, Terms("cc2", 12, 5))  # replaces it
    assert first.payment_link and second.payment_link
    assert guard.calls == ["create_checkout", "create_checkout", "cancel_checkout"]
    await sweep(ctx, ctx.clock.now() + timedelta(hours=1))  # the second expires
    assert guard.calls[-1] == "cancel_checkout"


async def test_unsubscribing_an_overdue_renewal_withdraws_its_link_outside_the_transaction(
    ctx: Context, owner: Actor, workspace_id: int, clock: FixedClock
) -> None:
    assert ctx.gateway is not None
    await buy(ctx, owner, workspace_id, Terms("cc2", 1, 5))
    sub_id = (await subscription(ctx, workspace_id, "cc2")).id
    guard = OutsideTransactions(ctx.gateway, ctx.db)
    ctx.gateway = guard
    clock.advance(timedelta(days=32))
    await sweep(ctx)  # the renewal is due, with its link
    await unsubscribe(ctx, owner, workspace_id, sub_id)
    assert "create_checkout" in guard.calls and guard.calls[-1] == "cancel_checkout"

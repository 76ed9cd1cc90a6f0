"""Confirms at the same moment (DESIGN 12, 13), on SQLite and PostgreSQL: two staff on the
same state, or one token twice, give one effect, one audit entry and one notice, and the
loser is told."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import select

from core.access import Actor
from core.errors import Conflict
from core.model import AuditEntry
from core.money import Money
from core.ports import RecordingNotifier
from core.pricing import Terms
from core.services.context import Context
from core.services.staff.changes import AlreadyDone, Done, Moved, Outcome, confirm, preview
from core.services.staff.requests import Credit, Extend, ReasonCode, Refund, new_token
from core.services.subscriptions import start_trial
from tests.conftest import at
from tests.fakes import FakeGateway
from tests.integration.helpers import buy, subscription
from tests.integration.staff import MANAGER, SECOND


async def together(*steps: Callable[[], Awaitable[Outcome]]) -> list[Outcome | BaseException]:
    """Each step waits at one barrier, then they all run at once."""
    barrier = asyncio.Barrier(len(steps))

    async def at_once(step: Callable[[], Awaitable[Outcome]]) -> Outcome:
        await barrier.wait()
        return await step()

    return list(await asyncio.gather(*(at_once(step) for step in steps), return_exceptions=True))


async def staff_audits(ctx: Context) -> list[str]:
    async with ctx.db.read() as session:
        rows = await session.scalars(
            select(AuditEntry.action).where(AuditEntry.action.like("staff.%"))
        )
        return list(rows)


def told(notifier: RecordingNotifier) -> int:
    return sum(1 for n in notifier.notices if n.kind == "staff.changed")


async def test_two_staff_confirming_the_same_change_make_one_effect_and_the_loser_sees_it(
    ctx: Context, owner: Actor, workspace_id: int, notifier: RecordingNotifier
) -> None:
    sub_id = await start_trial(ctx, owner, workspace_id, "cc2")
    request = Extend(workspace_id, sub_id, 7)
    shown = {who: await preview(ctx, who, request) for who in (MANAGER, SECOND)}

    def step(who: Actor) -> Callable[[], Awaitable[Outcome]]:
        p = shown[who]
        return lambda: confirm(
            ctx, who, p.request, ReasonCode.COURTESY, None, p.state_key, new_token()
        )

    outcomes = await together(step(MANAGER), step(SECOND))
    assert sorted(type(o).__name__ for o in outcomes) == ["Done", "Moved"]
    [moved] = [o for o in outcomes if isinstance(o, Moved)]
    assert moved.preview.before.trial_end == at("2026-02-05T10:00:00Z")
    sub = await subscription(ctx, workspace_id, "cc2")
    assert sub.trial_ends_at == at("2026-02-05T10:00:00Z")
    assert await staff_audits(ctx) == ["staff.extend"] and told(notifier) == 1


async def test_one_token_confirmed_twice_at_once_runs_once(
    ctx: Context, workspace_id: int, notifier: RecordingNotifier
) -> None:
    shown = await preview(ctx, MANAGER, Credit(workspace_id, Money(5_000, "USD")))
    token = new_token()

    def step() -> Awaitable[Outcome]:
        return confirm(
            ctx, MANAGER, shown.request, ReasonCode.COURTESY, None, shown.state_key, token
        )

    first, second = await together(step, step)
    assert {type(first), type(second)} == {Done, AlreadyDone}
    assert isinstance(first, Done | AlreadyDone) and isinstance(second, Done | AlreadyDone)
    assert first.result == second.result
    assert first.result.after.balance == Money(5_000, "USD")
    assert await staff_audits(ctx) == ["staff.credit"] and told(notifier) == 1


@pytest.mark.parametrize("same_token", [True, False])
async def test_a_refund_confirmed_twice_at_once_is_made_once(
    ctx: Context,
    owner: Actor,
    workspace_id: int,
    gateway: FakeGateway,
    notifier: RecordingNotifier,
    same_token: bool,
) -> None:
    await buy(ctx, owner, workspace_id, Terms("cc2", 1, 10))
    async with ctx.db.read() as session:
        from core.model import Payment

        payment_id = await session.scalar(select(Payment.id))
        assert payment_id is not None
    shown = await preview(ctx, MANAGER, Refund(workspace_id, payment_id, None))
    token = new_token()

    def step() -> Awaitable[Outcome]:
        return confirm(
            ctx,
            MANAGER,
            shown.request,
            ReasonCode.DUPLICATE,
            None,
            shown.state_key,
            token if same_token else new_token(),
        )

    outcomes = await together(step, step)
    done = [o for o in outcomes if isinstance(o, Done)]
    others = [o for o in outcomes if not isinstance(o, Done)]
    assert len(done) == 1 and len(others) == 1
    assert isinstance(others[0], AlreadyDone | Moved | Conflict)
    assert len(gateway.refunds) == 1
    assert await staff_audits(ctx) == ["staff.refund"] and told(notifier) == 1

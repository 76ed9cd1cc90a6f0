"""The sweep over more subscriptions than one batch: each handled once, in due order.

The sweep reads a batch's chats and workspaces once, writes its renewal orders, audit rows
and notices together, and attaches the payment links after the commit; these tests pin that
the result is the same as handling the subscriptions one by one.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from sqlalchemy import select, update

from core.access import Actor
from core.clock import FixedClock
from core.model import AuditEntry, Order, OutboxNotice, Subscription, Workspace
from core.pricing import Terms
from core.services.context import Context
from core.services.outbox import OutboxNotifier
from core.services.subscriptions import start_trial
from core.services.sweep import sweep
from core.services.workspaces import create_workspace
from tests.fakes import FakeGateway
from tests.integration.helpers import CHAT, buy

BATCH = 3
WORKSPACES = 4


async def _due_mix(ctx: Context) -> dict[str, list[int]]:
    """Per workspace: a paid monthly cc1 (one set to end, one with credit) and a cc2 trial."""
    made: dict[str, list[int]] = {"paid": [], "trial": []}
    for n in range(WORKSPACES):
        owner = Actor("telegram", str(2000 + n))
        workspace_id = await create_workspace(ctx, owner, f"W{n}")
        await buy(ctx, owner, workspace_id, Terms("cc1", 1, 2 + n))
        made["trial"].append(await start_trial(ctx, owner, workspace_id, "cc2"))
        async with ctx.db.unit_of_work() as session:
            sub = await session.scalar(
                select(Subscription).where(
                    Subscription.workspace_id == workspace_id, Subscription.package == "cc1"
                )
            )
            assert sub is not None
            made["paid"].append(sub.id)
            if n == 1:
                sub.cancel_at_period_end = True
            if n == 2:
                await session.execute(
                    update(Workspace)
                    .where(Workspace.id == workspace_id)
                    .values(credit_balance=10**6)
                )
    return made


async def _sweep_actions(ctx: Context) -> Counter[tuple[int | None, str]]:
    async with ctx.db.unit_of_work() as session:
        rows = await session.execute(
            select(AuditEntry.subscription_id, AuditEntry.action).where(
                AuditEntry.action.like("sweep.%")
            )
        )
        return Counter((sub_id, action) for sub_id, action in rows)


async def test_a_sweep_over_several_batches_handles_each_subscription_once(
    ctx: Context, clock: FixedClock
) -> None:
    outbox = Context(ctx.db, ctx.catalog, clock, ctx.gateway, OutboxNotifier(ctx.db, clock))
    made = await _due_mix(outbox)
    clock.advance(timedelta(days=32))

    report = await sweep(outbox, batch_size=BATCH)

    # The renewals left unpaid are a day into grace by now: each is reminded once.
    assert report.counts == Counter(
        {
            "trial.ended": 4,
            "renewal.due": 2,
            "cancellation.effective": 1,
            "renewal.charged": 1,
            "grace.reminder": 2,
        }
    )
    actions = await _sweep_actions(outbox)
    assert sorted(sub_id for sub_id, _ in actions) == sorted(made["paid"] + made["trial"])
    assert set(actions.values()) == {1}
    async with ctx.db.unit_of_work() as session:
        renewals = list(await session.scalars(select(Order).where(Order.kind == "renewal")))
        notices = list(await session.scalars(select(OutboxNotice)))
    assert Counter(o.status for o in renewals) == Counter({"pending": 2, "paid": 1})
    assert all(o.payment_link for o in renewals if o.status == "pending")
    assert all((o.chat_platform, o.chat_id) == (CHAT.platform, CHAT.chat_id) for o in renewals)
    swept = Counter(n.kind for n in notices if n.kind in report.counts)
    assert swept == report.counts
    assert sum((await sweep(outbox, batch_size=BATCH)).counts.values()) == 0


async def test_a_renewal_whose_grace_also_ended_is_renewed_then_suspended_in_one_sweep(
    ctx: Context, clock: FixedClock
) -> None:
    made = await _due_mix(ctx)
    clock.advance(timedelta(days=40))

    report = await sweep(ctx, batch_size=BATCH)

    assert report["renewal.due"] == 2 and report["subscription.suspended"] == 2
    actions = await _sweep_actions(ctx)
    overdue = [sub_id for sub_id in made["paid"] if actions[(sub_id, "sweep.renewal.due")]]
    assert len(overdue) == 2
    assert all(actions[(sub_id, "sweep.subscription.suspended")] == 1 for sub_id in overdue)
    async with ctx.db.unit_of_work() as session:
        expired = await session.scalars(
            select(Order.subscription_id).where(Order.kind == "renewal", Order.status == "expired")
        )
        assert sorted(expired) == sorted(overdue)


async def test_a_renewal_reached_after_its_grace_ended_gets_no_payment_link(
    ctx: Context, clock: FixedClock, gateway: FakeGateway
) -> None:
    await _due_mix(ctx)
    clock.advance(timedelta(days=40))

    await sweep(ctx, batch_size=BATCH)

    async with ctx.db.unit_of_work() as session:
        renewals = list(await session.scalars(select(Order).where(Order.kind == "renewal")))
    lapsed = [o for o in renewals if o.status == "expired"]
    assert len(lapsed) == 2
    assert all(o.payment_link is None and o.provider_reference is None for o in lapsed)
    asked = {request.order_reference for request in gateway.checkouts.values()}
    assert asked.isdisjoint(o.reference for o in lapsed)

"""The send-time check: a notice no longer true or no longer wanted is suppressed, a renewal
waits briefly for its link, and each goes in the language its chat chose (DESIGN 14)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import event, update

from core.access import Actor
from core.clock import FixedClock
from core.model import Conversation, Order, Subscription, Workspace
from core.notice_kinds import (
    GraceReminder,
    OrderExpired,
    PaymentSucceeded,
    RenewalDue,
    RenewalReminder,
    TrialReminder,
)
from core.ports import Notice
from core.pricing import Terms
from core.services.context import Context
from core.services.notice_checks import (
    LINK_WAIT,
    NotYet,
    QueuedNotice,
    Ready,
    Stale,
    Verdict,
    prepare,
)
from core.services.subscriptions import start_trial, unsubscribe
from core.services.sweep import sweep
from tests.integration.helpers import buy, pay_order, pending_renewal, subscription

CHAT = ("telegram", "1001")


def queued(*notices: Notice) -> list[QueuedNotice]:
    return [QueuedNotice(n, notice) for n, notice in enumerate(notices, start=1)]


async def one(ctx: Context, notice: Notice) -> Verdict:
    (verdict,) = await prepare(ctx, queued(notice))
    return verdict


async def active(ctx: Context, owner: Actor, workspace_id: int) -> Subscription:
    await buy(ctx, owner, workspace_id, Terms("cc2", 1, 5))
    return await subscription(ctx, workspace_id, "cc2")


def reminder(workspace_id: int, sub: Subscription, period_end: datetime | None = None) -> Notice:
    end = period_end or sub.period_end
    assert end is not None
    return Notice.of(RenewalReminder(sub.id, sub.package, end), workspace_id, CHAT)


async def set_workspace(ctx: Context, workspace_id: int, **values: object) -> None:
    async with ctx.db.unit_of_work() as session:
        await session.execute(update(Workspace).where(Workspace.id == workspace_id).values(values))


async def talk(
    ctx: Context, platform: str, chat: str, user: str, language: str, age: int = 0
) -> None:
    """A conversation that chose its language with /language, `age` minutes ago."""
    async with ctx.db.unit_of_work() as session:
        session.add(
            Conversation(
                platform=platform,
                chat_id=chat,
                user_id=user,
                language=language,
                updated_at=ctx.clock.now() - timedelta(minutes=age),
            )
        )


async def test_a_renewal_reminder_still_true_is_ready_in_the_workspace_language_and_zone(
    ctx: Context, owner: Actor, workspace_id: int
) -> None:
    sub = await active(ctx, owner, workspace_id)
    await set_workspace(ctx, workspace_id, locale="vi", timezone="Asia/Ho_Chi_Minh")
    notice = reminder(workspace_id, sub)
    assert await one(ctx, notice) == Ready(notice, "vi", "Asia/Ho_Chi_Minh")


async def test_a_renewal_reminder_for_a_subscription_set_to_end_is_stale(
    ctx: Context, owner: Actor, workspace_id: int
) -> None:
    sub = await active(ctx, owner, workspace_id)
    notice = reminder(workspace_id, sub)
    await unsubscribe(ctx, owner, workspace_id, sub.id)
    verdict = await one(ctx, notice)
    assert isinstance(verdict, Stale) and "cancelled" in verdict.reason


async def test_a_renewal_reminder_for_a_period_already_renewed_is_stale(
    ctx: Context, owner: Actor, workspace_id: int
) -> None:
    sub = await active(ctx, owner, workspace_id)
    assert sub.period_end is not None
    earlier = reminder(workspace_id, sub, sub.period_end - timedelta(days=30))
    assert isinstance(await one(ctx, earlier), Stale)


async def test_reminders_off_suppress_reminders_but_never_dunning(
    ctx: Context, owner: Actor, workspace_id: int, clock: FixedClock
) -> None:
    sub = await active(ctx, owner, workspace_id)
    assert sub.period_end is not None
    clock.advance(timedelta(days=31))
    await sweep(ctx)
    renewal = await pending_renewal(ctx, sub.id)
    due = Notice.of(RenewalDue(sub.id, "cc2", order=renewal.reference), workspace_id, CHAT)
    await set_workspace(ctx, workspace_id, reminders_on=False)
    verdicts = await prepare(ctx, queued(reminder(workspace_id, sub), due))
    assert verdicts[0] == Stale("reminders are off")
    assert isinstance(verdicts[1], Ready)


async def test_receipts_off_suppress_a_payment_receipt(
    ctx: Context, owner: Actor, workspace_id: int
) -> None:
    await set_workspace(ctx, workspace_id, receipts_on=False)
    receipt = Notice.of(PaymentSucceeded("ord_1", "cc2", 5), workspace_id, CHAT)
    expired = Notice.of(OrderExpired("ord_2", "cc2"), workspace_id, CHAT)
    verdicts = await prepare(ctx, queued(receipt, expired))
    assert verdicts[0] == Stale("receipts are off")
    assert isinstance(verdicts[1], Ready)


async def test_a_trial_reminder_goes_while_the_trial_runs_with_the_same_end(
    ctx: Context, owner: Actor, workspace_id: int
) -> None:
    sub_id = await start_trial(ctx, owner, workspace_id, "cc1")
    trial = await subscription(ctx, workspace_id, "cc1")
    assert trial.trial_ends_at is not None
    same = Notice.of(TrialReminder(sub_id, "cc1", trial.trial_ends_at), workspace_id, CHAT)
    moved = Notice.of(
        TrialReminder(sub_id, "cc1", trial.trial_ends_at + timedelta(days=1)), workspace_id, CHAT
    )
    verdicts = await prepare(ctx, queued(same, moved))
    assert isinstance(verdicts[0], Ready)
    assert isinstance(verdicts[1], Stale)
    await buy(ctx, owner, workspace_id, Terms("cc1", 1, 3), subscription_id=sub_id)
    assert isinstance(await one(ctx, same), Stale)


async def renewal_due(ctx: Context, owner: Actor, workspace_id: int, clock: FixedClock) -> Order:
    sub = await active(ctx, owner, workspace_id)
    clock.advance(timedelta(days=31))
    await sweep(ctx)
    return await pending_renewal(ctx, sub.id)


async def test_a_renewal_due_gets_its_orders_link_and_is_stale_once_paid(
    ctx: Context, owner: Actor, workspace_id: int, clock: FixedClock
) -> None:
    renewal = await renewal_due(ctx, owner, workspace_id, clock)
    assert renewal.payment_link is not None and renewal.subscription_id is not None
    payload = RenewalDue(renewal.subscription_id, "cc2", order=renewal.reference)
    notice = Notice.of(payload, workspace_id, CHAT)
    verdict = await one(ctx, notice)
    assert isinstance(verdict, Ready)
    assert verdict.notice.data["link"] == renewal.payment_link
    unnamed = Notice.of(RenewalDue(renewal.subscription_id, "cc2"), workspace_id, CHAT)
    verdict = await one(ctx, unnamed)
    assert isinstance(verdict, Ready) and verdict.notice.data["link"] == renewal.payment_link
    await pay_order(ctx, renewal, "pay_renewal")
    assert await prepare(ctx, queued(notice, unnamed)) == [Stale("paid"), Stale("paid")]


async def test_a_renewal_due_without_a_link_waits_a_little_then_goes_without(
    ctx: Context, owner: Actor, workspace_id: int, clock: FixedClock
) -> None:
    renewal = await renewal_due(ctx, owner, workspace_id, clock)
    async with ctx.db.unit_of_work() as session:
        await session.execute(update(Order).where(Order.id == renewal.id).values(payment_link=None))
    assert renewal.subscription_id is not None
    payload = RenewalDue(renewal.subscription_id, "cc2", order=renewal.reference)
    notice = Notice.of(payload, workspace_id, CHAT, due_at=clock.now())
    verdict = await one(ctx, notice)
    assert isinstance(verdict, NotYet) and clock.now() < verdict.until <= clock.now() + LINK_WAIT
    clock.advance(LINK_WAIT)
    verdict = await one(ctx, notice)
    assert isinstance(verdict, Ready) and "link" not in verdict.notice.data
    ctx.gateway = None
    clock.advance(-LINK_WAIT)
    assert isinstance(await one(ctx, notice), Ready)  # no gateway: no link will come


async def test_a_notice_past_its_deadline_is_stale(
    ctx: Context, owner: Actor, workspace_id: int, clock: FixedClock
) -> None:
    renewal = await renewal_due(ctx, owner, workspace_id, clock)
    assert renewal.subscription_id is not None
    grace_until = clock.now() + timedelta(days=3)
    payload = GraceReminder(renewal.subscription_id, "cc2", grace_until, order=renewal.reference)
    notice = Notice.of(payload, workspace_id, CHAT, deadline=grace_until)
    assert isinstance(await one(ctx, notice), Ready)
    clock.advance(timedelta(days=3))
    assert await one(ctx, notice) == Stale("its deadline passed")


async def test_the_language_is_the_chats_own_choice_else_the_workspaces(
    ctx: Context, workspace_id: int
) -> None:
    await set_workspace(ctx, workspace_id, locale="en")
    await talk(ctx, "telegram", "1001", "1001", "vi")
    await talk(ctx, "telegram", "-100777", "1002", "en", age=10)
    await talk(ctx, "telegram", "-100777", "1003", "vi", age=5)
    chats = [("telegram", "1001"), ("telegram", "2002"), ("telegram", "-100777")]
    notices = [Notice.of(OrderExpired("ord_1", "cc1"), workspace_id, chat) for chat in chats]
    verdicts = await prepare(ctx, queued(*notices))
    assert [v.locale for v in verdicts if isinstance(v, Ready)] == ["vi", "en", "vi"]


async def test_a_slack_dm_reads_the_language_its_person_chose_anywhere_in_the_app(
    ctx: Context, workspace_id: int
) -> None:
    await talk(ctx, "slack", "home:U1", "U1", "vi")
    await talk(ctx, "slack", "D2:U2", "U2", "vi", age=10)
    await talk(ctx, "slack", "home:U2", "U2", "en")
    to_person = Notice.of(OrderExpired("ord_1", "cc1"), workspace_id, ("slack", "U1"))
    in_dm = Notice.of(OrderExpired("ord_1", "cc1"), workspace_id, ("slack", "D9:U1"))
    own_dm = Notice.of(OrderExpired("ord_2", "cc1"), workspace_id, ("slack", "D2:U2"))
    stranger = Notice.of(OrderExpired("ord_3", "cc1"), workspace_id, ("slack", "U3"))
    verdicts = await prepare(ctx, queued(to_person, in_dm, own_dm, stranger))
    assert [v.locale for v in verdicts if isinstance(v, Ready)] == ["vi", "vi", "vi", None]


async def test_staff_notices_and_an_unknown_workspace(ctx: Context, workspace_id: int) -> None:
    staff = Notice("staff.flagged", workspace_id, "telegram", "-100555", {"order": "x"})
    gone = Notice.of(OrderExpired("ord_1", "cc1"), workspace_id + 99, CHAT)
    verdicts = await prepare(ctx, queued(staff, gone))
    assert verdicts == [Ready(staff, None, "UTC"), Stale("the workspace no longer exists")]
    assert await prepare(ctx, []) == []


@pytest.mark.parametrize("size", [1, 30])
async def test_a_batch_costs_the_same_few_queries_however_many_notices(
    ctx: Context, owner: Actor, workspace_id: int, clock: FixedClock, size: int
) -> None:
    renewal = await renewal_due(ctx, owner, workspace_id, clock)
    sub = await subscription(ctx, workspace_id, "cc2")
    assert renewal.subscription_id is not None
    notices = [
        Notice.of(RenewalDue(sub.id, "cc2", order=renewal.reference), workspace_id, CHAT),
        reminder(workspace_id, sub),
        Notice.of(OrderExpired("ord_1", "cc1"), workspace_id, ("slack", "D1:U1")),
    ]
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(ctx.db.engine.sync_engine, "before_cursor_execute", count)
    try:
        verdicts = await prepare(ctx, queued(*(notices * size)))
    finally:
        event.remove(ctx.db.engine.sync_engine, "before_cursor_execute", count)
    assert len(verdicts) == 3 * size
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 4  # workspaces, conversations, subscriptions, orders

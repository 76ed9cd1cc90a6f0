"""The events that tell: each writes its typed notice with its cause, to the chat where the
order started or, with none, to each billing admin (DESIGN 14)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy import select

from core.access import Actor
from core.clock import FixedClock
from core.model import OutboxNotice
from core.notice_kinds import (
    CancellationRequested,
    ChangeScheduled,
    OrderExpired,
    OrderReplaced,
    PaymentFailed,
    PaymentSucceeded,
    payload_of,
)
from core.ports import Notice, RecordingNotifier
from core.pricing import Terms
from core.services.context import Context
from core.services.orders import Chat, place_order, schedule_downgrade
from core.services.outbox import OutboxNotifier
from core.services.payments import Release, record_payment_failure, release_order
from core.services.subscriptions import start_trial, unsubscribe
from core.services.sweep import sweep
from core.services.workspaces import add_member
from core.states import Role
from tests.integration.helpers import CHAT, buy, pay, subscription

OWNER_CHAT = ("telegram", "1001")
OTHER = Chat("slack", "D9:U9")


def told(notifier: RecordingNotifier, kind: str) -> list[Notice]:
    return [n for n in notifier.notices if n.kind == kind]


def chat_of(notice: Notice) -> tuple[str | None, str | None]:
    return notice.chat_platform, notice.chat_id


async def test_a_replaced_order_tells_its_own_chat_which_order_replaced_it(
    ctx: Context, owner: Actor, workspace_id: int, notifier: RecordingNotifier
) -> None:
    older = await place_order(ctx, owner, workspace_id, Terms("cc2", 12, 100), chat=CHAT)
    newer = await place_order(ctx, owner, workspace_id, Terms("cc2", 12, 150), chat=OTHER)
    (notice,) = told(notifier, "order.replaced")
    assert chat_of(notice) == (CHAT.platform, CHAT.chat_id)
    assert payload_of(notice.kind, notice.data) == OrderReplaced(
        older.reference, "cc2", replaced_by=newer.reference
    )


async def test_an_order_that_had_lapsed_is_not_told_as_replaced(
    ctx: Context, owner: Actor, workspace_id: int, clock: FixedClock, notifier: RecordingNotifier
) -> None:
    older = await place_order(ctx, owner, workspace_id, Terms("cc2", 12, 100), chat=CHAT)
    clock.set(older.expires_at)
    await place_order(ctx, owner, workspace_id, Terms("cc2", 12, 150), chat=CHAT)
    assert told(notifier, "order.replaced") == []


async def test_an_unpaid_order_that_lapses_tells_the_billing_admins_when_no_chat_began_it(
    ctx: Context, owner: Actor, workspace_id: int, clock: FixedClock, notifier: RecordingNotifier
) -> None:
    await add_member(ctx, owner, workspace_id, Actor("slack", "U5"), Role.ADMIN)
    placed = await place_order(ctx, owner, workspace_id, Terms("cc1", 1, 1))
    clock.advance(timedelta(minutes=30))
    assert (await sweep(ctx))["order.expired"] == 1
    notices = told(notifier, "order.expired")
    assert [chat_of(n) for n in notices] == [OWNER_CHAT, ("slack", "U5")]
    assert payload_of(notices[0].kind, notices[0].data) == OrderExpired(placed.reference, "cc1")


async def test_a_link_the_provider_withdrew_expires_the_order_and_tells_its_chat(
    ctx: Context, owner: Actor, workspace_id: int, notifier: RecordingNotifier
) -> None:
    placed = await place_order(ctx, owner, workspace_id, Terms("cc1", 1, 1), chat=CHAT)
    released = await release_order(ctx, provider="fake", order_reference=placed.reference)
    assert released is Release.EXPIRED
    (notice,) = told(notifier, "order.expired")
    assert chat_of(notice) == (CHAT.platform, CHAT.chat_id)


async def test_unsubscribing_at_period_end_tells_the_end_date_and_ending_a_trial_does_not(
    ctx: Context, owner: Actor, workspace_id: int, notifier: RecordingNotifier
) -> None:
    await buy(ctx, owner, workspace_id, Terms("cc2", 1, 5))
    sub = await subscription(ctx, workspace_id, "cc2")
    await unsubscribe(ctx, owner, workspace_id, sub.id)
    (notice,) = told(notifier, "cancellation.requested")
    assert chat_of(notice) == (CHAT.platform, CHAT.chat_id)
    assert payload_of(notice.kind, notice.data) == CancellationRequested(
        sub.id, "cc2", ends_at=sub.period_end
    )
    trial = await start_trial(ctx, owner, workspace_id, "cc1")
    await unsubscribe(ctx, owner, workspace_id, trial)
    assert len(told(notifier, "cancellation.requested")) == 1


async def test_a_scheduled_downgrade_tells_the_new_terms_and_the_day_they_apply(
    ctx: Context, owner: Actor, workspace_id: int, notifier: RecordingNotifier
) -> None:
    await buy(ctx, owner, workspace_id, Terms("cc2", 12, 10))
    sub = await subscription(ctx, workspace_id, "cc2")
    await schedule_downgrade(ctx, owner, workspace_id, sub.id, Terms("cc2", 12, 5))
    (notice,) = told(notifier, "change.scheduled")
    assert payload_of(notice.kind, notice.data) == ChangeScheduled(
        sub.id, "cc2", "cc2", 5, 12, at=sub.period_end
    )


async def test_payment_notices_carry_typed_payloads_and_reach_an_admin_without_a_chat(
    ctx: Context, owner: Actor, workspace_id: int, notifier: RecordingNotifier
) -> None:
    placed = await place_order(ctx, owner, workspace_id, Terms("cc1", 1, 2), chat=CHAT)
    await pay(ctx, placed)
    (receipt,) = told(notifier, "payment.succeeded")
    sub = await subscription(ctx, workspace_id, "cc1")
    assert payload_of(receipt.kind, receipt.data) == PaymentSucceeded(
        placed.reference,
        "cc1",
        quantity=2,
        period_end=sub.period_end,
        subscription_id=sub.id,
        cycle_months=1,
        amount=placed.quote.due_now,
        currency="USD",
    )
    unchatted = await place_order(ctx, owner, workspace_id, Terms("cc2", 1, 1))
    assert await record_payment_failure(ctx, provider="fake", order_reference=unchatted.reference)
    (failed,) = told(notifier, "payment.failed")
    assert chat_of(failed) == OWNER_CHAT
    assert payload_of(failed.kind, failed.data) == PaymentFailed(
        unchatted.reference, "cc2", reason="payment failed"
    )


async def test_a_told_event_is_stored_in_the_outbox_with_its_cause(
    ctx: Context, owner: Actor, workspace_id: int
) -> None:
    stored = replace(ctx, notifier=OutboxNotifier(ctx.db, ctx.clock))
    await place_order(stored, owner, workspace_id, Terms("cc2", 12, 100), chat=CHAT)
    await place_order(stored, owner, workspace_id, Terms("cc2", 12, 150), chat=OTHER)
    async with ctx.db.read() as session:
        rows = list(await session.scalars(select(OutboxNotice)))
    assert [(r.kind, r.chat_platform, r.chat_id) for r in rows] == [
        ("order.replaced", CHAT.platform, CHAT.chat_id)
    ]

"""Support staff's look-ups: each view is the seeded data, bounded, newest or oldest first as
said; the audit pages; every verb refused to a customer and allowed to a viewer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest

from core.access import Actor, StaffTier
from core.clock import FixedClock, parse_iso
from core.errors import InvalidRequest, NotAllowed, NotFound
from core.lifecycle import Note, NoteKind, Status
from core.money import Money
from core.pricing import Terms
from core.services.context import Context
from core.services.context import audit as write_audit
from core.services.staff.lookup import (
    FlaggedPayment,
    Holding,
    MemberLine,
    NoticeLine,
    OpenOrder,
    SubscriptionLine,
    WorkspaceCard,
    flagged,
    notices,
    show,
)
from core.services.staff.lookup_find import find
from core.services.staff.lookup_history import (
    FieldChange,
    PaymentLine,
    RefundLine,
    audit,
    field_changes,
    orders,
    payments,
)
from core.services.subscriptions import unsubscribe
from core.services.workspaces import add_member
from core.states import NoticeState, OrderKind, OrderStatus, PaymentOutcome, Role
from tests.conftest import START
from tests.integration.staff_seed import (
    ADMIN,
    MEMBER,
    MISPAID,
    OWNER,
    REFUNDED,
    Seeded,
    seed_customer,
)

VIEWER = Actor("slack", "UVIEW", tier=StaffTier.VIEWER)
PAID_AT = START
TRIAL_END = START + timedelta(days=14)
YEAR_LATER = parse_iso("2027-01-15T10:00:00Z")


def usd(minor: int) -> Money:
    return Money(minor, "USD")


def first_payment(seeded: Seeded, payment_id: int) -> PaymentLine:
    due = seeded.paid.quote.due_now
    return PaymentLine(
        id=payment_id,
        order_reference=seeded.paid.reference,
        provider="fake",
        provider_payment_id=seeded.first_payment,
        amount=usd(due),
        outcome=PaymentOutcome.APPLIED,
        needs_support=False,
        note=None,
        received_at=PAID_AT,
        refunded=usd(REFUNDED),
        refunds=(RefundLine(seeded.refund, usd(REFUNDED), "goodwill", "console:sam", START),),
    )


def short_payment(seeded: Seeded, payment_id: int) -> PaymentLine:
    asks = seeded.pending.quote.due_now
    return PaymentLine(
        id=payment_id,
        order_reference=seeded.pending.reference,
        provider="fake",
        provider_payment_id=f"pay_short_{seeded.workspace_id}",
        amount=usd(MISPAID),
        outcome=PaymentOutcome.MISMATCH,
        needs_support=True,
        note=f"paid {MISPAID} USD, the order asks {asks} USD",
        received_at=PAID_AT,
        refunded=usd(0),
        refunds=(),
    )


async def test_show_is_the_workspace_as_seeded(ctx: Context) -> None:
    seeded = await seed_customer(ctx)
    card = await show(ctx, VIEWER, seeded.workspace_id)
    paid, short = card.payments[1], card.payments[0]
    cc1, cc2 = card.subscriptions
    assert card == WorkspaceCard(
        id=seeded.workspace_id,
        name="Acme Support",
        platform="telegram",
        external_id=None,
        timezone="Asia/Ho_Chi_Minh",
        locale=None,
        credit_balance=usd(0),
        subscriptions=(
            SubscriptionLine(
                id=cc1.id,
                package="cc1",
                quantity=5,
                cycle_months=12,
                status=Status.ACTIVE,
                period_end=YEAR_LATER,
                trial_ends_at=None,
                scheduled=None,
                cancel_at_period_end=False,
                grace_until=None,
                notes=(),
            ),
            SubscriptionLine(
                id=cc2.id,
                package="cc2",
                quantity=10,
                cycle_months=1,
                status=Status.TRY,
                period_end=None,
                trial_ends_at=TRIAL_END,
                scheduled=None,
                cancel_at_period_end=False,
                grace_until=None,
                notes=(),
            ),
        ),
        open_orders=(
            OpenOrder(
                reference=seeded.pending.reference,
                kind=OrderKind.ADD_ACCOUNTS,
                terms=Terms("cc1", 12, 8),
                due_now=usd(seeded.pending.quote.due_now),
                link=seeded.pending.payment_link,
                expires_at=seeded.pending.expires_at,
                link_valid=True,
            ),
        ),
        payments=(short_payment(seeded, short.id), first_payment(seeded, paid.id)),
        flags=(short_payment(seeded, short.id),),
        members=(
            MemberLine("telegram", OWNER.user_id, Role.OWNER, None),
            MemberLine("telegram", ADMIN.user_id, Role.ADMIN, None),
            MemberLine("telegram", MEMBER.user_id, Role.MEMBER, None),
        ),
        members_total=3,
    )
    assert card.refundable_orders == (seeded.paid.reference,)
    assert seeded.pending.quote.due_now == 153_00 * 3


async def test_show_tells_an_expired_link_and_the_end_of_an_unsubscribed_period(
    ctx: Context, clock: FixedClock
) -> None:
    seeded = await seed_customer(ctx)
    card = await show(ctx, VIEWER, seeded.workspace_id)
    await unsubscribe(ctx, OWNER, seeded.workspace_id, card.subscriptions[0].id)
    clock.advance(timedelta(hours=2))
    card = await show(ctx, VIEWER, seeded.workspace_id)
    assert card.open_orders[0].link_valid is False
    cc1 = card.subscriptions[0]
    assert cc1.cancel_at_period_end
    assert cc1.notes == (Note(NoteKind.ENDS_ON, YEAR_LATER),)


async def test_show_keeps_to_the_first_members_and_counts_them_all(ctx: Context) -> None:
    seeded = await seed_customer(ctx)
    for n in range(12):
        await write_member(ctx, seeded.workspace_id, n)
    card = await show(ctx, VIEWER, seeded.workspace_id)
    assert len(card.members) == 10 and card.members_total == 15
    assert [m.role for m in card.members[:2]] == [Role.OWNER, Role.ADMIN]


async def write_member(ctx: Context, workspace_id: int, n: int) -> None:
    await add_member(ctx, OWNER, workspace_id, Actor("slack", f"U{n:03}"), Role.MEMBER)


async def test_a_missing_workspace_is_refused_by_each_workspace_lookup(ctx: Context) -> None:
    for lookup in (show, orders, payments, notices, audit):
        with pytest.raises(NotFound, match="There is no workspace 999"):
            await lookup(ctx, VIEWER, 999)


async def test_orders_are_newest_first_with_what_was_paid_and_refunded(ctx: Context) -> None:
    seeded = await seed_customer(ctx)
    pending, paid = await orders(ctx, VIEWER, seeded.workspace_id)
    assert (pending.reference, pending.kind, pending.status) == (
        seeded.pending.reference,
        OrderKind.ADD_ACCOUNTS,
        OrderStatus.PENDING,
    )
    assert (pending.paid, pending.refunded) == (usd(0), usd(0))  # a mismatch is not its money
    assert pending.due_now == usd(seeded.pending.quote.due_now)
    assert pending.provider_reference == f"cs_{seeded.pending.reference}"
    assert (paid.reference, paid.status, paid.terms) == (
        seeded.paid.reference,
        OrderStatus.PAID,
        Terms("cc1", 12, 5),
    )
    assert paid.total == paid.due_now == paid.paid == usd(153_00 * 5)
    assert paid.refunded == usd(REFUNDED)
    assert paid.closed_at == PAID_AT


async def test_payments_are_newest_first_with_each_refund(ctx: Context) -> None:
    seeded = await seed_customer(ctx)
    short, first = await payments(ctx, VIEWER, seeded.workspace_id)
    assert short == short_payment(seeded, short.id)
    assert first == first_payment(seeded, first.id)
    assert first.refundable == usd(153_00 * 5 - REFUNDED)
    assert short.refundable == usd(0)


async def test_flagged_lists_payments_needing_support_oldest_first_across_workspaces(
    ctx: Context, clock: FixedClock
) -> None:
    acme = await seed_customer(ctx)
    clock.advance(timedelta(minutes=1))
    beta = await seed_customer(ctx, "Beta Ltd")
    found = await flagged(ctx, VIEWER)
    assert [(f.workspace_id, f.workspace_name) for f in found] == [
        (acme.workspace_id, "Acme Support"),
        (beta.workspace_id, "Beta Ltd"),
    ]
    assert found[0] == FlaggedPayment(
        acme.workspace_id, "Acme Support", short_payment(acme, found[0].payment.id)
    )
    assert found[1].payment.received_at == START + timedelta(minutes=1)


async def test_no_flagged_payments_is_an_empty_list(ctx: Context) -> None:
    assert await flagged(ctx, VIEWER) == []


async def test_notices_are_newest_first_with_their_delivery_state(ctx: Context) -> None:
    seeded = await seed_customer(ctx)
    sent_id, waiting_id = seeded.notice_ids
    assert await notices(ctx, VIEWER, seeded.workspace_id) == [
        NoticeLine(
            waiting_id, "trial.reminder", "telegram", "1001", NoticeState.PENDING, START, None
        ),
        NoticeLine(
            sent_id,
            "payment.succeeded",
            "telegram",
            "-100555",
            NoticeState.SENT,
            START,
            START + timedelta(seconds=5),
        ),
    ]


async def test_the_audit_is_newest_first_with_tier_reason_comment_and_ids(ctx: Context) -> None:
    seeded = await seed_customer(ctx)
    page = await audit(ctx, VIEWER, seeded.workspace_id)
    newest = page.entries[0]
    assert (newest.action, newest.actor, newest.tier) == (
        "support.refund",
        "console:sam",
        StaffTier.MANAGER,
    )
    assert (newest.reason_code, newest.reason, newest.comment) == (
        "courtesy",
        "goodwill",
        "late delivery",
    )
    assert newest.order_reference == seeded.paid.reference
    assert newest.refund_id == seeded.refund_id and newest.payment_id is not None
    due = seeded.paid.quote.due_now
    assert newest.changes == (
        FieldChange("refundable", str(due), str(due - REFUNDED)),
        FieldChange("refund", None, seeded.refund),
    )
    ids = [e.id for e in page.entries]
    assert ids == sorted(ids, reverse=True)
    oldest = page.entries[-1]
    assert oldest.tier is None


async def test_the_audit_pages_with_has_more_and_an_empty_page_past_the_end(
    ctx: Context,
) -> None:
    seeded = await seed_customer(ctx)
    everything = (await audit(ctx, VIEWER, seeded.workspace_id, per_page=50)).entries
    assert len(everything) > 4
    first = await audit(ctx, VIEWER, seeded.workspace_id, page=1, per_page=3)
    second = await audit(ctx, VIEWER, seeded.workspace_id, page=2, per_page=3)
    assert first.entries + second.entries == everything[:6]
    assert first.has_more and not first.has_previous and second.has_previous
    pages = -(-len(everything) // 3)
    last = await audit(ctx, VIEWER, seeded.workspace_id, page=pages, per_page=3)
    assert not last.has_more and last.entries == everything[(pages - 1) * 3 :]
    past = await audit(ctx, VIEWER, seeded.workspace_id, page=pages + 1, per_page=3)
    assert past.entries == () and not past.has_more


@pytest.mark.parametrize(("page", "per_page"), [(0, 10), (-1, 10), (10_001, 10), (1, 0), (1, 51)])
async def test_the_audit_refuses_pages_out_of_bounds(
    ctx: Context, page: int, per_page: int
) -> None:
    seeded = await seed_customer(ctx)
    with pytest.raises(InvalidRequest):
        await audit(ctx, VIEWER, seeded.workspace_id, page=page, per_page=per_page)


async def test_long_and_nested_audit_values_are_shown_as_short_text(ctx: Context) -> None:
    seeded = await seed_customer(ctx)
    async with ctx.db.unit_of_work() as session:
        write_audit(
            session,
            at=START,
            workspace_id=seeded.workspace_id,
            actor=Actor.system(),
            action="subscription.renew",
            before={"scheduled": {"package": "cc1"}, "note": "x" * 500, "same": 1},
            after={"scheduled": None, "note": "y", "same": 1},
        )
    newest = (await audit(ctx, VIEWER, seeded.workspace_id)).entries[0]
    assert newest.changes == (
        FieldChange("scheduled", '{"package": "cc1"}', None),
        FieldChange("note", "x" * 119 + "…", "y"),
    )


def test_field_changes_list_only_what_moved_in_order() -> None:
    assert field_changes(None, {"name": "Acme", "owner": "telegram:1"}) == (
        FieldChange("name", None, "Acme"),
        FieldChange("owner", None, "telegram:1"),
    )
    assert field_changes({"a": 1, "gone": True}, {"a": 2}) == (
        FieldChange("a", "1", "2"),
        FieldChange("gone", "true", None),
    )
    assert field_changes(None, None) == ()


def lookups(workspace_id: int) -> list[Callable[[Context, Actor], Awaitable[object]]]:
    return [
        lambda c, a: find(c, a, "acme"),
        lambda c, a: show(c, a, workspace_id),
        lambda c, a: audit(c, a, workspace_id),
        lambda c, a: orders(c, a, workspace_id),
        lambda c, a: payments(c, a, workspace_id),
        lambda c, a: flagged(c, a),
        lambda c, a: notices(c, a, workspace_id),
    ]


async def test_a_customer_is_refused_every_lookup_even_in_their_own_workspace(
    ctx: Context,
) -> None:
    seeded = await seed_customer(ctx)
    for lookup in lookups(seeded.workspace_id):
        with pytest.raises(NotAllowed, match=r"Only support staff can do that\."):
            await lookup(ctx, OWNER)


async def test_every_tier_may_use_every_lookup(ctx: Context) -> None:
    seeded = await seed_customer(ctx)
    for tier in StaffTier:
        staff = Actor("slack", "U1", tier=tier)
        for lookup in lookups(seeded.workspace_id):
            assert await lookup(ctx, staff)


async def test_holdings_are_in_the_catalog_order(ctx: Context) -> None:
    seeded = await seed_customer(ctx)
    found = await find(ctx, VIEWER, "Acme Support")
    assert found.hits[0].id == seeded.workspace_id
    assert found.hits[0].holdings == (
        Holding("cc1", 5, Status.ACTIVE),
        Holding("cc2", 10, Status.TRY),
    )

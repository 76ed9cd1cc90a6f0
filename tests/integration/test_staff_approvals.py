"""Second approval (DESIGN 13): a refund or credit above PLANBOT_APPROVAL_OVER waits and
moves nothing, is posted to each staff chat, is never approved by its requester, and runs
(or lapses, or is rejected) when another manager decides; the requester's chat is told."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from core.access import Actor
from core.clock import FixedClock
from core.errors import Conflict, NotAllowed
from core.model import AuditEntry, Payment, StaffAction
from core.money import Money
from core.ports import RecordingNotifier
from core.pricing import Terms
from core.services.context import Context
from core.services.staff.approvals import Lapsed, Rejected, approve, pending_action, reject
from core.services.staff.changes import AwaitingApproval, Done, ProviderFailed, confirm, preview
from core.services.staff.requests import Cancel, Credit, ReasonCode, Refund, RefundMode, new_token
from core.services.staff.state import ActionStatus
from core.staff import StaffChat, StaffDirectory
from tests.conftest import at
from tests.fakes import FakeGateway
from tests.integration.helpers import buy, subscription
from tests.integration.staff import AGENT, MANAGER, SECOND, run

CHATS = (StaffChat("telegram", "-100123"), StaffChat("slack", "C0STAFF"))
REQUESTED_FROM = StaffChat("telegram", "9000")


@pytest.fixture
def staffed(ctx: Context) -> Context:
    ctx.staff = StaffDirectory(chats=CHATS, approval_over=Decimal("100"))
    return ctx


async def ask(ctx: Context, request: Credit | Refund | Cancel, comment: str | None = None) -> int:
    shown = await preview(ctx, MANAGER, request)
    assert shown.needs_approval
    outcome = await confirm(
        ctx,
        MANAGER,
        shown.request,
        ReasonCode.BILLING_ERROR,
        comment,
        shown.state_key,
        new_token(),
        chat=REQUESTED_FROM,
    )
    assert isinstance(outcome, AwaitingApproval)
    return outcome.action_id


async def actions(ctx: Context, action: str) -> list[AuditEntry]:
    async with ctx.db.read() as session:
        rows = await session.scalars(select(AuditEntry).where(AuditEntry.action == action))
        return list(rows)


async def only_payment(ctx: Context) -> Payment:
    async with ctx.db.read() as session:
        payment = await session.scalar(select(Payment))
        assert payment is not None
        return payment


async def balance(ctx: Context, workspace_id: int) -> int:
    from core.model import Workspace

    async with ctx.db.read() as session:
        workspace = await session.get(Workspace, workspace_id)
        assert workspace is not None
        return workspace.credit_balance


async def test_a_credit_above_the_threshold_waits_and_is_posted_to_each_staff_chat(
    staffed: Context, workspace_id: int, notifier: RecordingNotifier
) -> None:
    action_id = await ask(staffed, Credit(workspace_id, Money(10_001, "USD")), "goodwill")
    assert await balance(staffed, workspace_id) == 0
    posted = [n for n in notifier.notices if n.kind == "staff.approval"]
    assert [(n.chat_platform, n.chat_id) for n in posted] == [
        ("telegram", "-100123"),
        ("slack", "C0STAFF"),
    ]
    assert posted[0].data == {
        "action": action_id,
        "verb": "credit",
        "workspace_id": workspace_id,
        "workspace": "Acme Support",
        "amount": 10_001,
        "currency": "USD",
        "requester": "slack:U-support",
        "reason_code": "billing_error",
        "comment": "goodwill",
        "order": None,
    }
    assert [n.kind for n in notifier.notices if n.kind == "staff.changed"] == []
    assert len(await actions(staffed, "staff.approval_requested")) == 1


async def test_exactly_the_threshold_needs_no_second_manager(
    staffed: Context, workspace_id: int
) -> None:
    shown = await preview(staffed, MANAGER, Credit(workspace_id, Money(10_000, "USD")))
    assert not shown.needs_approval


async def test_the_requester_cannot_approve_their_own(staffed: Context, workspace_id: int) -> None:
    action_id = await ask(staffed, Credit(workspace_id, Money(50_000, "USD")))
    with pytest.raises(NotAllowed, match="another manager must approve"):
        await approve(staffed, MANAGER, action_id)
    with pytest.raises(NotAllowed):
        await approve(staffed, AGENT, action_id)
    assert await balance(staffed, workspace_id) == 0


async def test_a_second_manager_approves_and_it_runs_once_and_the_requester_is_told(
    staffed: Context, workspace_id: int, notifier: RecordingNotifier
) -> None:
    action_id = await ask(staffed, Credit(workspace_id, Money(50_000, "USD")))
    shown = await pending_action(staffed, SECOND, action_id)
    assert shown.status is ActionStatus.AWAITING_APPROVAL and shown.requester == "slack:U-support"
    decision = await approve(staffed, SECOND, action_id)
    assert isinstance(decision, Done) and decision.result.approved_by == "slack:U-second"
    assert await balance(staffed, workspace_id) == 50_000
    [told] = [n for n in notifier.notices if n.kind == "staff.decided"]
    assert (told.chat_platform, told.chat_id) == ("telegram", "9000")
    assert (told.data["decision"], told.data["by"]) == ("approved", "slack:U-second")
    [ran] = await actions(staffed, "staff.credit")
    assert (ran.actor, ran.reason_code) == ("slack:U-support", "billing_error")
    [approved] = await actions(staffed, "staff.approved")
    assert approved.actor == "slack:U-second"
    with pytest.raises(Conflict, match="already approved"):
        await approve(staffed, SECOND, action_id)
    assert await balance(staffed, workspace_id) == 50_000


async def test_a_rejected_request_moves_nothing(
    staffed: Context, workspace_id: int, notifier: RecordingNotifier
) -> None:
    action_id = await ask(staffed, Credit(workspace_id, Money(50_000, "USD")))
    assert await reject(staffed, SECOND, action_id) == Rejected(action_id)
    assert await balance(staffed, workspace_id) == 0
    with pytest.raises(Conflict, match="rejected by slack:U-second"):
        await approve(staffed, SECOND, action_id)
    [told] = [n for n in notifier.notices if n.kind == "staff.decided"]
    assert told.data["decision"] == "rejected"
    assert [n for n in notifier.notices if n.kind == "staff.changed"] == []


async def test_approving_after_the_state_moved_lapses_and_nobody_s_money_moves(
    staffed: Context, owner: Actor, workspace_id: int, gateway: FakeGateway
) -> None:
    await buy(staffed, owner, workspace_id, Terms("cc2", 1, 10))
    payment = await only_payment(staffed)
    action_id = await ask(staffed, Refund(workspace_id, payment.id, Money(20_000, "USD")))
    await run(staffed, Refund(workspace_id, payment.id, Money(1_000, "USD")), SECOND)
    decision = await approve(staffed, SECOND, action_id)
    assert isinstance(decision, Lapsed)
    assert list(gateway.refunds) != [] and len(gateway.refunds) == 1  # the small one only
    async with staffed.db.read() as session:
        action = await session.get(StaffAction, action_id)
        assert action is not None and action.status == "lapsed"


async def test_an_approved_refund_is_made_through_the_provider_with_the_requests_key(
    staffed: Context, owner: Actor, workspace_id: int, gateway: FakeGateway
) -> None:
    await buy(staffed, owner, workspace_id, Terms("cc2", 1, 10))
    payment = await only_payment(staffed)
    action_id = await ask(staffed, Refund(workspace_id, payment.id, None))
    async with staffed.db.read() as session:
        action = await session.get(StaffAction, action_id)
        assert action is not None
        token = action.token
    gateway.refund_outages = 1
    with pytest.raises(ProviderFailed, match="confirm again to retry"):
        await approve(staffed, SECOND, action_id)
    decision = await approve(staffed, SECOND, action_id)
    assert isinstance(decision, Done) and decision.result.after.refunded == Money(25_000, "USD")
    assert list(gateway.refunds) == [f"staff:{token}"]
    assert decision.result.approved_by == "slack:U-second"


async def test_a_cancel_refunding_more_than_the_threshold_waits_for_a_second_manager(
    staffed: Context,
    owner: Actor,
    workspace_id: int,
    clock: FixedClock,
    gateway: FakeGateway,
    notifier: RecordingNotifier,
) -> None:
    await buy(staffed, owner, workspace_id, Terms("cc2", 12, 100))
    clock.set(at("2026-07-15T10:00:00Z"))
    sub = await subscription(staffed, workspace_id, "cc2")
    action_id = await ask(staffed, Cancel(workspace_id, sub.id, RefundMode.PRORATED))
    [posted, _] = [n for n in notifier.notices if n.kind == "staff.approval"]
    assert (posted.data["verb"], posted.data["amount"]) == ("cancel", 1_285_479)
    assert (await subscription(staffed, workspace_id, "cc2")).state == "active"
    assert gateway.refunds == {}

    decision = await approve(staffed, SECOND, action_id)
    assert isinstance(decision, Done)
    [made] = gateway.refunds.values()
    assert made.amount == 1_285_479
    assert (await subscription(staffed, workspace_id, "cc2")).state == "inactive"

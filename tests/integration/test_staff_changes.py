"""Staff changes to subscriptions (DESIGN 13): the preview's amounts and dates are what runs,
each run is one audit entry and one notice per billing admin, a token runs once, a moved
state runs nothing, tiers and bad input are refused and change nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core.access import Actor
from core.clock import FixedClock
from core.errors import Conflict, InvalidRequest, NotAllowed, NotFound
from core.lifecycle import Status
from core.model import AuditEntry, OutboxNotice, StaffAction
from core.money import Money
from core.ports import RecordingNotifier
from core.pricing import Terms
from core.services.context import Context
from core.services.orders import place_order
from core.services.staff.changes import AlreadyDone, Done, Moved, confirm, preview
from core.services.staff.preview import Fate
from core.services.staff.requests import (
    Cancel,
    Extend,
    Grant,
    ReasonCode,
    RefundMode,
    Resend,
    Resume,
    StaffRequest,
    Unsubscribe,
    new_token,
)
from core.services.subscriptions import start_trial
from core.services.workspaces import add_member
from core.states import Role
from tests.conftest import at
from tests.fakes import FakeGateway
from tests.integration.helpers import buy, order, subscription
from tests.integration.staff import AGENT, SECOND, VIEWER, change, run


async def count(ctx: Context, model: type[AuditEntry] | type[StaffAction]) -> int:
    async with ctx.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def staff_audits(ctx: Context) -> list[AuditEntry]:
    async with ctx.db.read() as session:
        rows = await session.scalars(
            select(AuditEntry).where(AuditEntry.action.like("staff.%")).order_by(AuditEntry.id)
        )
        return list(rows)


def changed(notifier: RecordingNotifier) -> list[str]:
    return [n.chat_id or "" for n in notifier.notices if n.kind == "staff.changed"]


async def test_extending_a_trial_previews_the_new_end_and_runs_exactly_that(
    ctx: Context, owner: Actor, workspace_id: int, notifier: RecordingNotifier
) -> None:
    sub_id = await start_trial(ctx, owner, workspace_id, "cc2")
    shown = await preview(ctx, AGENT, Extend(workspace_id, sub_id, 10))
    assert shown.before.trial_end == at("2026-01-29T10:00:00Z")
    assert shown.after.trial_end == at("2026-02-08T10:00:00Z")
    assert shown.reminders_move and not shown.needs_approval
    outcome = await confirm(
        ctx, AGENT, shown.request, ReasonCode.COURTESY, None, shown.state_key, new_token()
    )
    assert isinstance(outcome, Done) and outcome.result.after == shown.after
    assert (await subscription(ctx, workspace_id, "cc2")).trial_ends_at == shown.after.trial_end
    [notice] = [n for n in notifier.notices if n.kind == "staff.changed"]
    assert (notice.chat_platform, notice.chat_id) == ("telegram", "1001")
    assert notice.data == {
        "verb": "extend",
        "package": "cc2",
        "before": notice.data["before"] | {"trial_end": "2026-01-29T10:00:00Z"},
        "after": notice.data["after"] | {"trial_end": "2026-02-08T10:00:00Z"},
        "reason_code": "courtesy",
    }


async def test_a_notice_never_carries_the_staff_comment_but_the_audit_does(
    ctx: Context, owner: Actor, workspace_id: int, notifier: RecordingNotifier
) -> None:
    sub_id = await start_trial(ctx, owner, workspace_id, "cc2")
    await change(
        ctx, Extend(workspace_id, sub_id, 3), reason=ReasonCode.OTHER, comment="VIP\x00 note"
    )
    [entry] = await staff_audits(ctx)
    assert (entry.comment, entry.actor_tier) == ("VIP note", "manager")
    [notice] = [n for n in notifier.notices if n.kind == "staff.changed"]
    assert "VIP" not in str(notice.data)


async def test_each_billing_admin_is_told_once_and_members_are_not(
    ctx: Context, owner: Actor, workspace_id: int, notifier: RecordingNotifier
) -> None:
    await add_member(ctx, owner, workspace_id, Actor("slack", "U-ADMIN"), Role.ADMIN)
    await add_member(ctx, owner, workspace_id, Actor("telegram", "2002"), Role.MEMBER)
    sub_id = await start_trial(ctx, owner, workspace_id, "cc1")
    await run(ctx, Extend(workspace_id, sub_id, 1))
    assert sorted(changed(notifier)) == ["1001", "U-ADMIN"]


async def test_granting_accounts_shows_the_renewal_price_and_closes_orders_priced_before(
    ctx: Context, owner: Actor, workspace_id: int, gateway: FakeGateway
) -> None:
    await buy(ctx, owner, workspace_id, Terms("cc2", 12, 100))
    sub = await subscription(ctx, workspace_id, "cc2")
    pending = await place_order(ctx, owner, workspace_id, Terms("cc2", 12, 120))
    shown = await preview(ctx, AGENT, Grant(workspace_id, sub.id, 5))
    assert (shown.before.accounts, shown.after.accounts) == (100, 105)
    assert shown.renewal_price == Money(25_500 * 105, "USD")
    assert [(f.reference, f.fate) for f in shown.orders] == [(pending.reference, Fate.CANCELLED)]
    result = await run(ctx, Grant(workspace_id, sub.id, 5), AGENT)
    assert result.after == shown.after
    assert (await order(ctx, pending.reference)).status == "cancelled"
    assert gateway.cancelled == [f"cs_{pending.reference}"]


async def test_granting_on_a_trial_keeps_within_the_trial_accounts(
    ctx: Context, owner: Actor, workspace_id: int
) -> None:
    sub_id = await start_trial(ctx, owner, workspace_id, "cc1")
    with pytest.raises(InvalidRequest, match="from 1 to 10 accounts"):
        await preview(ctx, AGENT, Grant(workspace_id, sub_id, 1))
    result = await run(ctx, Grant(workspace_id, sub_id, -4))
    assert result.after.accounts == 6 and result.preview.renewal_price == Money(9_000, "USD")


async def test_unsubscribe_and_resume_from_staff_end_at_the_period_and_take_it_back(
    ctx: Context, owner: Actor, workspace_id: int
) -> None:
    await buy(ctx, owner, workspace_id, Terms("cc1", 12, 5))
    sub = await subscription(ctx, workspace_id, "cc1")
    off = await run(ctx, Unsubscribe(workspace_id, sub.id), AGENT)
    assert off.after.ends_at_period_end and off.after.status is Status.ACTIVE
    with pytest.raises(Conflict, match="already set to end"):
        await preview(ctx, AGENT, Unsubscribe(workspace_id, sub.id))
    on = await run(ctx, Resume(workspace_id, sub.id), AGENT)
    assert not on.after.ends_at_period_end
    assert [e.action for e in await staff_audits(ctx)] == ["staff.unsubscribe", "staff.resume"]


async def test_unsubscribing_a_trial_ends_it_now_and_cancels_its_orders(
    ctx: Context, owner: Actor, workspace_id: int
) -> None:
    sub_id = await start_trial(ctx, owner, workspace_id, "cc2")
    pending = await place_order(ctx, owner, workspace_id, Terms("cc2", 1, 5))
    shown = await preview(ctx, AGENT, Unsubscribe(workspace_id, sub_id))
    assert shown.after.status is Status.INACTIVE
    assert [f.fate for f in shown.orders] == [Fate.CANCELLED]
    result = await run(ctx, Unsubscribe(workspace_id, sub_id), AGENT)
    assert result.after == shown.after
    assert (await order(ctx, pending.reference)).status == "cancelled"


async def test_resend_makes_a_fresh_link_and_withdraws_the_old_one_after_the_commit(
    ctx: Context, owner: Actor, workspace_id: int, gateway: FakeGateway
) -> None:
    await buy(ctx, owner, workspace_id, Terms("cc2", 12, 100))
    pending = await place_order(ctx, owner, workspace_id, Terms("cc2", 12, 120))
    shown = await preview(ctx, AGENT, Resend(workspace_id, pending.reference))
    assert [(f.reference, f.fate) for f in shown.orders] == [(pending.reference, Fate.NEW_LINK)]
    result = await run(ctx, Resend(workspace_id, pending.reference), AGENT)
    stored = await order(ctx, pending.reference)
    assert result.link == stored.payment_link and result.link != pending.payment_link
    assert gateway.cancelled == [f"cs_{pending.reference}"]
    assert stored.status == "pending"


async def test_a_second_confirm_with_the_same_token_is_already_done_with_the_same_result(
    ctx: Context, owner: Actor, workspace_id: int, notifier: RecordingNotifier
) -> None:
    sub_id = await start_trial(ctx, owner, workspace_id, "cc2")
    shown = await preview(ctx, AGENT, Extend(workspace_id, sub_id, 5))
    token = new_token()
    args = (shown.request, ReasonCode.COURTESY, None, shown.state_key, token)
    first = await confirm(ctx, AGENT, *args)
    second = await confirm(ctx, AGENT, *args)
    assert isinstance(first, Done) and isinstance(second, AlreadyDone)
    assert second.result == first.result
    sub = await subscription(ctx, workspace_id, "cc2")
    assert sub.trial_ends_at == at("2026-02-03T10:00:00Z")
    assert len(await staff_audits(ctx)) == 1 and len(changed(notifier)) == 1


async def test_a_confirm_after_the_state_moved_runs_nothing_and_shows_the_new_preview(
    ctx: Context, owner: Actor, workspace_id: int, notifier: RecordingNotifier
) -> None:
    sub_id = await start_trial(ctx, owner, workspace_id, "cc2")
    mine = await preview(ctx, AGENT, Extend(workspace_id, sub_id, 5))
    await run(ctx, Extend(workspace_id, sub_id, 5), SECOND)
    outcome = await confirm(
        ctx, AGENT, mine.request, ReasonCode.COURTESY, None, mine.state_key, new_token()
    )
    assert isinstance(outcome, Moved)
    assert outcome.preview.after.trial_end == at("2026-02-08T10:00:00Z")
    assert len(await staff_audits(ctx)) == 1 and len(changed(notifier)) == 1


@pytest.mark.parametrize(
    "make",
    [
        lambda ws, sub: Extend(ws, sub, 1),
        lambda ws, sub: Grant(ws, sub, 1),
        lambda ws, sub: Unsubscribe(ws, sub),
        lambda ws, sub: Resume(ws, sub),
        lambda ws, sub: Cancel(ws, sub, RefundMode.NONE),
    ],
)
async def test_a_viewer_may_change_nothing(
    ctx: Context, owner: Actor, workspace_id: int, make: object
) -> None:
    sub_id = await start_trial(ctx, owner, workspace_id, "cc1")
    request: StaffRequest = make(workspace_id, sub_id)  # type: ignore[operator]
    with pytest.raises(NotAllowed, match="needs the"):
        await preview(ctx, VIEWER, request)
    with pytest.raises(NotAllowed):
        await confirm(ctx, VIEWER, request, ReasonCode.COURTESY, None, "x", new_token())
    assert await count(ctx, StaffAction) == 0 and await staff_audits(ctx) == []


async def test_an_agent_may_not_cancel(ctx: Context, owner: Actor, workspace_id: int) -> None:
    sub_id = await start_trial(ctx, owner, workspace_id, "cc1")
    with pytest.raises(NotAllowed, match="needs the manager tier; yours is agent"):
        await preview(ctx, AGENT, Cancel(workspace_id, sub_id, RefundMode.NONE))


@pytest.mark.parametrize("days", [0, 366, -3])
async def test_days_out_of_bounds_change_nothing(
    ctx: Context, owner: Actor, workspace_id: int, days: int
) -> None:
    sub_id = await start_trial(ctx, owner, workspace_id, "cc1")
    with pytest.raises(InvalidRequest, match="1 to 365 days"):
        await change(ctx, Extend(workspace_id, sub_id, days))
    assert await count(ctx, StaffAction) == 0


async def test_a_comment_is_required_for_other_and_bounded(
    ctx: Context, owner: Actor, workspace_id: int
) -> None:
    sub_id = await start_trial(ctx, owner, workspace_id, "cc1")
    request = Extend(workspace_id, sub_id, 1)
    with pytest.raises(InvalidRequest, match="needs a comment"):
        await change(ctx, request, reason=ReasonCode.OTHER, comment="\x07 ")
    with pytest.raises(InvalidRequest, match="at most 500"):
        await change(ctx, request, comment="x" * 501)
    assert await count(ctx, StaffAction) == 0


async def test_only_a_running_trial_is_extended_and_an_unknown_subscription_is_refused(
    ctx: Context, owner: Actor, workspace_id: int
) -> None:
    await buy(ctx, owner, workspace_id, Terms("cc1", 1, 5))
    sub = await subscription(ctx, workspace_id, "cc1")
    with pytest.raises(Conflict, match="running trial"):
        await preview(ctx, AGENT, Extend(workspace_id, sub.id, 3))
    with pytest.raises(NotFound):
        await preview(ctx, AGENT, Extend(workspace_id, 999, 3))


async def test_cancel_with_no_refund_keeps_the_money_where_it_is(
    ctx: Context, owner: Actor, workspace_id: int, gateway: FakeGateway, clock: FixedClock
) -> None:
    await buy(ctx, owner, workspace_id, Terms("cc2", 12, 100))
    clock.advance(timedelta(days=30))
    sub = await subscription(ctx, workspace_id, "cc2")
    result = await run(ctx, Cancel(workspace_id, sub.id, RefundMode.NONE))
    assert result.after.status is Status.INACTIVE and result.preview.refund is None
    assert result.after.balance == Money(0, "USD") and gateway.refunds == {}


async def test_outbox_notices_commit_with_the_change(
    ctx: Context, owner: Actor, workspace_id: int
) -> None:
    from core.services.outbox import OutboxNotifier

    ctx.notifier = OutboxNotifier(ctx.db, ctx.clock)
    sub_id = await start_trial(ctx, owner, workspace_id, "cc1")
    with pytest.raises(InvalidRequest):
        await change(ctx, Extend(workspace_id, sub_id, 1), reason=ReasonCode.OTHER)
    await run(ctx, Extend(workspace_id, sub_id, 1))
    async with ctx.db.read() as session:
        rows = list(await session.scalars(select(OutboxNotice)))
    assert [(r.kind, r.chat_platform, r.chat_id) for r in rows] == [
        ("staff.changed", "telegram", "1001")
    ]

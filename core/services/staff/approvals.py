"""A second manager approves or rejects a waiting refund or credit: never the requester;
approving checks the state again (moved: it lapses and nobody's money moves), then runs."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.access import Actor, StaffVerb, require_staff
from core.errors import Conflict, DomainError, NotAllowed, NotFound
from core.model import StaffAction
from core.services.context import Context, audit
from core.services.staff.actions import (
    asked_of,
    closed_refusal,
    keep_job,
    requester_chat,
    stored_job,
    stored_preview,
    stored_request,
    take_lease,
)
from core.services.staff.changes import (
    AlreadyDone,
    Done,
    Running,
    apply_change,
    rules_for,
    run_provider_step,
)
from core.services.staff.notices import approval_data, tell_requester
from core.services.staff.preview import Preview
from core.services.staff.state import ActionStatus, Locked, load_state, lock_workspace


@dataclass(frozen=True, slots=True)
class Lapsed:
    """The state moved since the request: nothing ran (`preview`: how it stands now, if the
    change still applies at all)."""

    action_id: int
    preview: Preview | None


@dataclass(frozen=True, slots=True)
class Rejected:
    action_id: int


@dataclass(frozen=True, slots=True)
class PendingAction:
    """A staff action as an approver sees it."""

    id: int
    status: ActionStatus
    requester: str
    reason_code: str
    comment: str | None
    preview: Preview
    decided_by: str | None


Decision = Done | AlreadyDone | Lapsed | Rejected


async def pending_action(ctx: Context, staff: Actor, action_id: int) -> PendingAction:
    """What action #id asks, for whoever may decide it."""
    require_staff(StaffVerb.APPROVE, staff)
    async with ctx.db.read() as session:
        action = await session.get(StaffAction, action_id)
        if action is None:
            raise NotFound("There is no staff action #{id}.", id=action_id)
        return PendingAction(
            action.id,
            ActionStatus(action.status),
            action.actor,
            action.reason_code,
            action.comment,
            stored_preview(action),
            action.decided_by,
        )


async def _deciding(
    session: AsyncSession, staff: Actor, verb: StaffVerb, action_id: int
) -> tuple[StaffAction, Locked]:
    require_staff(verb, staff)
    workspace_id = await session.scalar(
        select(StaffAction.workspace_id).where(StaffAction.id == action_id)
    )
    if workspace_id is None:
        raise NotFound("There is no staff action #{id}.", id=action_id)
    locked = await lock_workspace(session, workspace_id)
    action = locked.named(action_id=action_id) or await session.get(StaffAction, action_id)
    assert action is not None
    if action.actor == staff.label:
        raise NotAllowed(
            "You asked for action #{id}: another manager must approve or reject it.",
            id=action_id,
        )
    return action, locked


def _decided_refusal(action: StaffAction) -> DomainError:
    if action.status == ActionStatus.DONE:
        return Conflict(
            "Action #{id} was already approved by {who} and has run.",
            id=action.id,
            who=action.decided_by or "?",
        )
    return closed_refusal(action)


async def approve(ctx: Context, staff: Actor, action_id: int) -> Decision:
    """Run a waiting refund or credit as it was asked, if the state has not moved."""
    async with ctx.db.unit_of_work() as session:
        step = await _approve_in(session, ctx, staff, action_id)
    if isinstance(step, Running):
        outcome = await run_provider_step(ctx, step)
        assert isinstance(outcome, Done | AlreadyDone)
        return outcome
    return step


async def _approve_in(
    session: AsyncSession, ctx: Context, staff: Actor, action_id: int
) -> Decision | Running:
    now = ctx.clock.now()
    action, locked = await _deciding(session, staff, StaffVerb.APPROVE, action_id)
    request = stored_request(action)
    if action.status == ActionStatus.RUNNING and action.decided_by is not None:
        take_lease(action, now)  # an approved refund whose provider call failed: retry it
        return Running(
            action.id, request, stored_preview(action), stored_job(action), asked_of(action)
        )
    if action.status != ActionStatus.AWAITING_APPROVAL:
        raise _decided_refusal(action)
    state = await load_state(session, request, now, locked=locked, excluding=action)
    requested = stored_preview(action)
    try:
        shown: Preview | None = rules_for(request).preview(ctx, state, request)
    except DomainError:
        shown = None
    action.decided_by, action.decided_at = staff.label, now
    data = approval_data(action.id, requested, action.actor, action.reason_code, action.comment)
    if shown is None or shown.state_key != action.state_key:
        action.status = ActionStatus.LAPSED.value
        _audit_decision(session, action, staff, "staff.approval_lapsed")
        await tell_requester(ctx, requester_chat(action), data, "lapsed", staff.label)
        return Lapsed(action.id, shown)
    _audit_decision(session, action, staff, "staff.approved")
    await tell_requester(ctx, requester_chat(action), data, "approved", staff.label)
    rules = rules_for(request)
    job = None if rules.job is None else rules.job(ctx, state, shown, asked_of(action))
    if job is not None:
        keep_job(action, job, now)
        return Running(action.id, request, shown, job, asked_of(action))
    return Done(await apply_change(session, ctx, state, shown, None, asked_of(action), action))


async def reject(ctx: Context, staff: Actor, action_id: int) -> Rejected:
    """Close a waiting refund or credit without effect; the requester is told."""
    async with ctx.db.unit_of_work() as session:
        action, _ = await _deciding(session, staff, StaffVerb.REJECT, action_id)
        if action.status != ActionStatus.AWAITING_APPROVAL:
            raise _decided_refusal(action)
        now = ctx.clock.now()
        action.status = ActionStatus.REJECTED.value
        action.decided_by, action.decided_at = staff.label, now
        _audit_decision(session, action, staff, "staff.rejected")
        preview = stored_preview(action)
        data = approval_data(action.id, preview, action.actor, action.reason_code, action.comment)
        await tell_requester(ctx, requester_chat(action), data, "rejected", staff.label)
        return Rejected(action.id)


def _audit_decision(session: AsyncSession, action: StaffAction, staff: Actor, what: str) -> None:
    assert action.decided_at is not None
    audit(
        session,
        at=action.decided_at,
        workspace_id=action.workspace_id,
        subscription_id=action.subscription_id,
        actor=staff,
        action=what,
        reason=f"staff action #{action.id} asked by {action.actor}",
        reason_code=action.reason_code,
    )

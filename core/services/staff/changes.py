"""Every staff change: preview → reason → confirm once → run → result (DESIGN section 13).

`preview` reads; `confirm` runs the change on exactly the state previewed (its key), once per
token: the action row carrying the token is inserted in the change's own unit of work, the
workspace locked first. A change with a provider call (a refund, a fresh link) is recorded as
running, calls the provider after that commit, then records what the provider did; a failed
call leaves it to be retried with the same idempotency key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import partial

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from core import lifecycle
from core.access import Actor, StaffVerb, require_staff
from core.db import after_commit
from core.errors import PaymentProviderError
from core.model import StaffAction
from core.ports import Refunder
from core.services.checkouts import withdraw_replaced
from core.services.context import Context, audit
from core.services.staff import money_rules, resend_rules, subscription_rules
from core.services.staff.actions import (
    ChangeResult,
    asked_of,
    by_token,
    closed_refusal,
    keep_job,
    new_action,
    result_data,
    stored_job,
    stored_preview,
    stored_request,
    stored_result,
    take_lease,
)
from core.services.staff.approval_requests import request_approval
from core.services.staff.notices import customer_fields, tell_billing_admins
from core.services.staff.preview import Job, LinkJob, Preview, RefundJob
from core.services.staff.requests import ReasonCode, StaffRequest, clean_comment
from core.services.staff.rules import Asked, Effect, Linked, Refunded, Rules
from core.services.staff.state import ActionStatus, ChangeState, load_state, lock_workspace
from core.staff import StaffChat

RULES: dict[type, Rules] = {
    **subscription_rules.RULES,
    **money_rules.RULES,
    **resend_rules.RULES,
}


@dataclass(frozen=True, slots=True)
class Done:
    """The change ran now."""

    result: ChangeResult


@dataclass(frozen=True, slots=True)
class AlreadyDone:
    """The token was used: this is that run's result, and nothing ran again."""

    result: ChangeResult


@dataclass(frozen=True, slots=True)
class Moved:
    """The state is no longer the one previewed: nothing ran; this is the new preview."""

    preview: Preview


@dataclass(frozen=True, slots=True)
class AwaitingApproval:
    """A refund or credit above the threshold waits for a second manager; nothing moved."""

    action_id: int
    preview: Preview


Outcome = Done | AlreadyDone | Moved | AwaitingApproval


class ProviderFailed(PaymentProviderError):
    """The provider call failed: the action stays open, to be retried with the same key."""


@dataclass(frozen=True, slots=True)
class Running:
    """An action recorded as running whose provider call comes next."""

    action_id: int
    request: StaffRequest
    preview: Preview
    job: Job
    asked: Asked


def rules_for(request: StaffRequest) -> Rules:
    return RULES[type(request)]


async def preview(ctx: Context, staff: Actor, request: StaffRequest) -> Preview:
    """What `request` would do now, read-only; a refusal says why it cannot."""
    require_staff(request.verb, staff)
    async with ctx.db.read() as session:
        state = await load_state(session, request, ctx.clock.now())
        return rules_for(request).preview(ctx, state, request)


async def used(ctx: Context, staff: Actor, token: str) -> AlreadyDone | AwaitingApproval | None:
    """What became of a confirm token, read-only: its result, its wait for a second manager,
    or None (not used yet, or its provider call still to be made)."""
    require_staff(StaffVerb.FIND, staff)
    async with ctx.db.read() as session:
        action = await by_token(session, token)
    if action is None:
        return None
    if action.status == ActionStatus.DONE:
        return AlreadyDone(stored_result(action))
    if action.status == ActionStatus.AWAITING_APPROVAL:
        return AwaitingApproval(action.id, stored_preview(action))
    return None


async def confirm(
    ctx: Context,
    staff: Actor,
    request: StaffRequest,
    reason: ReasonCode,
    comment: str | None,
    state_key: str,
    token: str,
    *,
    chat: StaffChat | None = None,
) -> Outcome:
    """Run `request` once, if the state is still the one `state_key` names. `chat` is where
    the request came from, told when a second manager decides."""
    require_staff(request.verb, staff)
    asked = Asked(staff, reason, clean_comment(reason, comment), token)
    try:
        async with ctx.db.unit_of_work() as session:
            step = await _first_step(session, ctx, request, asked, state_key, chat)
    except IntegrityError:
        # The same token reached another process first: answer with its action.
        async with ctx.db.unit_of_work() as session:
            existing = (await lock_workspace(session, request.workspace_id, token)).named(
                token=token
            )
            if existing is None:
                raise
            step = _answer_existing(existing, ctx.clock.now())
    if isinstance(step, Running):
        return await run_provider_step(ctx, step)
    return step


async def _first_step(
    session: AsyncSession,
    ctx: Context,
    request: StaffRequest,
    asked: Asked,
    state_key: str,
    chat: StaffChat | None,
) -> Outcome | Running:
    now = ctx.clock.now()
    locked = await lock_workspace(session, request.workspace_id, asked.token)
    existing = locked.named(token=asked.token)
    if existing is not None:
        return _answer_existing(existing, now)
    state = await load_state(session, request, now, locked=locked)
    rules = rules_for(request)
    shown = rules.preview(ctx, state, request)
    if shown.state_key != state_key:
        return Moved(shown)
    if shown.needs_approval:
        action = new_action(shown, asked, chat, now, ActionStatus.AWAITING_APPROVAL)
        session.add(action)
        await session.flush()
        await request_approval(session, ctx, action, shown, asked)
        return AwaitingApproval(action.id, shown)
    job = None if rules.job is None else rules.job(ctx, state, shown, asked)
    action = new_action(shown, asked, chat, now, ActionStatus.RUNNING)
    if job is not None:
        keep_job(action, job, now)
        session.add(action)
        await session.flush()
        return Running(action.id, request, shown, job, asked)
    return Done(await apply_change(session, ctx, state, shown, None, asked, action))


def _answer_existing(action: StaffAction, now: datetime) -> Outcome | Running:
    """A token already used: its result, its wait for approval, or its provider retry."""
    status = ActionStatus(action.status)
    if status is ActionStatus.DONE:
        return AlreadyDone(stored_result(action))
    if status is ActionStatus.AWAITING_APPROVAL:
        return AwaitingApproval(action.id, stored_preview(action))
    if status is ActionStatus.RUNNING:
        take_lease(action, now)
        asked = asked_of(action)
        return Running(
            action.id, stored_request(action), stored_preview(action), stored_job(action), asked
        )
    raise closed_refusal(action)


async def apply_change(
    session: AsyncSession,
    ctx: Context,
    state: ChangeState,
    shown: Preview,
    effect: Effect,
    asked: Asked,
    action: StaffAction,
) -> ChangeResult:
    """Apply the change in the caller's unit of work: one audit entry, one notice per billing
    admin, the action done with its result (a new one inserted now, so its unique token is
    the backstop); links are withdrawn after the commit."""
    sub = state.subscription
    # The subscription's own snapshots ride along, so the stats see what MRR this moved.
    was = {} if sub is None else lifecycle.snapshot(sub)
    applied = await rules_for(shown.request).apply(session, ctx, state, shown, effect, asked)
    action.status = ActionStatus.DONE.value
    action.result = result_data(applied.after, applied.link, applied.provider_refund, action)
    now = {} if sub is None else lifecycle.snapshot(sub)
    audit(
        session,
        at=state.now,
        workspace_id=state.workspace.id,
        subscription_id=None if sub is None else sub.id,
        actor=asked.staff,
        action=f"staff.{shown.request.verb.value}",
        before={**was, **customer_fields(shown.before)},
        after={**now, **customer_fields(applied.after)},
        order_id=applied.order_id,
        payment_id=applied.payment_id,
        reason=asked.why,
        reason_code=asked.reason.value,
        comment=asked.comment,
        refund_id=applied.refund_id,
    )
    await tell_billing_admins(session, ctx, shown, applied.after, asked.reason, applied.link)
    if applied.withdraw:
        after_commit(session, partial(withdraw_replaced, ctx, list(applied.withdraw)))
    if action.id is None:
        session.add(action)
        await session.flush()
    return ChangeResult(
        action.id, shown, applied.after, applied.link, applied.provider_refund, action.decided_by
    )


async def _call_provider(ctx: Context, job: Job) -> Effect:
    """The provider call, with no transaction open."""
    if isinstance(job, RefundJob):
        gateway = ctx.gateway
        assert isinstance(gateway, Refunder), "the preview checked the gateway refunds"
        return Refunded(job.payment_id, await gateway.refund(job.refund))
    assert isinstance(job, LinkJob) and ctx.gateway is not None
    checkout = await ctx.gateway.create_checkout(job.checkout)
    return Linked(job.order_reference, checkout, job.replaced)


async def run_provider_step(ctx: Context, running: Running) -> Outcome:
    """Call the provider for a running action, then record what it did once."""
    try:
        effect = await _call_provider(ctx, running.job)
    except PaymentProviderError as exc:
        await _release(ctx, running, exc)
        raise ProviderFailed(
            "The payment provider did not do it: {detail} Nothing is recorded as done; "
            "confirm again to retry: the provider gets the same request, so it cannot happen "
            "twice.",
            detail=exc.message,
        ) from exc
    async with ctx.db.unit_of_work() as session:
        locked = await lock_workspace(session, running.request.workspace_id)
        action = locked.named(action_id=running.action_id)
        if action is None:
            action = await session.get(StaffAction, running.action_id)
            assert action is not None
            return AlreadyDone(stored_result(action))
        now = ctx.clock.now()
        state = await load_state(session, running.request, now, locked=locked, excluding=action)
        result = await apply_change(
            session, ctx, state, running.preview, effect, running.asked, action
        )
    return Done(result)


async def _release(ctx: Context, running: Running, error: PaymentProviderError) -> None:
    """A failed attempt gives its lease back, so the next confirm retries at once."""
    async with ctx.db.unit_of_work() as session:
        locked = await lock_workspace(session, running.request.workspace_id)
        action = locked.named(action_id=running.action_id)
        if action is not None and action.status == ActionStatus.RUNNING:
            action.result = {"failed": error.message[:500]}

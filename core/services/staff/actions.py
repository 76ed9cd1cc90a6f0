"""The staff action row: one per confirm token (unique), holding the request, the preview it
ran on, the provider job, its status and its result."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.access import Actor, StaffTier
from core.clock import format_iso, parse_iso
from core.errors import Conflict
from core.model import StaffAction
from core.services.staff.codec import from_data, to_data
from core.services.staff.preview import Job, Picture, Preview
from core.services.staff.requests import ReasonCode, StaffRequest
from core.services.staff.rules import Asked
from core.services.staff.state import ActionStatus
from core.staff import StaffChat

LEASE = timedelta(seconds=60)
"""How long a provider call in flight keeps a second attempt of the same action waiting."""


@dataclass(frozen=True, slots=True)
class ChangeResult:
    """A change that ran: the preview it ran on, the picture after it, and what it made."""

    action_id: int
    preview: Preview
    after: Picture
    link: str | None = None
    provider_refund: str | None = None
    approved_by: str | None = None


def new_action(
    preview: Preview, asked: Asked, chat: StaffChat | None, now: datetime, status: ActionStatus
) -> StaffAction:
    request = preview.request
    subscription_id = getattr(request, "subscription_id", None)
    assert asked.staff.tier is not None
    return StaffAction(
        token=asked.token,
        verb=request.verb.value,
        workspace_id=request.workspace_id,
        subscription_id=subscription_id,
        request={
            "request": to_data(request),
            "preview": to_data(preview),
            "chat": None if chat is None else {"platform": chat.platform, "chat_id": chat.chat_id},
        },
        state_key=preview.state_key,
        actor=asked.staff.label,
        actor_tier=asked.staff.tier.value,
        reason_code=asked.reason.value,
        comment=asked.comment,
        status=status.value,
        created_at=now,
    )


async def by_token(session: AsyncSession, token: str) -> StaffAction | None:
    found: StaffAction | None = await session.scalar(
        select(StaffAction).where(StaffAction.token == token)
    )
    return found


def stored_request(action: StaffAction) -> StaffRequest:
    return from_data(StaffRequest, action.request["request"])


def stored_preview(action: StaffAction) -> Preview:
    return from_data(Preview, action.request["preview"])


def stored_job(action: StaffAction) -> Job:
    return from_data(Job, action.request["job"])


def result_data(
    after: Picture, link: str | None, provider_refund: str | None, action: StaffAction
) -> dict[str, Any]:
    """What a run adds to its action's row (the preview is there already)."""
    return {
        "after": to_data(after),
        "link": link,
        "provider_refund": provider_refund,
        "approved_by": action.decided_by,
    }


def stored_result(action: StaffAction) -> ChangeResult:
    result = action.result or {}
    return ChangeResult(
        action.id,
        stored_preview(action),
        from_data(Picture, result.get("after")),
        result.get("link"),
        result.get("provider_refund"),
        result.get("approved_by"),
    )


def requester_chat(action: StaffAction) -> dict[str, Any] | None:
    chat = action.request.get("chat")
    return chat if isinstance(chat, dict) else None


def asked_of(action: StaffAction) -> Asked:
    """Who asked for the action and why, as recorded."""
    platform, _, user_id = action.actor.partition(":")
    staff = Actor(platform, user_id, tier=StaffTier(action.actor_tier))
    return Asked(staff, ReasonCode(action.reason_code), action.comment, action.token)


def keep_job(action: StaffAction, job: Job, now: datetime) -> None:
    """Record the provider job and take the lease on it for this attempt."""
    action.status = ActionStatus.RUNNING.value
    action.request = {**action.request, "job": to_data(job)}
    action.result = {"attempt_at": format_iso(now)}


def take_lease(action: StaffAction, now: datetime) -> None:
    """A running action's next attempt: refused while another attempt is in flight."""
    attempt = (action.result or {}).get("attempt_at")
    if attempt is not None and now - parse_iso(str(attempt)) < LEASE:
        raise Conflict(
            "Action #{id} is being run right now; confirm again in a moment to see its result.",
            id=action.id,
        )
    action.result = {"attempt_at": format_iso(now)}


def closed_refusal(action: StaffAction) -> Conflict:
    """Why a rejected or lapsed action cannot be confirmed again."""
    if action.status == ActionStatus.REJECTED:
        return Conflict(
            "Action #{id} was rejected by {who}: nothing changed.",
            id=action.id,
            who=action.decided_by or "?",
        )
    return Conflict(
        "Action #{id} lapsed: the workspace changed before it was approved, so nothing changed.",
        id=action.id,
    )

"""Staff changes in tests: preview, then confirm what was previewed with a reason."""

from __future__ import annotations

from core.access import Actor, StaffTier
from core.services.context import Context
from core.services.staff.actions import ChangeResult
from core.services.staff.changes import Done, Outcome, confirm, preview
from core.services.staff.requests import ReasonCode, StaffRequest, new_token

MANAGER = Actor("slack", "U-support", tier=StaffTier.MANAGER)
SECOND = Actor("slack", "U-second", tier=StaffTier.MANAGER)
AGENT = Actor("telegram", "8000", tier=StaffTier.AGENT)
VIEWER = Actor("telegram", "8001", tier=StaffTier.VIEWER)


async def change(
    ctx: Context,
    request: StaffRequest,
    staff: Actor = MANAGER,
    reason: ReasonCode = ReasonCode.COURTESY,
    comment: str | None = None,
) -> Outcome:
    """Preview `request`, then confirm exactly that preview once."""
    shown = await preview(ctx, staff, request)
    return await confirm(ctx, staff, shown.request, reason, comment, shown.state_key, new_token())


async def run(ctx: Context, request: StaffRequest, staff: Actor = MANAGER) -> ChangeResult:
    """A change that must run at once."""
    outcome = await change(ctx, request, staff)
    assert isinstance(outcome, Done), outcome
    return outcome.result

"""A refund or credit above the threshold: posted to the staff chats, audited, and nothing
moves until a second manager decides."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from core.model import StaffAction
from core.services.context import Context, audit
from core.services.staff.notices import approval_data, ask_staff_chats, customer_fields
from core.services.staff.preview import Preview
from core.services.staff.rules import Asked


async def request_approval(
    session: AsyncSession, ctx: Context, action: StaffAction, preview: Preview, asked: Asked
) -> None:
    """In the unit of work that records the waiting action."""
    audit(
        session,
        at=action.created_at,
        workspace_id=preview.workspace.id,
        subscription_id=action.subscription_id,
        actor=asked.staff,
        action="staff.approval_requested",
        before=customer_fields(preview.before),
        after=customer_fields(preview.after),
        payment_id=getattr(preview.request, "payment_id", None),
        reason=asked.why,
        reason_code=asked.reason.value,
        comment=asked.comment,
    )
    data = approval_data(action.id, preview, asked.staff.label, asked.reason.value, asked.comment)
    await ask_staff_chats(ctx, data)

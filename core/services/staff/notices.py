"""What staff changes tell: the customer's billing admins (`staff.changed`, never the staff's
comment), the staff chats (`staff.approval`) and the requester (`staff.decided`). Each is
written in the unit of work of its cause, so it exists exactly when the cause committed."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import format_iso
from core.ports import Notice
from core.services.context import Context
from core.services.recipients import billing_admin_chats
from core.services.staff.preview import Picture, Preview
from core.services.staff.requests import ReasonCode

CHANGED = "staff.changed"
APPROVAL = "staff.approval"
DECIDED = "staff.decided"


def customer_fields(picture: Picture) -> dict[str, Any]:
    """The customer-visible fields of a picture, as the notice and the audit keep them."""
    return {
        "status": None if picture.status is None else picture.status.value,
        "accounts": picture.accounts,
        "trial_end": None if picture.trial_end is None else format_iso(picture.trial_end),
        "period_end": None if picture.period_end is None else format_iso(picture.period_end),
        "ends_at_period_end": picture.ends_at_period_end,
        "balance": picture.balance.minor,
        "refunded": picture.refunded.minor,
        "currency": picture.balance.currency,
    }


async def tell_billing_admins(
    session: AsyncSession,
    ctx: Context,
    preview: Preview,
    after: Picture,
    reason: ReasonCode,
    link: str | None = None,
) -> int:
    """One `staff.changed` notice per reachable billing admin; returns how many."""
    data: dict[str, Any] = {
        "verb": preview.request.verb.value,
        "package": preview.package,
        "before": customer_fields(preview.before),
        "after": customer_fields(after),
        "reason_code": reason.value,
    }
    if link is not None:
        data["link"] = link
    recipients = await billing_admin_chats(session, preview.workspace.id)
    for recipient in recipients:
        notice = Notice(CHANGED, preview.workspace.id, recipient.platform, recipient.chat_id, data)
        await ctx.notifier.notify(notice)
    return len(recipients)


def approval_data(
    action_id: int, preview: Preview, requester: str, reason: str, comment: str | None
) -> dict[str, Any]:
    amount = preview.refund or preview.credit
    return {
        "action": action_id,
        "verb": preview.request.verb.value,
        "workspace_id": preview.workspace.id,
        "workspace": preview.workspace.name,
        "amount": 0 if amount is None else amount.minor,
        "currency": preview.workspace.currency,
        "requester": requester,
        "reason_code": reason,
        "comment": comment,
        "order": preview.order_reference,
    }


async def ask_staff_chats(ctx: Context, data: dict[str, Any]) -> None:
    """One `staff.approval` notice per staff chat, with what the approvers need to decide."""
    for chat in ctx.staff.chats:
        notice = Notice(APPROVAL, int(data["workspace_id"]), chat.platform, chat.chat_id, data)
        await ctx.notifier.notify(notice)


async def tell_requester(
    ctx: Context, chat: dict[str, Any] | None, data: dict[str, Any], decision: str, by: str
) -> None:
    """`staff.decided` to the chat the request came from (none recorded: nobody to tell)."""
    if not chat:
        return
    told = {**data, "decision": decision, "by": by}
    notice = Notice(
        DECIDED, int(data["workspace_id"]), str(chat["platform"]), str(chat["chat_id"]), told
    )
    await ctx.notifier.notify(notice)

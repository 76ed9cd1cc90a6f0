"""What is posted to the staff chats (DESIGN section 13): flagged payments and refunds or
credits waiting for a second manager, as typed payloads of one notice per staff chat."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from core.ports import Notice
from core.staff import StaffDirectory

FLAGGED = "staff.flagged"
APPROVAL = "staff.approval"


class FlagReason(StrEnum):
    """Why a payment could not be applied: the amount or currency was not the order's, or
    the order's base changed first and the money went to the credit balance."""

    MISMATCH = "mismatch"
    CREDITED = "credited"


@dataclass(frozen=True, slots=True)
class FlaggedPayment:
    """A payment support must look at; amounts are minor units."""

    workspace_id: int
    workspace: str
    order: str
    payment: int
    amount: int
    currency: str
    outcome: FlagReason
    note: str | None = None

    def as_data(self) -> dict[str, Any]:
        return {**asdict(self), "outcome": self.outcome.value}

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> FlaggedPayment:
        return cls(
            workspace_id=int(data["workspace_id"]),
            workspace=str(data["workspace"]),
            order=str(data["order"]),
            payment=int(data["payment"]),
            amount=int(data["amount"]),
            currency=str(data["currency"]),
            outcome=FlagReason(data["outcome"]),
            note=_optional(data.get("note")),
        )


class ApprovalVerb(StrEnum):
    REFUND = "refund"
    CREDIT = "credit"
    CANCEL = "cancel"


@dataclass(frozen=True, slots=True)
class PendingApproval:
    """A refund or credit (alone or with a cancel) above PLANBOT_APPROVAL_OVER waiting for a
    second manager."""

    action: int
    """The staff action (staff_actions row) to approve or reject."""
    verb: ApprovalVerb
    workspace_id: int
    workspace: str
    amount: int
    currency: str
    requester: str
    reason_code: str
    comment: str | None = None
    order: str | None = None

    def as_data(self) -> dict[str, Any]:
        return {**asdict(self), "verb": self.verb.value}

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> PendingApproval:
        return cls(
            action=int(data["action"]),
            verb=ApprovalVerb(data["verb"]),
            workspace_id=int(data["workspace_id"]),
            workspace=str(data["workspace"]),
            amount=int(data["amount"]),
            currency=str(data["currency"]),
            requester=str(data["requester"]),
            reason_code=str(data["reason_code"]),
            comment=_optional(data.get("comment")),
            order=_optional(data.get("order")),
        )


def _optional(value: object) -> str | None:
    return None if value is None else str(value)


def to_staff_chats(
    staff: StaffDirectory, payload: FlaggedPayment | PendingApproval
) -> list[Notice]:
    """One notice per staff chat (none when no staff chat is configured); the workspace is
    the customer's the notice is about."""
    kind = FLAGGED if isinstance(payload, FlaggedPayment) else APPROVAL
    data = payload.as_data()
    return [
        Notice(kind, payload.workspace_id, chat.platform, chat.chat_id, dict(data))
        for chat in staff.chats
    ]

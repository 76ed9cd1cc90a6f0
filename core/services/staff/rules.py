"""What every verb's rules provide: a preview of the state, the provider call it needs (if
any), and how it applies in the run's unit of work."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from core.access import Actor
from core.ports import Checkout, RefundResult
from core.services.context import Context
from core.services.staff.preview import Job, Picture, Preview
from core.services.staff.requests import ReasonCode, StaffRequest
from core.services.staff.state import ChangeState


@dataclass(frozen=True, slots=True)
class Asked:
    """Who confirmed a change, why, and the token bound to it."""

    staff: Actor
    reason: ReasonCode
    comment: str | None
    token: str

    @property
    def why(self) -> str:
        """The reason in words for records that keep one line (a refund's reason)."""
        return self.comment or self.reason.value


@dataclass(frozen=True, slots=True)
class Refunded:
    """The provider gave money back on a payment."""

    payment_id: int
    result: RefundResult


@dataclass(frozen=True, slots=True)
class Linked:
    """The provider made a fresh payment link for an order."""

    order_reference: str
    checkout: Checkout
    replaced: str | None


Effect = Refunded | Linked | None
"""What the provider did (None: the change needed no provider)."""


@dataclass(frozen=True, slots=True)
class Applied:
    """What a run did: the picture after it and what the audit entry points at."""

    after: Picture
    order_id: int | None = None
    payment_id: int | None = None
    refund_id: int | None = None
    provider_refund: str | None = None
    link: str | None = None
    withdraw: tuple[str, ...] = ()
    """Payment links (provider references) to withdraw once the run has committed."""


Previewer = Callable[[Context, ChangeState, StaffRequest], Preview]
JobMaker = Callable[[Context, ChangeState, Preview, Asked], Job | None]
Applier = Callable[[AsyncSession, Context, ChangeState, Preview, Effect, Asked], Awaitable[Applied]]


@dataclass(frozen=True, slots=True)
class Rules:
    preview: Previewer
    apply: Applier
    job: JobMaker | None = None
    """None: the change needs no provider call and runs in one unit of work."""

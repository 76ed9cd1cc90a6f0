"""Who may do what (DESIGN section 4), decided in the use cases, never in adapters."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from core.errors import N_, NotAllowed
from core.states import Role


class StaffTier(StrEnum):
    """How much a support person may do (DESIGN section 13); each tier can do what the one
    before it can."""

    VIEWER = "viewer"
    AGENT = "agent"
    MANAGER = "manager"


class StaffVerb(StrEnum):
    """The `/staff` verbs (their names are part of the contract), plus approving another
    manager's refund or credit."""

    FIND = "find"
    SHOW = "show"
    AUDIT = "audit"
    ORDERS = "orders"
    PAYMENTS = "payments"
    FLAGGED = "flagged"
    NOTICES = "notices"
    STATS = "stats"
    EXTEND = "extend"
    RESEND = "resend"
    GRANT = "grant"
    UNSUBSCRIBE = "unsubscribe"
    RESUME = "resume"
    CANCEL = "cancel"
    REFUND = "refund"
    CREDIT = "credit"
    APPROVE = "approve"
    REJECT = "reject"


_TIER_RANK = {StaffTier.VIEWER: 0, StaffTier.AGENT: 1, StaffTier.MANAGER: 2}

STAFF_TABLE: dict[StaffVerb, StaffTier] = {
    **dict.fromkeys(
        (
            StaffVerb.FIND,
            StaffVerb.SHOW,
            StaffVerb.AUDIT,
            StaffVerb.ORDERS,
            StaffVerb.PAYMENTS,
            StaffVerb.FLAGGED,
            StaffVerb.NOTICES,
            StaffVerb.STATS,
        ),
        StaffTier.VIEWER,
    ),
    **dict.fromkeys(
        (
            StaffVerb.EXTEND,
            StaffVerb.RESEND,
            StaffVerb.GRANT,
            StaffVerb.UNSUBSCRIBE,
            StaffVerb.RESUME,
        ),
        StaffTier.AGENT,
    ),
    **dict.fromkeys(
        (
            StaffVerb.CANCEL,
            StaffVerb.REFUND,
            StaffVerb.CREDIT,
            StaffVerb.APPROVE,
            StaffVerb.REJECT,
        ),
        StaffTier.MANAGER,
    ),
}
"""The least tier each verb needs: DESIGN section 13's table."""

CHANGING_VERBS = frozenset(v for v, tier in STAFF_TABLE.items() if tier is not StaffTier.VIEWER)
"""Verbs that change a customer's billing: each goes preview, reason, confirm, run."""


class Action(StrEnum):
    VIEW_PACKAGES = "view_packages"
    VIEW_DETAILS = "view_details"
    START_TRIAL = "start_trial"
    BUY = "buy"
    UNSUBSCRIBE = "unsubscribe"
    MANAGE_ADMINS = "manage_admins"
    MANAGE_NOTICES = "manage_notices"
    SUPPORT = "support"


@dataclass(frozen=True, slots=True)
class Actor:
    """Someone acting: a platform user (possibly support staff), the system, or a provider."""

    platform: str
    user_id: str
    tier: StaffTier | None = None
    """Set for support staff (PLANBOT_SUPPORT_STAFF): how much they may do."""

    @property
    def is_support(self) -> bool:
        return self.tier is not None

    @classmethod
    def system(cls) -> Actor:
        return cls("system", "system")

    @classmethod
    def provider(cls, name: str) -> Actor:
        return cls("payment provider", name)

    @property
    def label(self) -> str:
        if self.platform == "system":
            return "system"
        return f"{self.platform}:{self.user_id}"

    @property
    def is_automatic(self) -> bool:
        return self.platform in ("system", "payment provider")


_BILLING_ADMIN = {Role.OWNER, Role.ADMIN}

_REFUSALS = {
    Action.VIEW_DETAILS: N_(
        "Only members of this workspace and support staff can see its subscriptions."
    ),
    Action.START_TRIAL: N_("Only the workspace's billing admins can start a trial."),
    Action.BUY: N_(
        "Only the workspace's billing admins (owners and admins) can buy or change packages."
    ),
    Action.UNSUBSCRIBE: N_(
        "Only the workspace's billing admins and support staff can unsubscribe or resume."
    ),
    Action.MANAGE_ADMINS: N_(
        "Only the workspace's billing admins can grant or take back the billing admin role."
    ),
    Action.MANAGE_NOTICES: N_(
        "Only the workspace's billing admins can change its notices and time zone."
    ),
    Action.SUPPORT: N_("Only support staff can do that."),
}


def is_billing_admin(role: str | None) -> bool:
    return role in _BILLING_ADMIN


def platform_makes_admin(*, owner: bool, admin: bool) -> bool:
    """A platform's workspace owners and admins (Slack's users.info flags) are billing admins."""
    return owner or admin


def synced_role(role: str | None, granted: bool, platform_admin: bool) -> Role | None:
    """The role a person's platform flags call for, or None to keep theirs: a role granted in
    planbot survives, and one the platform no longer gives falls back to member."""
    if platform_admin:
        return None if is_billing_admin(role) else Role.ADMIN
    if role is None or (role == Role.ADMIN and not granted):
        return Role.MEMBER
    return None


def allowed(action: Action, actor: Actor, role: str | None) -> bool:
    """The table of section 4; `role` is the actor's role in the workspace (None: outsider)."""
    if actor.is_automatic:
        return True
    if action is Action.VIEW_PACKAGES:
        return True
    if actor.tier is not None:
        if action is Action.UNSUBSCRIBE:
            return staff_may(StaffVerb.UNSUBSCRIBE, actor.tier)
        return action in (Action.VIEW_DETAILS, Action.SUPPORT)
    if action is Action.VIEW_DETAILS:
        return role is not None
    if action in (
        Action.START_TRIAL,
        Action.BUY,
        Action.UNSUBSCRIBE,
        Action.MANAGE_ADMINS,
        Action.MANAGE_NOTICES,
    ):
        return is_billing_admin(role)
    return False


def require(action: Action, actor: Actor, role: str | None) -> None:
    if not allowed(action, actor, role):
        raise NotAllowed(_REFUSALS[action])


def staff_may(verb: StaffVerb, tier: StaffTier | None) -> bool:
    """Whether a support person of `tier` (None: not staff) may use `verb`."""
    return tier is not None and _TIER_RANK[tier] >= _TIER_RANK[STAFF_TABLE[verb]]


_TIER_NAMES = {
    StaffTier.VIEWER: N_("viewer"),
    StaffTier.AGENT: N_("agent"),
    StaffTier.MANAGER: N_("manager"),
}


def tier_name(tier: StaffTier) -> str:
    """The tier's name, marked for translation."""
    return _TIER_NAMES[tier]


def require_staff(verb: StaffVerb, actor: Actor) -> None:
    """Refuse a verb the actor's tier does not reach, saying which tier it needs."""
    if actor.tier is None:
        raise NotAllowed(_REFUSALS[Action.SUPPORT])
    if not staff_may(verb, actor.tier):
        raise NotAllowed(
            "/staff {verb} needs the {tier} tier; yours is {yours}.",
            verb=verb.value,
            tier=STAFF_TABLE[verb].value,
            yours=actor.tier.value,
        )


def staff_verbs(tier: StaffTier) -> tuple[StaffVerb, ...]:
    """The verbs a tier may use, in the table's order (approving and rejecting answer a
    posted request, so the menu leaves them out)."""
    decisions = (StaffVerb.APPROVE, StaffVerb.REJECT)
    return tuple(v for v in STAFF_TABLE if v not in decisions and staff_may(v, tier))

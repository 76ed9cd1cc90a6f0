"""Who may do what (DESIGN section 4), decided in the use cases, never in adapters."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from core.errors import N_, NotAllowed
from core.states import Role


class Action(StrEnum):
    VIEW_PACKAGES = "view_packages"
    VIEW_DETAILS = "view_details"
    START_TRIAL = "start_trial"
    BUY = "buy"
    UNSUBSCRIBE = "unsubscribe"
    MANAGE_ADMINS = "manage_admins"
    SUPPORT = "support"


@dataclass(frozen=True, slots=True)
class Actor:
    """Someone acting: a platform user (possibly support staff), the system, or a provider."""

    platform: str
    user_id: str
    is_support: bool = False

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
    if actor.is_support:
        return action in (Action.VIEW_DETAILS, Action.UNSUBSCRIBE, Action.SUPPORT)
    if action is Action.VIEW_DETAILS:
        return role is not None
    if action in (Action.START_TRIAL, Action.BUY, Action.UNSUBSCRIBE, Action.MANAGE_ADMINS):
        return is_billing_admin(role)
    return False


def require(action: Action, actor: Actor, role: str | None) -> None:
    if not allowed(action, actor, role):
        raise NotAllowed(_REFUSALS[action])

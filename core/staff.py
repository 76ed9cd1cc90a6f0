"""Who the vendor's support staff are, where their group chats are, and when a second
manager must approve (DESIGN section 13): parsed from settings, pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from core.access import Actor, StaffTier

DEFAULT_APPROVAL_OVER = Decimal(1000)
PLATFORMS = ("console", "telegram", "slack")


class StaffSettingError(ValueError):
    """A staff setting that cannot be used; the message says what is wrong with it."""


@dataclass(frozen=True, slots=True)
class StaffChat:
    """A staff group chat where flagged payments and pending approvals are posted."""

    platform: str
    chat_id: str
    team: str | None = None
    """The vendor's Slack team the channel is in, where the app is installed in several."""

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.chat_id}"


@dataclass(frozen=True, slots=True)
class StaffDirectory:
    members: Mapping[str, StaffTier] = field(default_factory=dict)
    """"platform:user_id" → tier."""
    chats: tuple[StaffChat, ...] = ()
    approval_over: Decimal = DEFAULT_APPROVAL_OVER
    """Refunds and credits above this (major units of the catalog currency) wait for a
    second manager."""

    def tier_of(self, platform: str, user_id: str) -> StaffTier | None:
        return self.members.get(f"{platform}:{user_id}")

    def actor(self, platform: str, user_id: str) -> Actor:
        return Actor(platform, user_id, tier=self.tier_of(platform, user_id))

    def is_staff_chat(self, platform: str, chat_id: str) -> bool:
        return self.chat(platform, chat_id) is not None

    def chat(self, platform: str, chat_id: str) -> StaffChat | None:
        """The staff chat with this platform's chat id, if it is one."""
        return next((c for c in self.chats if (c.platform, c.chat_id) == (platform, chat_id)), None)

    def chats_on(self, platform: str) -> tuple[StaffChat, ...]:
        return tuple(c for c in self.chats if c.platform == platform)

    def user_ids(self, platform: str) -> tuple[str, ...]:
        """The staff members' user ids on one platform."""
        prefix = f"{platform}:"
        return tuple(k.removeprefix(prefix) for k in self.members if k.startswith(prefix))

    def with_member(self, platform: str, user_id: str, tier: StaffTier) -> StaffDirectory:
        members = {**self.members, f"{platform}:{user_id}": tier}
        return StaffDirectory(members, self.chats, self.approval_over)


def _entries(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _platform_and_id(entry: str, setting: str) -> tuple[str, str]:
    platform, sep, rest = entry.partition(":")
    if not sep or platform not in PLATFORMS or not rest.strip():
        raise StaffSettingError(
            f"{setting}: {entry!r} is not platform:id (platform one of {', '.join(PLATFORMS)})"
        )
    return platform, rest.strip()


def parse_staff(text: str) -> dict[str, StaffTier]:
    """`platform:user_id[=tier]`, comma-separated; no tier means agent."""
    members: dict[str, StaffTier] = {}
    for entry in _entries(text):
        who, sep, tier_text = entry.partition("=")
        platform, user_id = _platform_and_id(who.strip(), "PLANBOT_SUPPORT_STAFF")
        try:
            tier = StaffTier(tier_text.strip().lower()) if sep else StaffTier.AGENT
        except ValueError:
            tiers = ", ".join(t.value for t in StaffTier)
            raise StaffSettingError(
                f"PLANBOT_SUPPORT_STAFF: {entry!r} has tier {tier_text.strip()!r}; use {tiers}"
            ) from None
        members[f"{platform}:{user_id}"] = tier
    return members


def _staff_chat(entry: str) -> StaffChat:
    """`platform:chat_id`, or `slack:TEAM:CHANNEL` naming the vendor's Slack team."""
    platform, rest = _platform_and_id(entry, "PLANBOT_STAFF_CHATS")
    team, sep, chat_id = rest.rpartition(":")
    if not sep:
        return StaffChat(platform, rest)
    if platform != "slack" or not team.strip() or not chat_id.strip() or ":" in team:
        raise StaffSettingError(
            f"PLANBOT_STAFF_CHATS: {entry!r} is not platform:chat_id "
            "(only Slack names a team: slack:TEAM:CHANNEL)"
        )
    return StaffChat(platform, chat_id.strip(), team.strip())


def parse_staff_chats(text: str) -> tuple[StaffChat, ...]:
    """`platform:chat_id`, comma-separated (`telegram:-100123`, `slack:C0STAFF`,
    `slack:T0TEAM:C0STAFF`, `console:staff`); a chat named twice counts once."""
    chats: dict[tuple[str, str], StaffChat] = {}
    for entry in _entries(text):
        chat = _staff_chat(entry)
        chats.setdefault((chat.platform, chat.chat_id), chat)
    return tuple(chats.values())


def parse_approval_over(text: str) -> Decimal:
    """A non-negative amount in major units (`1000`, `12.50`)."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise StaffSettingError(f"PLANBOT_APPROVAL_OVER: {text!r} is not an amount") from None
    if not value.is_finite() or value < 0:
        raise StaffSettingError(f"PLANBOT_APPROVAL_OVER: {text!r} must be 0 or more")
    return value

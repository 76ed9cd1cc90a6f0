"""A workspace's notice settings (DESIGN 14): which optional notices it wants, its quiet hours
and its time zone, and how a person types them ("22:00-07:00", "Asia/Ho_Chi_Minh").

Pure: the use cases, the send-time check and the chats share these rules; no ORM here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from core.errors import N_, InvalidRequest
from core.notice_kinds import NoticeGroup, group_of
from core.quiet_hours import QuietHours

OFF_WORDS = frozenset({"off", "none", "no"})
ON_WORDS = frozenset({"on", "yes"})
MAX_ZONE = 64
"""The longest zone name stored (IANA's longest is 32 characters)."""

_WINDOW = re.compile(r"(\d{1,2})(?::(\d{2}))?\s*[-\u2013\u2014]\s*(\d{1,2})(?::(\d{2}))?", re.ASCII)

BAD_WINDOW = N_("Type quiet hours as two times of day, such as 22:00-07:00, or off for none.")
SAME_ENDS = N_(
    "Quiet hours need a start and an end that differ, such as 22:00-07:00; off for none."
)
BAD_ZONE = N_(
    "That is not a time zone I know. Type its IANA name, such as Asia/Ho_Chi_Minh, "
    "Europe/Berlin or UTC."
)


@dataclass(frozen=True, slots=True)
class NoticeSettings:
    """What a workspace asked for; dunning and staff changes are sent whatever it says."""

    reminders_on: bool
    receipts_on: bool
    quiet: QuietHours | None
    timezone: str

    def wants(self, kind: str) -> bool:
        """Whether a notice of `kind` is to be sent at all under these settings."""
        group = group_of(kind)
        if group is NoticeGroup.REMINDERS:
            return self.reminders_on
        if group is NoticeGroup.RECEIPTS:
            return self.receipts_on
        return True

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def quiet_of(start: int | None, end: int | None) -> QuietHours | None:
    """Quiet hours from the stored minutes; None (or an empty window) means none."""
    if start is None or end is None or start == end:
        return None
    return QuietHours(start, end)


def parse_quiet_hours(text: str) -> QuietHours | None:
    """Typed quiet hours: "22:00-07:00" (the window may wrap midnight), "off" for none."""
    typed = text.strip().casefold()
    if typed in OFF_WORDS:
        return None
    found = _WINDOW.fullmatch(typed) if len(typed) <= 20 else None
    if found is None:
        raise InvalidRequest(BAD_WINDOW)
    start = _minute(found.group(1), found.group(2))
    end = _minute(found.group(3), found.group(4))
    if start is None or end is None:
        raise InvalidRequest(BAD_WINDOW)
    if start == end:
        raise InvalidRequest(SAME_ENDS)
    return QuietHours(start, end)


def _minute(hours: str, minutes: str | None) -> int | None:
    hour, minute = int(hours), int(minutes or "0")
    if hour > 23 or minute > 59:
        return None
    return hour * 60 + minute


def clock_text(minute: int) -> str:
    """Minutes after midnight as a 24-hour time: 1320 is "22:00"."""
    return f"{minute // 60:02d}:{minute % 60:02d}"


def window_text(quiet: QuietHours) -> str:
    return f"{clock_text(quiet.start)}\u2013{clock_text(quiet.end)}"


def parse_switch(text: str) -> bool | None:
    """ "on" or "off" (None for anything else)."""
    typed = text.strip().casefold()
    if typed in ON_WORDS:
        return True
    if typed in OFF_WORDS:
        return False
    return None


@cache
def _zones() -> dict[str, str]:
    """Every IANA zone name this system knows, by its case-folded spelling."""
    return {name.casefold(): name for name in available_timezones()}


def canonical_zone(text: str) -> str:
    """The IANA name typed, spelt as IANA spells it ("asia/ho_chi_minh" is Asia/Ho_Chi_Minh);
    anything else (junk, control characters, a page of text) is refused."""
    typed = text.strip()
    if not (0 < len(typed) <= MAX_ZONE and typed.isascii() and typed.isprintable()):
        raise InvalidRequest(BAD_ZONE)
    name = _zones().get(typed.replace(" ", "_").casefold())
    if name is None:
        raise InvalidRequest(BAD_ZONE)
    return name

"""Quiet hours (DESIGN 14): a notice due inside the window goes out when it ends, unless that
is too late, then just before the window starts; never dropped. The window may wrap midnight."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

QUIET_FROM = 22 * 60
QUIET_UNTIL = 7 * 60
DAY = 24 * 60
EARLY = timedelta(minutes=1)
"""How long before the window a pulled-forward notice goes out."""


@dataclass(frozen=True, slots=True)
class QuietHours:
    """From `start` to `end`, minutes after local midnight; start > end wraps midnight."""

    start: int = QUIET_FROM
    end: int = QUIET_UNTIL

    def __post_init__(self) -> None:
        if not (0 <= self.start < DAY and 0 <= self.end < DAY):
            raise ValueError("quiet hours are minutes within a day")

    @property
    def empty(self) -> bool:
        return self.start == self.end

    def _inside(self, minute: int) -> bool:
        if self.start < self.end:
            return self.start <= minute < self.end
        return minute >= self.start or minute < self.end

    def window(self, at: datetime, zone: ZoneInfo) -> tuple[datetime, datetime] | None:
        """The window `at` falls in, as aware UTC instants, or None outside any."""
        if self.empty:
            return None
        local = at.astimezone(zone)
        if not self._inside(local.hour * 60 + local.minute):
            return None
        day = local.date()
        if self.start > self.end and local.hour * 60 + local.minute < self.end:
            day -= timedelta(days=1)
        opens = datetime.combine(day, _clock(self.start), zone)
        closes_day = day if self.start < self.end else day + timedelta(days=1)
        closes = datetime.combine(closes_day, _clock(self.end), zone)
        return opens.astimezone(at.tzinfo), closes.astimezone(at.tzinfo)


def _clock(minute: int) -> time:
    return time(minute // 60, minute % 60)


def send_time(
    due: datetime,
    quiet: QuietHours | None,
    zone: ZoneInfo,
    deadline: datetime | None = None,
    earliest: datetime | None = None,
) -> datetime:
    """When a notice due at `due` may go out for a recipient with these quiet hours.

    Inside the window it waits for the window's end; if that is at or after `deadline` (the
    trial or grace ends inside the window) it goes just before the window opens instead, but
    not before `earliest` (when it was written), since it cannot go out in the past.
    """
    if quiet is None:
        return due
    window = quiet.window(due, zone)
    if window is None:
        return due
    opens, closes = window
    if deadline is None or closes < deadline:
        return closes
    before = opens - EARLY
    if earliest is not None and before < earliest:
        return due
    return before

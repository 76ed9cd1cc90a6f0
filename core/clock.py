"""Injectable clocks: all code takes "now" from one, so tests and demos can move time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """The real time, timezone-aware UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A frozen clock that only moves when told to (tests, demos, PLANBOT_CLOCK)."""

    def __init__(self, at: datetime) -> None:
        self._at = as_utc(at)

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = as_utc(at)

    def advance(self, delta: timedelta) -> None:
        self._at += delta


class TimeFormatError(ValueError):
    """A time that is not ISO 8601."""


def as_utc(at: datetime) -> datetime:
    """Aware UTC; a naive time is taken to be UTC already (databases may return naive)."""
    if at.tzinfo is None:
        return at.replace(tzinfo=UTC)
    return at.astimezone(UTC)


def parse_iso(text: str) -> datetime:
    """Parse an ISO 8601 time such as 2026-01-15T10:00Z; no zone means UTC."""
    try:
        return as_utc(datetime.fromisoformat(text.strip()))
    except ValueError as exc:
        raise TimeFormatError(
            f"{text!r} is not an ISO 8601 time (example: 2026-01-15T10:00:00Z)"
        ) from exc


def format_iso(at: datetime) -> str:
    """ISO 8601 UTC with a Z suffix, seconds precision."""
    return as_utc(at).replace(microsecond=0).isoformat().replace("+00:00", "Z")

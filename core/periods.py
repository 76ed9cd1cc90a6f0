"""Calendar-month arithmetic for billing periods (P3)."""

from __future__ import annotations

from datetime import datetime

from dateutil.relativedelta import relativedelta

from core.clock import as_utc


def add_months(anchor: datetime, months: int) -> datetime:
    """`months` calendar months after `anchor`, same time of day, day clamped to month length.

    Always count from the original anchor (anchor + k months), never from a clamped end,
    so Jan 31 -> Feb 28 -> Mar 31 does not drift.
    """
    return as_utc(anchor) + relativedelta(months=months)


def whole_seconds(start: datetime, end: datetime) -> int:
    """Whole seconds from start to end (negative if end is earlier)."""
    delta = as_utc(end) - as_utc(start)
    return delta.days * 86_400 + delta.seconds

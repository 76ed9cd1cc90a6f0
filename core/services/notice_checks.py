"""What a notice says at the moment it is sent: still true (else suppressed), not yet ready
(a renewal's link not attached yet), and in which language and zone its chat reads it.

The sender calls `prepare` for each leased batch with no transaction open, then sends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from core.model import Workspace
from core.ports import Notice
from core.services.context import Context


@dataclass(frozen=True, slots=True)
class QueuedNotice:
    """One leased outbox row as the sender sees it."""

    id: int
    notice: Notice
    attempts: int = 0


@dataclass(frozen=True, slots=True)
class Ready:
    """Send it, as it stands now (its data may have been completed: a link, an amount)."""

    notice: Notice
    locale: str | None
    timezone: str


@dataclass(frozen=True, slots=True)
class Stale:
    """No longer true or no longer wanted: marked suppressed, with why."""

    reason: str


@dataclass(frozen=True, slots=True)
class NotYet:
    """Not ready to say yet: offered again at `until`."""

    until: datetime


Verdict = Ready | Stale | NotYet


async def prepare(ctx: Context, queued: list[QueuedNotice]) -> list[Verdict]:
    """One verdict per queued notice, in the same order; reads only."""
    ids = {q.notice.workspace_id for q in queued}
    async with ctx.db.read() as session:
        places = {
            wid: (locale, zone)
            for wid, locale, zone in await session.execute(
                select(Workspace.id, Workspace.locale, Workspace.timezone).where(
                    Workspace.id.in_(ids)
                )
            )
        }
    verdicts: list[Verdict] = []
    for q in queued:
        locale, zone = places.get(q.notice.workspace_id, (None, "UTC"))
        verdicts.append(Ready(q.notice, locale, zone or "UTC"))
    return verdicts

"""The outbox: notices are stored, then each chat platform's deliverer takes its own once."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from core.clock import Clock
from core.db import Database
from core.model import OutboxNotice, Workspace
from core.ports import Notice
from core.states import NoticeState


class OutboxNotifier:
    """A Notifier that enqueues in the database, so any process can tell any chat."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def notify(self, notice: Notice) -> None:
        """Stored in the cause's unit of work (joined), so it exists exactly when that commits."""
        await self.notify_all([notice])

    async def notify_all(self, notices: list[Notice]) -> None:
        """Enqueue them all with one statement, in the cause's unit of work (joined); a row
        whose key is stored already is left as it is, so repeated sweeps store it once."""
        if not notices:
            return
        now = self.clock.now()
        async with self.db.unit_of_work(join=True) as session:
            await session.execute(
                _insert_new(self.db.is_postgres),
                [outbox_values(n, now) for n in notices],
                # Every row with the same columns, so the rows go in one executemany.
                execution_options={"render_nulls": True},
            )


_OUTBOX = cast(Table, OutboxNotice.__table__)


def _insert_new(postgres: bool) -> Any:
    insert = pg_insert if postgres else sqlite_insert
    return insert(_OUTBOX).on_conflict_do_nothing(
        index_elements=["kind", "subject", "due_at", "chat_platform", "chat_id"]
    )


def subject_of(notice: Notice) -> str:
    """What a notice is about; an event whose cause named nothing gets a name of its own, so
    it is one notice (its cause is claimed once already: a provider event, a staff action)."""
    return notice.subject or f"once:{uuid.uuid4().hex}"


def outbox_values(notice: Notice, now: datetime) -> dict[str, Any]:
    """One outbox row's columns, pending from its send time (its due instant by default)."""
    due = notice.due_at or now
    return {
        "kind": str(notice.kind),
        "workspace_id": notice.workspace_id,
        "chat_platform": notice.chat_platform,
        "chat_id": notice.chat_id,
        "data": dict(notice.data),
        "created_at": now,
        "delivered_at": None,
        "subject": subject_of(notice),
        "due_at": due,
        "send_after": notice.send_after or due,
        "deadline": notice.deadline,
        "state": NoticeState.PENDING,
        "attempts": 0,
    }


# Built once: a console polls its chat's notices after every step.
_CHAT_NOTICES = (
    select(OutboxNotice)
    .where(
        OutboxNotice.chat_platform == bindparam("platform"),
        OutboxNotice.chat_id == bindparam("chat_id"),
        OutboxNotice.delivered_at.is_(None),
    )
    .order_by(OutboxNotice.id)
)
_CHAT_NOTICES_SKIP_LOCKED = _CHAT_NOTICES.with_for_update(skip_locked=True)


async def take_notices(db: Database, clock: Clock, platform: str, chat_id: str) -> list[Notice]:
    """Undelivered notices for one chat, marked delivered in the same transaction."""
    async with db.unit_of_work() as session:
        stmt = _CHAT_NOTICES_SKIP_LOCKED if db.is_postgres else _CHAT_NOTICES
        rows = list(await session.scalars(stmt, {"platform": platform, "chat_id": chat_id}))
        now = clock.now()
        for row in rows:
            row.delivered_at = now
            row.state = NoticeState.SENT
        return [
            Notice(r.kind, r.workspace_id, r.chat_platform, r.chat_id, dict(r.data)) for r in rows
        ]


@dataclass(frozen=True, slots=True)
class PendingNotice:
    """A notice taken for delivery, with the language and zone of its workspace."""

    notice: Notice
    locale: str | None
    timezone: str


async def take_platform_notices(
    db: Database, clock: Clock, platform: str, limit: int = 100
) -> list[PendingNotice]:
    """Undelivered notices for every chat of one platform, oldest first, marked delivered.

    Delivery is at most once: a notice taken here is not offered again, whatever happens next.
    """
    async with db.unit_of_work() as session:
        stmt = (
            select(OutboxNotice)
            .where(
                OutboxNotice.chat_platform == platform,
                OutboxNotice.delivered_at.is_(None),
            )
            .order_by(OutboxNotice.id)
            .limit(limit)
        )
        if db.is_postgres:
            stmt = stmt.with_for_update(skip_locked=True)
        rows = list(await session.scalars(stmt))
        if not rows:
            return []
        now = clock.now()
        for row in rows:
            row.delivered_at = now
            row.state = NoticeState.SENT
        ids = {r.workspace_id for r in rows}
        places = {
            wid: (locale, zone)
            for wid, locale, zone in await session.execute(
                select(Workspace.id, Workspace.locale, Workspace.timezone).where(
                    Workspace.id.in_(ids)
                )
            )
        }
        return [
            PendingNotice(
                Notice(r.kind, r.workspace_id, r.chat_platform, r.chat_id, dict(r.data)),
                *places.get(r.workspace_id, (None, "UTC")),
            )
            for r in rows
        ]

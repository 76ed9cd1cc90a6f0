"""The outbox: notices are stored, then each chat platform's deliverer takes its own once."""

from __future__ import annotations

from sqlalchemy import select

from core.clock import Clock
from core.db import Database
from core.model import OutboxNotice
from core.ports import Notice


class OutboxNotifier:
    """A Notifier that enqueues in the database, so any process can tell any chat."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def notify(self, notice: Notice) -> None:
        async with self.db.unit_of_work() as session:
            session.add(
                OutboxNotice(
                    kind=notice.kind,
                    workspace_id=notice.workspace_id,
                    chat_platform=notice.chat_platform,
                    chat_id=notice.chat_id,
                    data=dict(notice.data),
                    created_at=self.clock.now(),
                )
            )


async def take_notices(db: Database, clock: Clock, platform: str, chat_id: str) -> list[Notice]:
    """Undelivered notices for one chat, marked delivered in the same transaction."""
    async with db.unit_of_work() as session:
        stmt = (
            select(OutboxNotice)
            .where(
                OutboxNotice.chat_platform == platform,
                OutboxNotice.chat_id == chat_id,
                OutboxNotice.delivered_at.is_(None),
            )
            .order_by(OutboxNotice.id)
        )
        if db.is_postgres:
            stmt = stmt.with_for_update(skip_locked=True)
        rows = list(await session.scalars(stmt))
        now = clock.now()
        for row in rows:
            row.delivered_at = now
        return [
            Notice(r.kind, r.workspace_id, r.chat_platform, r.chat_id, dict(r.data)) for r in rows
        ]

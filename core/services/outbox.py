"""The outbox: notices are stored once, then leased by their platform's one sender, sent, and
marked with how that went (DESIGN 14: pending → sending → sent | suppressed | failed | unknown).

Every change here is one short unit of work; no platform call runs while one is open.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, Table, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import Clock
from core.db import Database
from core.model import OutboxNotice
from core.ports import Notice
from core.services.notice_checks import QueuedNotice
from core.states import NoticeState

LEASE = timedelta(seconds=30)
"""How long a leased row stays the sender's unless renewed (while its batch is sent)."""
MAX_ATTEMPTS = 5
"""Retries (RetryAfter, errors before the request left) before a notice is marked failed."""
ERROR_CHARS = 200


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


@dataclass(frozen=True, slots=True)
class Sent:
    """The platform accepted it."""


@dataclass(frozen=True, slots=True)
class Failed:
    """Refused for good (the recipient blocked the bot, the chat is gone): never retried."""

    error: str


@dataclass(frozen=True, slots=True)
class RetryLater:
    """Not delivered and safe to send again: flood control's wait, or the request never left."""

    wait: timedelta
    error: str


@dataclass(frozen=True, slots=True)
class Unknown:
    """The request went out and no answer came: it may have arrived, so it is never resent."""

    error: str


@dataclass(frozen=True, slots=True)
class Suppressed:
    """No longer true at send time (the send-time check's reason)."""

    reason: str


@dataclass(frozen=True, slots=True)
class Deferred:
    """Not ready to say yet: pending again from `until`, its attempts untouched."""

    until: datetime


Outcome = Sent | Failed | RetryLater | Unknown | Suppressed | Deferred


def _notice(row: OutboxNotice) -> Notice:
    return Notice(
        row.kind,
        row.workspace_id,
        row.chat_platform,
        row.chat_id,
        dict(row.data),
        subject=row.subject,
        due_at=row.due_at,
        send_after=row.send_after,
        deadline=row.deadline,
    )


def _count(result: object) -> int:
    return cast(CursorResult[Any], result).rowcount


async def lease_batch(
    db: Database,
    clock: Clock,
    platform: str,
    owner: str,
    *,
    limit: int = 100,
    chat_id: str | None = None,
    attempted: bool = False,
) -> list[QueuedNotice]:
    """Lease the platform's due pending notices (one chat's, with `chat_id`), oldest first,
    after settling lapsed leases. `attempted` marks them attempted at once, for a sender
    whose sending is local (the console prints)."""
    async with db.unit_of_work() as session:
        now = clock.now()
        mine = [OutboxNotice.chat_platform == platform]
        if chat_id is not None:
            mine.append(OutboxNotice.chat_id == chat_id)
        await _settle_lapsed(session, mine, now)
        stmt = (
            select(OutboxNotice)
            .where(*mine, OutboxNotice.state == NoticeState.PENDING, OutboxNotice.send_after <= now)
            .order_by(OutboxNotice.send_after, OutboxNotice.id)
            .limit(limit)
        )
        if db.is_postgres:
            stmt = stmt.with_for_update(skip_locked=True)
        rows = list(await session.scalars(stmt))
        if rows:  # one statement for the batch, not one per row
            await session.execute(
                update(OutboxNotice)
                .where(OutboxNotice.id.in_([r.id for r in rows]))
                .values(
                    state=NoticeState.SENDING,
                    lease_owner=owner,
                    lease_until=now + LEASE,
                    attempted_at=now if attempted else None,
                )
                .execution_options(synchronize_session=False)
            )
        return [QueuedNotice(r.id, _notice(r), r.attempts) for r in rows]


async def _settle_lapsed(
    session: AsyncSession, mine: list[ColumnElement[bool]], now: datetime
) -> None:
    """A crashed sender's leases: offered again if the request never left, else unknown."""
    lapsed = [*mine, OutboxNotice.state == NoticeState.SENDING, OutboxNotice.lease_until < now]
    await session.execute(
        update(OutboxNotice)
        .where(*lapsed, OutboxNotice.attempted_at.is_(None))
        .values(state=NoticeState.PENDING, lease_owner=None, lease_until=None)
    )
    await session.execute(
        update(OutboxNotice)
        .where(*lapsed, OutboxNotice.attempted_at.is_not(None))
        .values(
            state=NoticeState.UNKNOWN,
            delivered_at=now,
            lease_owner=None,
            lease_until=None,
            error="the sender stopped after the request left",
        )
    )


def _held(ids: Sequence[int], owner: str) -> list[ColumnElement[bool]]:
    return [
        OutboxNotice.id.in_(ids),
        OutboxNotice.state == NoticeState.SENDING,
        OutboxNotice.lease_owner == owner,
    ]


async def renew_leases(db: Database, clock: Clock, platform: str, owner: str) -> None:
    """The sender is alive and still sending: its leased rows stay its own."""
    async with db.unit_of_work() as session:
        await session.execute(
            update(OutboxNotice)
            .where(
                OutboxNotice.chat_platform == platform,
                OutboxNotice.state == NoticeState.SENDING,
                OutboxNotice.lease_owner == owner,
            )
            .values(lease_until=clock.now() + LEASE)
        )


async def mark_attempted(db: Database, clock: Clock, notice_id: int, owner: str) -> bool:
    """Committed just before the request leaves; False: the lease is no longer ours (do not
    send). From here on a crash leaves it unknown rather than sent twice."""
    async with db.unit_of_work() as session:
        result = await session.execute(
            update(OutboxNotice)
            .where(*_held([notice_id], owner), OutboxNotice.attempted_at.is_(None))
            .values(attempted_at=clock.now())
        )
        return _count(result) == 1


async def record(
    db: Database, clock: Clock, owner: str, outcomes: Sequence[tuple[QueuedNotice, Outcome]]
) -> None:
    """Mark leased notices with how their sending went (rows no longer ours are left)."""
    if not outcomes:
        return
    now = clock.now()
    async with db.unit_of_work() as session:
        for queued, outcome in outcomes:
            await session.execute(
                update(OutboxNotice)
                .where(*_held([queued.id], owner))
                .values(**_columns(outcome, queued.attempts, now))
            )


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= ERROR_CHARS else text[: ERROR_CHARS - 1] + "…"


_FINAL = {
    Failed: NoticeState.FAILED,
    Unknown: NoticeState.UNKNOWN,
    Suppressed: NoticeState.SUPPRESSED,
}


def _columns(outcome: Outcome, attempts: int, now: datetime) -> dict[str, Any]:
    settled: dict[str, Any] = {"lease_owner": None, "lease_until": None, "delivered_at": now}
    again: dict[str, Any] = {
        "state": NoticeState.PENDING,
        "lease_owner": None,
        "lease_until": None,
        "attempted_at": None,
    }
    match outcome:
        case Sent():
            return {**settled, "state": NoticeState.SENT, "error": None}
        case Failed(error) | Unknown(error) | Suppressed(error):
            return {**settled, "state": _FINAL[type(outcome)], "error": _short(error)}
        case Deferred(until):
            return {**again, "send_after": until}
        case RetryLater(wait, error):
            if attempts + 1 >= MAX_ATTEMPTS:
                error = f"gave up after {attempts + 1} attempts: {error}"
                return {
                    **settled,
                    "state": NoticeState.FAILED,
                    "attempts": attempts + 1,
                    "error": _short(error),
                }
            return {
                **again,
                "send_after": now + wait,
                "attempts": attempts + 1,
                "error": _short(error),
            }
    raise AssertionError(outcome)

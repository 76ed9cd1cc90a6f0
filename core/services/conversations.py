"""The conversation store (DESIGN 5): read on every update, saved once with a version check.

The engine in `bot/` keeps conversations through this port and writes no SQL itself. A save
is one conditional statement, so two processes (or a double tap) cannot both advance the
same conversation: the loser gets `StaleConversation`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from core.db import Database
from core.model import Conversation, Member, Workspace
from core.states import Role

_CONVERSATIONS = cast(Table, Conversation.__table__)


class StaleConversation(Exception):
    """Another update saved this conversation first."""


@dataclass
class ConversationState:
    """One person's conversation in one chat, as plain data; `id` is None until first saved."""

    platform: str
    chat_id: str
    user_id: str
    workspace_id: int | None
    updated_at: datetime
    language: str | None = None
    flow: str | None = None
    step: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    history: list[str] = field(default_factory=list)
    version: int = 0
    id: int | None = None
    last_update: str | None = None
    """The platform's id of the update that produced this state, if the platform gives one."""

    def copy(self) -> ConversationState:
        return replace(self, data=dict(self.data), history=list(self.history))

    def same_as(self, other: ConversationState) -> bool:
        """Nothing worth saving differs (the time alone is not a change)."""
        return (
            self.workspace_id,
            self.language,
            self.flow,
            self.step,
            self.data,
            self.history,
        ) == (other.workspace_id, other.language, other.flow, other.step, other.data, other.history)


@dataclass(frozen=True, slots=True)
class LoadedConversation:
    """The conversation with what the engine needs of its workspace and person."""

    state: ConversationState
    workspace_locale: str | None
    workspace_zone: str
    role: Role | None


_COLUMNS = (
    Conversation.id,
    Conversation.platform,
    Conversation.chat_id,
    Conversation.user_id,
    Conversation.workspace_id,
    Conversation.updated_at,
    Conversation.language,
    Conversation.flow,
    Conversation.step,
    Conversation.data,
    Conversation.history,
    Conversation.version,
    Conversation.last_update,
)
# Built once: composing the statement and its cache key anew cost more than running it.
_LOAD = (
    select(*_COLUMNS, Workspace.locale, Workspace.timezone, Member.role)
    .outerjoin(Workspace, Workspace.id == Conversation.workspace_id)
    .outerjoin(
        Member,
        (Member.workspace_id == Conversation.workspace_id)
        & (Member.platform == Conversation.platform)
        & (Member.user_id == Conversation.user_id),
    )
    .where(
        Conversation.platform == bindparam("platform"),
        Conversation.chat_id == bindparam("chat"),
        Conversation.user_id == bindparam("user"),
    )
)
_SAVE = (
    update(_CONVERSATIONS)
    .where(
        _CONVERSATIONS.c.id == bindparam("row_id"),
        _CONVERSATIONS.c.version == bindparam("expected"),
    )
    .values(
        workspace_id=bindparam("new_workspace_id"),
        language=bindparam("new_language"),
        flow=bindparam("new_flow"),
        step=bindparam("new_step"),
        data=bindparam("new_data"),
        history=bindparam("new_history"),
        updated_at=bindparam("new_updated_at"),
        version=bindparam("new_version"),
        last_update=bindparam("new_last_update"),
    )
)


def _state(row: Any) -> ConversationState:
    return ConversationState(
        platform=row.platform,
        chat_id=row.chat_id,
        user_id=row.user_id,
        workspace_id=row.workspace_id,
        updated_at=row.updated_at,
        language=row.language,
        flow=row.flow,
        step=row.step,
        data=dict(row.data or {}),
        history=list(row.history or []),
        version=row.version,
        id=row.id,
        last_update=row.last_update,
    )


class ConversationStore:
    """Conversations in planbot's database, one read and one conditional write per update."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def load(
        self,
        platform: str,
        chat: str,
        user: str,
        *,
        now: datetime,
        workspace_key: str | None = None,
    ) -> LoadedConversation:
        """The stored conversation, or a new unsaved one in the workspace `workspace_key`
        names on the platform (a Slack team id)."""
        async with self.db.connection(write=False) as connection:
            row = (
                await connection.execute(_LOAD, {"platform": platform, "chat": chat, "user": user})
            ).first()
            if row is not None:
                role = None if row.role is None else Role(row.role)
                return LoadedConversation(_state(row), row.locale, row.timezone or "UTC", role)
            workspace_id = None
            if workspace_key is not None:
                workspace_id = await connection.scalar(
                    select(Workspace.id).where(
                        Workspace.platform == platform, Workspace.external_id == workspace_key
                    )
                )
        state = ConversationState(platform, chat, user, workspace_id, now)
        return LoadedConversation(state, None, "UTC", None)

    async def save(self, state: ConversationState) -> ConversationState:
        """Store `state` if nobody saved it since it was loaded; returns it with its new
        version, or raises StaleConversation."""
        saved = replace(state, version=state.version + 1)
        values = {
            "workspace_id": saved.workspace_id,
            "language": saved.language,
            "flow": saved.flow,
            "step": saved.step,
            "data": saved.data,
            "history": saved.history,
            "updated_at": saved.updated_at,
            "version": saved.version,
            "last_update": saved.last_update,
        }
        async with self.db.connection(write=True) as connection:
            if state.id is None:
                try:
                    result = await connection.execute(
                        insert(_CONVERSATIONS).returning(_CONVERSATIONS.c.id),
                        {
                            "platform": saved.platform,
                            "chat_id": saved.chat_id,
                            "user_id": saved.user_id,
                            **values,
                        },
                    )
                except IntegrityError as exc:
                    raise StaleConversation("the conversation was created meanwhile") from exc
                saved.id = result.scalar_one()
                return saved
            result = await connection.execute(
                _SAVE,
                {"row_id": state.id, "expected": state.version}
                | {f"new_{name}": value for name, value in values.items()},
            )
            if result.rowcount != 1:
                raise StaleConversation("the conversation moved on meanwhile")
        return saved

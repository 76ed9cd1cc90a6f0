"""Steps several flows share: picking one of the workspace's subscriptions."""

from __future__ import annotations

import unicodedata
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.flow import Turn
from bot.render import accounts, status_label
from bot.vocabulary import Option
from core.access import Action
from core.errors import InvalidRequest, NotAllowed
from core.services.admins import billing_admins
from core.services.queries import SubscriptionView, held_subscriptions, require_permission


def workspace_of(turn: Turn) -> int:
    if turn.workspace_id is None:
        raise InvalidRequest("You are not in a workspace yet.")
    return turn.workspace_id


@asynccontextmanager
async def admins_named(turn: Turn) -> AsyncIterator[None]:
    """A refusal to a member of the workspace says who its billing admins are (DESIGN 4)."""
    try:
        yield
    except NotAllowed as refused:
        raise await _naming_admins(turn, refused) from None


async def _naming_admins(turn: Turn, refused: NotAllowed) -> NotAllowed:
    if turn.actor.is_support or turn.workspace_id is None:
        return refused
    try:
        admins = await billing_admins(turn.services, turn.actor, turn.workspace_id)
    except NotAllowed:
        return refused  # not a member: the workspace's people are not theirs to know
    if not admins:
        return refused
    return NotAllowed(
        "{refusal} Ask one of them: {admins}.",
        refusal=turn.t(refused.template, **refused.params),
        admins=", ".join(admin.name or admin.user_id for admin in admins),
    )


async def require_allowed(turn: Turn, action: Action) -> None:
    """Refuse early, before questions the person may not answer; a member hears who can."""
    async with admins_named(turn):
        await require_permission(turn.services, turn.actor, workspace_of(turn), action)


async def held(turn: Turn) -> list[SubscriptionView]:
    """Subscriptions that are Active or Try, read once per update."""
    cached = turn.memo.get("held")
    if cached is None:
        cached = await held_subscriptions(turn.services, turn.actor, workspace_of(turn))
        turn.memo["held"] = cached
    return list(cached)


def subscription_options(turn: Turn, views: list[SubscriptionView]) -> tuple[Option, ...]:
    t = turn.t
    return tuple(
        Option(
            t(
                "{name}, {accounts} ({status})",
                name=v.package.name,
                accounts=accounts(t, v.quantity),
                status=status_label(t, v.status),
            ),
            str(v.id),
        )
        for v in views
    )


MAX_ID_DIGITS = 18  # a database id fits in a signed 64-bit integer


def argument_id(turn: Turn) -> int | None:
    """A subscription id passed along with a command, such as /unsubscribe 12; anything
    else (other digits than 0-9, a number no id can be) is no id and is ignored."""
    raw = str(turn.data.get("argument", "")).strip()
    if not (raw.isascii() and raw.isdigit() and len(raw) <= MAX_ID_DIGITS):
        return None
    return int(raw)


def without_controls(text: str) -> str:
    """Typed text without the control characters that are not white space (NUL, escape, bell):
    they mean nothing in a name or a reason, and PostgreSQL stores no NUL in text."""
    return "".join(c for c in text if c.isspace() or unicodedata.category(c) != "Cc")

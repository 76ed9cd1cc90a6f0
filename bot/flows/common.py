"""Steps several flows share: picking one of the workspace's subscriptions."""

from __future__ import annotations

import unicodedata

from bot.flow import Turn
from bot.render import accounts, status_label
from bot.vocabulary import Option
from core.errors import InvalidRequest
from core.services.queries import SubscriptionView, held_subscriptions


def workspace_of(turn: Turn) -> int:
    if turn.workspace_id is None:
        raise InvalidRequest("You are not in a workspace yet.")
    return turn.workspace_id


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

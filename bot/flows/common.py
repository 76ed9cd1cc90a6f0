"""Steps several flows share: picking one of the workspace's subscriptions."""

from __future__ import annotations

from bot.flow import Turn
from bot.render import accounts, status_label
from bot.vocabulary import Option
from core.errors import InvalidRequest
from core.lifecycle import Status
from core.services.queries import SubscriptionView, subscription_details


def workspace_of(turn: Turn) -> int:
    if turn.workspace_id is None:
        raise InvalidRequest("You are not in a workspace yet.")
    return turn.workspace_id


async def held(turn: Turn) -> list[SubscriptionView]:
    """Subscriptions that are Active or Try."""
    details = await subscription_details(turn.services, turn.actor, workspace_of(turn))
    return [v for v in details.subscriptions if v.status is not Status.INACTIVE]


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


def argument_id(turn: Turn) -> int | None:
    """A subscription id passed along with a command, such as /unsubscribe 12."""
    raw = str(turn.data.get("argument", ""))
    return int(raw) if raw.isdigit() else None

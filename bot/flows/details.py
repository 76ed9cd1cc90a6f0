"""details: each subscription's package, price, cycle, status, dates, notes, and its actions."""

from __future__ import annotations

from bot.flow import Done, Flow, Move, Turn
from bot.render import subscription_block
from bot.vocabulary import Choices, Option, Reply, Text
from core.lifecycle import Status
from core.services.queries import SubscriptionView, subscription_details


def actions(turn: Turn, view: SubscriptionView) -> list[Option]:
    t, code = turn.t, view.package.code
    found = [Option(t("Upgrade {code}", code=code), f"cmd:upgrade:{view.id}")]
    if view.cancel_at_period_end:
        found.append(Option(t("Resume {code}", code=code), f"cmd:resume:{view.id}"))
    elif view.status is not Status.INACTIVE:
        found.append(Option(t("Unsubscribe {code}", code=code), f"cmd:unsubscribe:{view.id}"))
    if view.has_scheduled_change:
        found.append(
            Option(t("Withdraw the change of {code}", code=code), f"cmd:withdraw:{view.id}")
        )
    return found


async def begin(turn: Turn) -> Move:
    t = turn.t
    if turn.workspace_id is None:
        return Done((Text(t("You are not in a workspace yet.")),))
    details = await subscription_details(turn.services, turn.actor, turn.workspace_id)
    replies: list[Reply] = []
    options: list[Option] = []
    for view in details.subscriptions:
        replies.append(Text(subscription_block(t, turn.services.catalog, view)))
        options.extend(actions(turn, view))
    if not details.subscriptions:
        replies.append(Text(t("This workspace has no subscriptions yet.")))
        options.append(Option(t("Upgrade or buy"), "cmd:upgrade"))
        options.append(Option(t("Start a trial"), "cmd:trial"))
    replies.append(Text(t("Credit balance: {amount}", amount=t.money(details.credit_balance))))
    replies.append(Choices(t("What next?"), tuple(options), turn.version))
    return Done(tuple(replies))


FLOW = Flow(name="details", begin=begin)

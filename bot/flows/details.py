"""details: each subscription's package, price, cycle, status, dates, notes, and its actions."""

from __future__ import annotations

from bot.flow import Done, Flow, Move, Turn
from bot.render import subscription_block
from bot.vocabulary import Choices, Link, Option, Reply, Text
from core.access import Action
from core.lifecycle import Status
from core.services.queries import SubscriptionView, permitted, subscription_details

OFFERED = (Action.BUY, Action.START_TRIAL, Action.UNSUBSCRIBE)
"""The actions the details' buttons lead to; each is offered only to whoever may take it."""


def actions(turn: Turn, view: SubscriptionView, may: frozenset[Action]) -> list[Option]:
    t, code = turn.t, view.package.code
    found = []
    if Action.BUY in may:
        found.append(Option(t("Upgrade {code}", code=code), f"cmd:upgrade:{view.id}"))
    if Action.UNSUBSCRIBE in may and view.cancel_at_period_end:
        found.append(Option(t("Resume {code}", code=code), f"cmd:resume:{view.id}"))
    elif Action.UNSUBSCRIBE in may and view.status is not Status.INACTIVE:
        found.append(Option(t("Unsubscribe {code}", code=code), f"cmd:unsubscribe:{view.id}"))
    if Action.BUY in may and view.has_scheduled_change:
        found.append(
            Option(t("Withdraw the change of {code}", code=code), f"cmd:withdraw:{view.id}")
        )
    return found


def pay(turn: Turn, view: SubscriptionView) -> list[Reply]:
    """An overdue renewal's Pay button, or word that its link is still being made."""
    due, t = view.renewal_due, turn.t
    if due is None:
        return []
    if due.payment_link is None:
        return [
            Text(
                t(
                    "The payment link for {package} is on its way: send {command} again in a "
                    "minute.",
                    package=view.package.name,
                    command=turn.command("subscription"),
                )
            )
        ]
    label = t("Pay {amount} for {package}", amount=t.money(due.amount), package=view.package.name)
    return [Link(label, due.payment_link)]


async def begin(turn: Turn) -> Move:
    t = turn.t
    if turn.workspace_id is None:
        return Done((Text(t("You are not in a workspace yet.")),))
    details = await subscription_details(turn.services, turn.actor, turn.workspace_id)
    may = await permitted(turn.services, turn.actor, turn.workspace_id, OFFERED)
    replies: list[Reply] = []
    options: list[Option] = []
    for view in details.subscriptions:
        replies.append(Text(subscription_block(t, turn.services.catalog, view)))
        if Action.BUY in may:
            replies.extend(pay(turn, view))
        options.extend(actions(turn, view, may))
    if not details.subscriptions:
        replies.append(Text(t("This workspace has no subscriptions yet.")))
        if Action.BUY in may:
            options.append(Option(t("Upgrade or buy"), "cmd:upgrade"))
        if Action.START_TRIAL in may:
            options.append(Option(t("Start a trial"), "cmd:trial"))
    replies.append(Text(t("Credit balance: {amount}", amount=t.money(details.credit_balance))))
    if options:
        replies.append(Choices(t("What next?"), tuple(options), turn.version))
    return Done(tuple(replies))


FLOW = Flow(name="details", begin=begin)

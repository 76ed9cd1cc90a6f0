"""plans: the catalog, with the accounts this workspace holds on each package."""

from __future__ import annotations

from bot.flow import Done, Flow, Move, Turn
from bot.i18n import N_
from bot.render import accounts, months, status_label
from bot.vocabulary import Choices, Option, Reply, Text
from core.access import Action
from core.pricing import price_per_account
from core.services.queries import list_packages, permitted


async def begin(turn: Turn) -> Move:
    t, catalog = turn.t, turn.services.catalog
    lines = await list_packages(turn.services, turn.actor, turn.workspace_id)
    monthly = catalog.cycles[0].months
    text = [t("Service packages:")]
    for line in lines:
        price = price_per_account(catalog, line.package.code, monthly)
        entry = t(
            "{name} ({code}): {price} per account per month",
            name=line.package.name,
            code=line.package.code,
            price=t.money(price),
        )
        if line.accounts is not None and line.status is not None and line.is_current:
            entry += " - " + t(
                "current: {accounts}, {status}",
                accounts=accounts(t, line.accounts),
                status=status_label(t, line.status),
            )
        text.append(("* " if line.is_current else "- ") + entry)
    best = max(catalog.cycles, key=lambda c: c.discount_percent)
    if best.discount_percent:
        text.append(
            t(
                "Longer billing cycles cost less: up to {discount} off for {months}.",
                discount=t.percent(best.discount_percent),
                months=months(t, best.months),
            )
        )
    offered = (
        (N_("Upgrade or buy"), "cmd:upgrade", Action.BUY),
        (N_("Start a trial"), "cmd:trial", Action.START_TRIAL),
        (N_("My subscription"), "cmd:subscription", Action.VIEW_DETAILS),
    )
    may = await permitted(turn.services, turn.actor, turn.workspace_id, [a for *_, a in offered])
    options = tuple(Option(t(label), value) for label, value, action in offered if action in may)
    replies: list[Reply] = [Text("\n".join(text))]
    if options:
        replies.append(Choices(t("What next?"), options, turn.version))
    return Done(tuple(replies))


FLOW = Flow(name="plans", begin=begin)

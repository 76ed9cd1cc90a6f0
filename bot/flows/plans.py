"""plans: the catalog, with the accounts this workspace holds on each package."""

from __future__ import annotations

from bot.flow import Done, Flow, Move, Turn
from bot.render import accounts, months, status_label
from bot.vocabulary import Choices, Option, Text
from core.pricing import price_per_account
from core.services.queries import list_packages


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
    options = (
        Option(t("Upgrade or buy"), "cmd:upgrade"),
        Option(t("Start a trial"), "cmd:trial"),
        Option(t("My subscription"), "cmd:subscription"),
    )
    return Done((Text("\n".join(text)), Choices(t("What next?"), options, turn.version)))


FLOW = Flow(name="plans", begin=begin)

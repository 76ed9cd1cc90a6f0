"""upgrade: subscription, package, cycle, quantity, review, Next, payment method, link.

Follows P4-P7: more accounts, another cycle, a higher package (paid now), or a lower package
or fewer accounts (scheduled for the renewal, withdrawable until then).
"""

from __future__ import annotations

from bot.flow import Done, Flow, Go, Move, Stay, Step, Turn, choose
from bot.flows.common import (
    argument_id,
    held,
    require_allowed,
    subscription_options,
    workspace_of,
)
from bot.flows.review import Draft, review_data, stored_review
from bot.flows.scheduled import review_warning
from bot.order_lines import Priced, total_formula
from bot.render import cycle_label, review_lines, terms_text
from bot.vocabulary import Choices, Confirmation, Link, NumberPrompt, Option, Reply, Text
from core.access import Action
from core.catalog import Package
from core.pricing import QuoteKind, price_per_account
from core.services.orders import (
    Chat,
    PlacedOrder,
    Placement,
    QuoteExpired,
    ReviewedQuote,
    order_reviewed,
    review_quote,
    schedule_downgrade,
)
from core.services.queries import SubscriptionView

NEW = "new"
ADD, CYCLE, REDUCE, PACKAGE = "add", "cycle", "reduce", "package"
METHODS = ("card", "bank_transfer")


async def _base(turn: Turn) -> SubscriptionView | None:
    wanted = turn.data.get("subscription")
    if wanted is None:
        return None
    for view in await held(turn):
        if view.id == wanted:
            return view
    return None


def _active(view: SubscriptionView | None) -> bool:
    return view is not None and view.status.value == "Active"


async def begin(turn: Turn) -> Move:
    await require_allowed(turn, Action.BUY)
    views = await held(turn)
    wanted = argument_id(turn)
    if wanted is not None and any(v.id == wanted for v in views):
        turn.data["subscription"] = wanted
        return Go("package")
    if not any(_active(v) for v in views):
        # Nothing paid to change: buying from a Try is a new purchase of the package (P7).
        return Go("package")
    return Go("subscription")


async def _subscription_options(turn: Turn) -> tuple[Option, ...]:
    views = await held(turn)
    return (*subscription_options(turn, views), Option(turn.t("A new package"), NEW))


async def ask_subscription(turn: Turn) -> list[Reply]:
    options = await _subscription_options(turn)
    return [
        Choices(
            turn.t("Which subscription do you want to change?"),
            options + turn.nav(back=False),
            turn.version,
        )
    ]


async def answer_subscription(turn: Turn, answer: str) -> Move:
    option = choose(await _subscription_options(turn), answer)
    if option is None:
        return Stay(turn.t("Choose one of the subscriptions listed, or a new package."))
    turn.data["subscription"] = None if option.value == NEW else int(option.value)
    return Go("package")


async def _package_options(turn: Turn) -> tuple[Option, ...]:
    t, catalog = turn.t, turn.services.catalog
    base = await _base(turn)
    views = await held(turn)
    taken = {v.package.code for v in views if _active(v) and (base is None or v.id != base.id)}
    if not _active(base):
        return tuple(
            Option(p.name, f"{PACKAGE}:{p.code}") for p in catalog.packages if p.code not in taken
        )
    assert base is not None
    code, rank = base.package.code, base.package.rank
    options = [
        Option(t("More accounts of {name}", name=base.package.name), ADD),
        Option(t("Another billing cycle"), CYCLE),
    ]
    if base.quantity > base.package.min_quantity:
        options.append(Option(t("Fewer accounts from the renewal"), REDUCE))
    for p in catalog.packages:
        if p.code == code or p.code in taken:
            continue
        label = (
            t("Upgrade to {name}", name=p.name)
            if p.rank > rank
            else t("Switch to {name} from the renewal", name=p.name)
        )
        options.append(Option(label, f"{PACKAGE}:{p.code}"))
    return tuple(options)


async def ask_package(turn: Turn) -> list[Reply]:
    options = await _package_options(turn)
    if not options:
        return [
            Text(turn.t("Every package is already held: add accounts to one instead.")),
            Choices(turn.t("Go back or cancel."), turn.nav(), turn.version),
        ]
    return [Choices(turn.t("Choose a package."), options + turn.nav(), turn.version)]


async def answer_package(turn: Turn, answer: str) -> Move:
    option = choose(await _package_options(turn), answer)
    if option is None:
        return Stay(turn.t("Choose one of the options listed."))
    base = await _base(turn)
    mode, _, code = option.value.partition(":")
    turn.data["mode"] = mode
    if mode == PACKAGE:
        turn.data["package"] = code
        return Go("cycle")
    assert base is not None
    turn.data["package"] = base.package.code
    if mode == CYCLE:
        return Go("cycle")
    turn.data["cycle"] = base.cycle_months
    return Go("quantity")


def _cycle_options(turn: Turn, base: SubscriptionView | None) -> tuple[Option, ...]:
    t, catalog = turn.t, turn.services.catalog
    skip = base.cycle_months if turn.data.get("mode") == CYCLE and base is not None else None
    code = str(turn.data["package"])
    return tuple(
        Option(
            t(
                "{cycle}: {price} per account",
                cycle=cycle_label(t, c),
                price=t.money(price_per_account(catalog, code, c.months)),
            ),
            str(c.months),
        )
        for c in catalog.cycles
        if c.months != skip
    )


async def ask_cycle(turn: Turn) -> list[Reply]:
    options = _cycle_options(turn, await _base(turn))
    return [
        Choices(
            turn.t("Choose a billing cycle: longer cycles cost less."),
            options + turn.nav(),
            turn.version,
        )
    ]


async def answer_cycle(turn: Turn, answer: str) -> Move:
    option = choose(_cycle_options(turn, await _base(turn)), answer)
    if option is None:
        return Stay(turn.t("Choose one of the billing cycles listed."))
    turn.data["cycle"] = int(option.value)
    return Go("quantity")


def _bounds(turn: Turn, package: Package, base: SubscriptionView | None) -> tuple[int, int]:
    mode = turn.data.get("mode")
    if base is not None and mode == ADD:
        return base.quantity + 1, package.max_quantity
    if base is not None and mode == REDUCE:
        return package.min_quantity, base.quantity - 1
    return package.min_quantity, package.max_quantity


async def ask_quantity(turn: Turn) -> list[Reply]:
    package = turn.services.catalog.package(str(turn.data["package"]))
    low, high = _bounds(turn, package, await _base(turn))
    text = turn.t(
        "How many accounts in all? Enter a number from {low} to {high}.", low=low, high=high
    )
    return [NumberPrompt(text, low, high, turn.version, turn.nav())]


async def answer_quantity(turn: Turn, answer: str) -> Move:
    package = turn.services.catalog.package(str(turn.data["package"]))
    low, high = _bounds(turn, package, await _base(turn))
    wanted = _whole_number(answer, high)
    if wanted is None or not low <= wanted <= high:
        return Stay(turn.t("Enter a number of accounts from {low} to {high}.", low=low, high=high))
    turn.data["quantity"] = wanted
    return Go("review")


def _whole_number(answer: str, high: int) -> int | None:
    """The answer as a whole number in digits 0-9, if it can be at most `high`: a number of
    thousands of digits is refused unread (int() refuses over 4,300 digits by raising)."""
    text = answer.strip()
    if not (text.isascii() and text.isdigit()):
        return None
    digits = text.lstrip("0") or "0"
    return int(digits) if len(digits) <= len(str(high)) else None


def _draft(turn: Turn) -> Draft:
    return Draft.of(turn.data)


async def _review(turn: Turn) -> ReviewedQuote:
    """The review shown for this draft: the one kept while it is binding, else a new one."""
    draft = _draft(turn)
    kept = stored_review(turn.data, draft)
    if kept is not None and _binding(turn, kept):
        return kept
    fresh = await review_quote(
        turn.services, turn.actor, workspace_of(turn), draft.terms, draft.subscription
    )
    turn.data["review"] = review_data(draft, fresh)
    return fresh


def _binding(turn: Turn, reviewed: ReviewedQuote) -> bool:
    return turn.services.clock.now() < reviewed.quote.valid_until


def _lapsed(turn: Turn) -> str:
    """Why the review is shown again: its amounts are no longer binding."""
    turn.data.pop("review", None)
    minutes = turn.services.catalog.quote_validity_minutes
    return turn.t(
        "The amounts shown were binding for {minutes} minutes and that time has passed. "
        "Here is the review again with the current amounts: confirm it again.",
        minutes=minutes,
    )


async def ask_review(turn: Turn) -> list[Reply]:
    t, catalog = turn.t, turn.services.catalog
    quote = (await _review(turn)).quote
    if quote.kind is QuoteKind.NO_CHANGE:
        return [
            Text(t("That is what this subscription already holds.")),
            Choices(t("Go back or cancel."), turn.nav(), turn.version),
        ]
    if quote.kind is QuoteKind.DOWNGRADE:
        title = t(
            "Review: {terms} from the next renewal. Nothing is charged now.",
            terms=terms_text(t, catalog, quote.terms),
        )
        options = (Option(t("Schedule"), "schedule"), *turn.nav())
    else:
        title = t("Review your order")
        options = (Option(t("Next"), "next"), *turn.nav())
    notes = [total_formula(t, Priced.of_quote(quote))]
    warning = review_warning(turn, quote, await _base(turn))
    if warning is not None:
        notes.append(warning)
    footnote = "\n".join(notes)
    return [Confirmation(title, review_lines(t, catalog, quote), options, turn.version, footnote)]


async def answer_review(turn: Turn, answer: str) -> Move:
    t, draft = turn.t, _draft(turn)
    shown = stored_review(turn.data, draft)
    if shown is None or not _binding(turn, shown):
        return Stay(_lapsed(turn))
    quote = shown.quote
    if quote.kind is QuoteKind.DOWNGRADE and answer == "schedule":
        base = await _base(turn)
        assert base is not None
        await schedule_downgrade(
            turn.services, turn.actor, workspace_of(turn), base.id, draft.terms
        )
        return Done(
            (
                Text(
                    t(
                        "Scheduled: {terms} from {date}. You can withdraw it until then "
                        "from {command}.",
                        terms=terms_text(t, turn.services.catalog, quote.terms),
                        date=t.when(quote.period_start),
                        command=turn.command("subscription"),
                    )
                ),
            )
        )
    if quote.is_order and answer == "next":
        return Go("method")
    return Stay(t("Choose one of the buttons, or Back or Cancel."))


def _method_options(turn: Turn) -> tuple[Option, ...]:
    t = turn.t
    return (Option(t("Card"), "card"), Option(t("Bank transfer"), "bank_transfer"))


async def ask_method(turn: Turn) -> list[Reply]:
    return [
        Choices(
            turn.t("How would you like to pay?"), _method_options(turn) + turn.nav(), turn.version
        )
    ]


async def answer_method(turn: Turn, answer: str) -> Move:
    t = turn.t
    option = choose(_method_options(turn), answer)
    if option is None:
        return Stay(t("Choose a payment method listed."))
    reviewed = stored_review(turn.data, _draft(turn))
    if reviewed is None or not _binding(turn, reviewed):
        return Go("review", note=_lapsed(turn))
    try:
        placed = await order_reviewed(
            turn.services,
            turn.actor,
            workspace_of(turn),
            reviewed,
            payment_method=option.value,
            chat=Chat(*turn.chat),
            idempotency_key=f"conversation:{turn.conversation_key}",
        )
    except QuoteExpired as exc:
        turn.data.pop("review", None)
        return Go("review", note=t(exc.template, **exc.params))
    return Done(_outcome(turn, placed, option.value))


def _outcome(turn: Turn, placed: PlacedOrder, method: str) -> tuple[Reply, ...]:
    """Said from the order's state: paid from the balance, waiting at its link, or a repeat
    of an order that was paid or closed meanwhile."""
    t = turn.t
    if placed.placement is Placement.PAID_FROM_BALANCE:
        return (Text(t("Done: it was paid from your credit balance.")),)
    if placed.placement is Placement.PAID:
        return (Text(t("Order {reference} is already paid.", reference=placed.reference)),)
    if placed.placement is Placement.CLOSED or placed.payment_link is None:
        return (
            Text(
                t(
                    "Order {reference} can no longer be paid; start again with {command}.",
                    reference=placed.reference,
                    command=turn.command("upgrade"),
                )
            ),
        )
    due = t.minor(placed.quote.due_now, placed.quote.currency)
    said = t(
        "Order {reference}: {due} due now. The link is valid until {date}; "
        "I will tell you here when the payment arrives.",
        reference=placed.reference,
        due=due,
        date=t.when(placed.expires_at),
    )
    if method == "bank_transfer":
        said += " " + t("The payment page says how to pay by bank transfer.")
    return (Text(said), Link(t("Pay now"), placed.payment_link))


FLOW = Flow(
    name="upgrade",
    begin=begin,
    steps={
        "subscription": Step(ask_subscription, answer_subscription, frozenset({"package"})),
        "package": Step(ask_package, answer_package, frozenset({"cycle", "quantity"})),
        "cycle": Step(ask_cycle, answer_cycle, frozenset({"quantity"})),
        "quantity": Step(ask_quantity, answer_quantity, frozenset({"review"}), typed=True),
        "review": Step(ask_review, answer_review, frozenset({"method"})),
        "method": Step(ask_method, answer_method, frozenset({"review"})),
    },
    entry=frozenset({"subscription", "package"}),
)

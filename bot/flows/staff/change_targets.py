"""Asking what a staff change is about: which subscription, open order or payment (buttons
when there are several), then its typed value or refund mode; once nothing is missing the
change is previewed."""

from __future__ import annotations

from bot.flow import Done, Go, Move, Stay, Turn, choose
from bot.flows.staff.change_draft import ChangeSpec, Draft, Target, Value
from bot.flows.staff.change_words import MODES
from bot.render import accounts, status_label
from bot.vocabulary import Choices, Option, Reply, Text
from core.money import currency_exponent
from core.services.staff import changes
from core.services.staff.choices import (
    link_choices,
    refund_target,
    subscription_choices,
)
from core.services.staff.codec import to_data
from core.services.staff.requests import (
    RefundMode,
    new_token,
    parse_accounts,
    parse_amount,
    parse_days,
    parse_mode,
)

ALL = "all"


def _package(turn: Turn, code: str) -> str:
    catalog = turn.services.catalog
    return catalog.package(code).name if catalog.has_package(code) else code


async def _subscription_options(spec: ChangeSpec, turn: Turn, draft: Draft) -> tuple[Option, ...]:
    assert draft.workspace_id is not None
    found = await subscription_choices(turn.services, turn.actor, spec.verb, draft.workspace_id)
    t = turn.t
    return tuple(
        Option(
            t(
                "{name}, {accounts} ({status})",
                name=_package(turn, c.package),
                accounts=accounts(t, c.accounts),
                status=status_label(t, c.status),
            ),
            str(c.id),
        )
        for c in found
    )


async def _link_options(turn: Turn, draft: Draft) -> tuple[Option, ...]:
    assert draft.workspace_id is not None
    found = await link_choices(turn.services, turn.actor, draft.workspace_id)
    t = turn.t
    return tuple(
        Option(
            t(
                "{order}: {kind}, {due} due",
                order=c.reference,
                kind=t("renewal of {package}", package=_package(turn, c.package))
                if c.renewal
                else _package(turn, c.package),
                due=t.money(c.due),
            ),
            c.reference,
        )
        for c in found
    )


async def _payment_options(turn: Turn, draft: Draft) -> tuple[Option, ...]:
    assert draft.order is not None
    target = await refund_target(turn.services, turn.actor, draft.order)
    t = turn.t
    return tuple(
        Option(
            t(
                "Payment #{id}: {amount}, {left} refundable",
                id=p.id,
                amount=t.money(p.amount),
                left=t.money(p.refundable),
            )
            + (" " + t("(flagged)") if p.flagged else ""),
            str(p.id),
        )
        for p in target.payments
        if p.refundable.minor > 0
    )


def _nothing(spec: ChangeSpec, turn: Turn, draft: Draft) -> Move:
    return Done(
        (
            Text(
                turn.t(
                    "{workspace} has nothing that /staff {verb} applies to.",
                    workspace=draft.workspace_name or "?",
                    verb=spec.verb.value,
                )
            ),
        )
    )


async def _one_of(
    spec: ChangeSpec, turn: Turn, draft: Draft, options: tuple[Option, ...], field: str, step: str
) -> Draft | Move:
    """The only option, kept in the draft; a question when there are several; none: done."""
    if not options:
        return _nothing(spec, turn, draft)
    if len(options) > 1:
        return Go(spec.step(step))
    value: object = int(options[0].value) if field != "order" else options[0].value
    return draft.kept(turn.data, **{field: value})


async def _payment_target(spec: ChangeSpec, turn: Turn, draft: Draft) -> Draft | Move:
    """A refund's order, then which of its payments, then the workspace it belongs to."""
    order = draft.order
    if order is None:
        return Go(spec.step("order"))
    if draft.payment_id is None:
        options = await _payment_options(turn, draft)
        found = await _one_of(spec, turn, draft, options, "payment_id", "payment")
        if not isinstance(found, Draft):
            return found
        draft = found
    if draft.workspace_id is None:
        target = await refund_target(turn.services, turn.actor, order)
        draft = draft.kept(
            turn.data, workspace_id=target.workspace_id, workspace_name=target.workspace_name
        )
    return draft


async def _workspace_target(spec: ChangeSpec, turn: Turn, draft: Draft) -> Draft | Move:
    """The workspace, then (for its verbs) which subscription or open order."""
    if draft.workspace_id is None:
        return Go(spec.step("workspace"))
    if spec.target is Target.SUBSCRIPTION and draft.subscription_id is None:
        options = await _subscription_options(spec, turn, draft)
        return await _one_of(spec, turn, draft, options, "subscription_id", "subscription")
    if spec.target is Target.LINK and draft.order is None:
        options = await _link_options(turn, draft)
        return await _one_of(spec, turn, draft, options, "order", "order")
    return draft


async def next_target(spec: ChangeSpec, turn: Turn, draft: Draft) -> Move:
    """Ask what is still missing, or preview the change once nothing is."""
    if spec.target is Target.PAYMENT:
        found = await _payment_target(spec, turn, draft)
    else:
        found = await _workspace_target(spec, turn, draft)
    if not isinstance(found, Draft):
        return found
    if _value_missing(spec, found):
        return Go(spec.step("value"))
    return await previewed(spec, turn, found)


def _value_missing(spec: ChangeSpec, draft: Draft) -> bool:
    if spec.value is None or (draft.payment_id is not None and spec.target is Target.WORKSPACE):
        return False
    if spec.value is Value.REFUND_AMOUNT:
        return draft.value is None and not draft.all_of_it
    return draft.value is None


async def previewed(spec: ChangeSpec, turn: Turn, draft: Draft) -> Move:
    """Preview the change the draft makes, bound to a fresh token."""
    request = spec.build(draft, turn.services.catalog.currency)
    shown = await changes.preview(turn.services, turn.actor, request)
    turn.data["preview"] = to_data(shown)
    turn.data["token"] = new_token()
    for stale in ("reason", "comment"):
        turn.data.pop(stale, None)
    return Go(spec.step("preview"))


# --- the steps ----------------------------------------------------------------------------


async def ask_subscription(spec: ChangeSpec, turn: Turn) -> list[Reply]:
    draft = Draft.of(turn.data)
    options = await _subscription_options(spec, turn, draft)
    question = turn.t("Which subscription of {workspace}?", workspace=draft.workspace_name or "?")
    return [Choices(question, options + turn.nav(), turn.version)]


async def answer_subscription(spec: ChangeSpec, turn: Turn, answer: str) -> Move:
    draft = Draft.of(turn.data)
    if choose(await _subscription_options(spec, turn, draft), answer) is None:
        return Stay(turn.t("Choose one of the subscriptions listed."))
    return await next_target(spec, turn, draft.kept(turn.data, subscription_id=int(answer)))


async def ask_order(spec: ChangeSpec, turn: Turn) -> list[Reply]:
    t = turn.t
    if spec.target is Target.PAYMENT:
        question = t("Which order? Type its reference (ord_...).")
        return [Choices(question, turn.nav(), turn.version)]
    options = await _link_options(turn, Draft.of(turn.data))
    return [
        Choices(
            t("Which open order gets a fresh payment link?"), options + turn.nav(), turn.version
        )
    ]


async def answer_order(spec: ChangeSpec, turn: Turn, answer: str) -> Move:
    draft = Draft.of(turn.data)
    if spec.target is Target.PAYMENT:
        typed = answer.strip()[:60]
        await refund_target(turn.services, turn.actor, typed)  # an unknown order is refused
        return await next_target(spec, turn, draft.kept(turn.data, order=typed))
    if choose(await _link_options(turn, draft), answer) is None:
        return Stay(turn.t("Choose one of the orders listed."))
    return await next_target(spec, turn, draft.kept(turn.data, order=answer))


async def ask_payment(spec: ChangeSpec, turn: Turn) -> list[Reply]:
    options = await _payment_options(turn, Draft.of(turn.data))
    return [Choices(turn.t("Which payment of the order?"), options + turn.nav(), turn.version)]


async def answer_payment(spec: ChangeSpec, turn: Turn, answer: str) -> Move:
    draft = Draft.of(turn.data)
    if choose(await _payment_options(turn, draft), answer) is None:
        return Stay(turn.t("Choose one of the payments listed."))
    return await next_target(spec, turn, draft.kept(turn.data, payment_id=int(answer)))


def _amount_hint(turn: Turn) -> str:
    currency = turn.services.catalog.currency
    if currency_exponent(currency) == 0:
        return turn.t("in whole {currency}, such as 250000", currency=currency)
    return turn.t("in {currency}, such as 12.50", currency=currency)


async def ask_value(spec: ChangeSpec, turn: Turn) -> list[Reply]:
    t = turn.t
    if spec.value is Value.MODE:
        options = tuple(Option(t(MODES[mode]), mode.value) for mode in RefundMode)
        return [Choices(t("What money goes back?"), options + turn.nav(), turn.version)]
    if spec.value is Value.DAYS:
        return [Choices(t("By how many days? Type 1 to 365."), turn.nav(), turn.version)]
    if spec.value is Value.ACCOUNTS:
        question = t("How many accounts to add or remove? Type a number such as +5 or -2.")
        return [Choices(question, turn.nav(), turn.version)]
    if spec.value is Value.REFUND_AMOUNT:
        question = t(
            "How much to refund? Type an amount {hint}, or choose All.", hint=_amount_hint(turn)
        )
        return [Choices(question, (Option(t("All that is left"), ALL), *turn.nav()), turn.version)]
    question = t("How much credit? Type an amount {hint}.", hint=_amount_hint(turn))
    return [Choices(question, turn.nav(), turn.version)]


async def answer_value(spec: ChangeSpec, turn: Turn, answer: str) -> Move:
    draft = Draft.of(turn.data)
    typed = answer.strip()[:40]
    currency = turn.services.catalog.currency
    if spec.value is Value.REFUND_AMOUNT and answer == ALL:
        return await next_target(spec, turn, draft.kept(turn.data, all_of_it=True, value=None))
    if spec.value is Value.MODE:
        parse_mode(typed)
    elif spec.value is Value.DAYS:
        parse_days(typed)
    elif spec.value is Value.ACCOUNTS:
        parse_accounts(typed)
    else:
        parse_amount(typed, currency)
    return await next_target(spec, turn, draft.kept(turn.data, value=typed))

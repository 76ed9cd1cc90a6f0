"""unsubscribe (confirm, and a reason from support staff), resume, and withdraw a downgrade."""

from __future__ import annotations

from bot.flow import Done, Flow, Go, Move, Stay, Step, Turn, choose
from bot.flows.common import (
    admins_named,
    argument_id,
    held,
    require_allowed,
    subscription_options,
    without_controls,
    workspace_of,
)
from bot.flows.scheduled import unsubscribe_warning
from bot.vocabulary import Choices, Confirmation, Option, Reply, Text
from core.access import Action
from core.errors import Conflict
from core.lifecycle import Status
from core.services.orders import withdraw_scheduled_change
from core.services.queries import SubscriptionView
from core.services.subscriptions import resume, unsubscribe

CONFIRM = "confirm"
MAX_REASON = 500


async def _candidates(turn: Turn, *, cancelling: bool) -> list[SubscriptionView]:
    return [v for v in await held(turn) if v.cancel_at_period_end == cancelling]


async def _chosen(turn: Turn) -> SubscriptionView:
    wanted = int(turn.data["subscription"])
    for view in await held(turn):
        if view.id == wanted:
            return view
    raise Conflict("That subscription is no longer active.")


def _next_after_pick(turn: Turn) -> Move:
    return Go("reason") if turn.actor.is_support else Go(CONFIRM)


async def _begin(turn: Turn, *, cancelling: bool) -> Move:
    await require_allowed(turn, Action.UNSUBSCRIBE)
    views = await _candidates(turn, cancelling=cancelling)
    wanted = argument_id(turn)
    if wanted is not None:
        views = [v for v in views if v.id == wanted] or views
    if not views:
        if cancelling:
            return Done((Text(turn.t("Nothing is set to end, so there is nothing to resume.")),))
        return Done((Text(turn.t("There is no active subscription to unsubscribe from.")),))
    if len(views) == 1:
        turn.data["subscription"] = views[0].id
        return _next_after_pick(turn)
    return Go("subscription")


async def ask_subscription(turn: Turn) -> list[Reply]:
    cancelling = turn.data.get("mode") == "resume"
    views = await _candidates(turn, cancelling=cancelling)
    return [
        Choices(
            turn.t("Which subscription?"),
            subscription_options(turn, views) + turn.nav(back=False),
            turn.version,
        )
    ]


async def answer_subscription(turn: Turn, answer: str) -> Move:
    cancelling = turn.data.get("mode") == "resume"
    views = await _candidates(turn, cancelling=cancelling)
    option = choose(subscription_options(turn, views), answer)
    if option is None:
        return Stay(turn.t("Choose one of the subscriptions listed."))
    turn.data["subscription"] = int(option.value)
    return _next_after_pick(turn)


async def ask_reason(turn: Turn) -> list[Reply]:
    return [
        Choices(
            turn.t("Type the reason for the audit log (up to 500 characters)."),
            turn.nav(),
            turn.version,
        )
    ]


async def answer_reason(turn: Turn, answer: str) -> Move:
    reason = without_controls(answer).strip()
    if not reason or len(reason) > MAX_REASON:
        return Stay(turn.t("Type a reason of 1 to 500 characters."))
    turn.data["reason"] = reason
    return Go(CONFIRM)


async def ask_confirm(turn: Turn) -> list[Reply]:
    t, view = turn.t, await _chosen(turn)
    if turn.data.get("mode") == "resume":
        title = t("Resume {name}? It will renew as usual.", name=view.package.name)
        options = (Option(t("Resume"), "yes"), *turn.nav())
        return [Confirmation(title, (), options, turn.version)]
    title = t("Unsubscribe from {name}?", name=view.package.name)
    options = (Option(t("Unsubscribe"), "yes"), *turn.nav())
    if view.status is Status.TRY:
        lines = ((t("Trial"), t("ends now")),)
        return [Confirmation(title, lines, options, turn.version)]
    end = view.period_end
    if end is None or end <= turn.services.clock.now():
        lines = ((t("Ends"), t("now: the renewal is overdue")),)
        return [Confirmation(title, lines, options, turn.version)]
    lines = ((t("Stays active until"), t.when(end)),)
    footnote = t("You can resume until the period ends.")
    warning = unsubscribe_warning(turn, view)
    if warning is not None:
        footnote = f"{warning}\n{footnote}"
    return [Confirmation(title, lines, options, turn.version, footnote)]


async def answer_confirm(turn: Turn, answer: str) -> Move:
    t = turn.t
    if answer != "yes":
        return Stay(t("Choose one of the buttons, or Back or Cancel."))
    view = await _chosen(turn)
    reason = turn.data.get("reason")
    workspace_id = workspace_of(turn)
    if turn.data.get("mode") == "resume":
        await resume(turn.services, turn.actor, workspace_id, view.id, reason)
        return Done((Text(t("{name} will renew as usual.", name=view.package.name)),))
    sub = await unsubscribe(turn.services, turn.actor, workspace_id, view.id, reason)
    if sub.state == "inactive" or sub.period_end is None:
        return Done((Text(t("{name} has ended.", name=view.package.name)),))
    return Done(
        (
            Text(
                t(
                    "{name} will end on {date}. You can resume until then.",
                    name=view.package.name,
                    date=t.when(sub.period_end),
                )
            ),
        )
    )


STEPS = {
    "subscription": Step(ask_subscription, answer_subscription, frozenset({"reason", CONFIRM})),
    "reason": Step(ask_reason, answer_reason, frozenset({CONFIRM}), typed=True),
    CONFIRM: Step(ask_confirm, answer_confirm),
}
ENTRY = frozenset({"subscription", "reason", CONFIRM})


async def begin_unsubscribe(turn: Turn) -> Move:
    turn.data["mode"] = "unsubscribe"
    return await _begin(turn, cancelling=False)


async def begin_resume(turn: Turn) -> Move:
    turn.data["mode"] = "resume"
    return await _begin(turn, cancelling=True)


async def begin_withdraw(turn: Turn) -> Move:
    """Withdraw a scheduled downgrade: the details button is the confirmation."""
    views = [v for v in await held(turn) if v.has_scheduled_change]
    # An argument that is no id (/withdraw ², /withdraw x) names no change, as an unknown id
    # does: only the bare command withdraws the one change there is.
    given, wanted = str(turn.data.get("argument", "")).strip(), argument_id(turn)
    views = [v for v in views if not given or v.id == wanted]
    if len(views) != 1:
        return Done(
            (
                Text(
                    turn.t(
                        "Choose the change to withdraw from {command}.",
                        command=turn.command("subscription"),
                    )
                ),
            )
        )
    async with admins_named(turn):
        await withdraw_scheduled_change(turn.services, turn.actor, workspace_of(turn), views[0].id)
    return Done(
        (Text(turn.t("The scheduled change of {name} was withdrawn.", name=views[0].package.name)),)
    )


UNSUBSCRIBE = Flow("unsubscribe", begin_unsubscribe, STEPS, ENTRY)
RESUME = Flow("resume", begin_resume, STEPS, ENTRY)
WITHDRAW = Flow("withdraw", begin_withdraw)

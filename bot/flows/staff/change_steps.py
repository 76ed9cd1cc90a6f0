"""The steps every staff change takes: what is missing is asked (the workspace, which
subscription, order or payment, the typed value, the refund mode), then the preview with the
reasons, the comment, and the confirm button bound to one token and one state."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial

from bot.flow import Move, Step, Turn
from bot.flows.common import without_controls
from bot.flows.staff.change_draft import ChangeSpec, Draft, Target, Value, split_arguments
from bot.flows.staff.change_targets import (
    answer_order,
    answer_payment,
    answer_subscription,
    answer_value,
    ask_order,
    ask_payment,
    ask_subscription,
    ask_value,
    next_target,
)
from bot.flows.staff.confirming import (
    answer_comment,
    answer_confirm,
    answer_preview,
    ask_comment,
    ask_confirm,
    ask_preview,
)
from bot.vocabulary import Choices, Reply
from core.access import require_staff
from core.services.staff.requests import parse_payment
from core.services.staff.targets import staff_workspace

STEPS = ("workspace", "subscription", "order", "payment", "value", "preview", "comment", "confirm")
SpecAsk = Callable[[ChangeSpec, Turn], Awaitable[list[Reply]]]
SpecAnswer = Callable[[ChangeSpec, Turn, str], Awaitable[Move]]
STAFF_MENU = "menu"
"""The `/staff` menu step (bot.flows.staff), where a finished change can go back to."""


def names(spec: ChangeSpec) -> frozenset[str]:
    return frozenset(spec.step(name) for name in STEPS)


async def begin(spec: ChangeSpec, turn: Turn, typed: str) -> Move:
    """`/staff <verb> [args]`: what was typed is taken, and the rest is asked."""
    require_staff(spec.verb, turn.actor)
    turn.data.pop("draft", None)
    draft = Draft()
    if spec.target is Target.PAYMENT:
        order, _, amount = typed.strip().partition(" ")
        if order:  # `refund <order>` alone refunds all that is left
            draft = draft.kept(turn.data, order=order[:60], all_of_it=not amount.strip())
        if amount.strip():
            draft = draft.kept(turn.data, value=amount.strip()[:40])
        return await next_target(spec, turn, draft)
    workspace, value = split_arguments(spec, typed)
    if workspace:
        ref = await staff_workspace(turn.services, turn.actor, spec.verb, workspace[:200])
        draft = draft.kept(turn.data, workspace_id=ref.id, workspace_name=ref.name)
    if value:
        payment = parse_payment(value)
        if payment is not None and spec.value is Value.AMOUNT:
            draft = draft.kept(turn.data, payment_id=payment)
        else:
            draft = draft.kept(turn.data, value=value[:40])
    return await next_target(spec, turn, draft)


async def ask_workspace(spec: ChangeSpec, turn: Turn) -> list[Reply]:
    return [Choices(turn.t("Which workspace? Type its id or its name."), turn.nav(), turn.version)]


async def answer_workspace(spec: ChangeSpec, turn: Turn, answer: str) -> Move:
    typed = without_controls(answer).strip()[:200]
    ref = await staff_workspace(turn.services, turn.actor, spec.verb, typed)
    draft = Draft.of(turn.data).kept(turn.data, workspace_id=ref.id, workspace_name=ref.name)
    return await next_target(spec, turn, draft)


def steps(spec: ChangeSpec) -> dict[str, Step]:
    """The verb's own steps; each may go to any other of them (or back to the staff menu)."""
    goes = names(spec) | {STAFF_MENU}
    typed_order = spec.target is Target.PAYMENT

    def step(ask: SpecAsk, answer: SpecAnswer, *, typed: bool = False) -> Step:
        return Step(partial(ask, spec), partial(answer, spec), goes, typed)

    return {
        spec.step("workspace"): step(ask_workspace, answer_workspace, typed=True),
        spec.step("subscription"): step(ask_subscription, answer_subscription),
        spec.step("order"): step(ask_order, answer_order, typed=typed_order),
        spec.step("payment"): step(ask_payment, answer_payment),
        spec.step("value"): step(ask_value, answer_value, typed=spec.value is not Value.MODE),
        spec.step("preview"): step(ask_preview, answer_preview),
        spec.step("comment"): step(ask_comment, answer_comment, typed=True),
        spec.step("confirm"): step(ask_confirm, answer_confirm),
    }


def entry(spec: ChangeSpec) -> frozenset[str]:
    return names(spec)

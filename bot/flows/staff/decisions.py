"""`approve <action id>` and `reject <action id>`: a second manager decides on a waiting
refund or credit, after seeing what it would do; never the manager who asked for it."""

from __future__ import annotations

from functools import partial

from bot.flow import Done, Go, Move, Stay, Step, Turn
from bot.flows.staff.change_words import in_zone, preview_lines, reason_label, result_text, title
from bot.flows.staff.verbs import Verb
from bot.i18n import N_
from bot.vocabulary import Choices, Confirmation, Option, Reply, Text
from core.access import StaffVerb, require_staff
from core.errors import InvalidRequest
from core.services.staff.approvals import (
    Lapsed,
    PendingAction,
    Rejected,
    approve,
    pending_action,
    reject,
)
from core.services.staff.changes import AlreadyDone
from core.services.staff.requests import ReasonCode, parse_id
from core.services.staff.state import ActionStatus

DECIDE = "decide"


def _open_to(verb: StaffVerb, pending: PendingAction) -> bool:
    """Waiting, or (to approve again) approved with its provider call still to be made."""
    if pending.status is ActionStatus.AWAITING_APPROVAL:
        return True
    retry = pending.status is ActionStatus.RUNNING and pending.decided_by is not None
    return verb is StaffVerb.APPROVE and retry


def _decided(turn: Turn, pending: PendingAction) -> str:
    t, who = turn.t, pending.decided_by or "?"
    if pending.status is ActionStatus.DONE:
        return t("Action #{id} was already approved by {who} and has run.", id=pending.id, who=who)
    if pending.status is ActionStatus.REJECTED:
        return t("Action #{id} was rejected by {who}: nothing moved.", id=pending.id, who=who)
    if pending.status is ActionStatus.LAPSED:
        return t("Action #{id} lapsed: nothing moved.", id=pending.id)
    return t("Action #{id} is not waiting for a decision.", id=pending.id)


async def _to_decide(verb: StaffVerb, turn: Turn, action_id: int) -> Move:
    pending = await pending_action(turn.services, turn.actor, action_id)
    if not _open_to(verb, pending):
        return Done((Text(_decided(turn, pending)),))
    if pending.requester == turn.actor.label:
        refusal = turn.t(
            "You asked for action #{id}: another manager must approve or reject it.",
            id=action_id,
        )
        return Done((Text(refusal),))
    turn.data["action"] = action_id
    return Go(f"{verb.value}_confirm")


async def begin_decision(verb: StaffVerb, turn: Turn, typed: str) -> Move:
    require_staff(verb, turn.actor)
    if not typed.strip():
        return Go(f"{verb.value}_action")
    action_id = parse_id(typed)
    if action_id is None:
        raise InvalidRequest("Type the action's number, such as 12.")
    return await _to_decide(verb, turn, action_id)


async def ask_action(verb: StaffVerb, turn: Turn) -> list[Reply]:
    question = turn.t("Which staff action? Type its number.")
    return [Choices(question, turn.nav(), turn.version)]


async def answer_action(verb: StaffVerb, turn: Turn, answer: str) -> Move:
    action_id = parse_id(answer)
    if action_id is None:
        return Stay(turn.t("Type the action's number, such as 12."))
    return await _to_decide(verb, turn, action_id)


async def ask_decision(verb: StaffVerb, turn: Turn) -> list[Reply]:
    t = turn.t
    pending = await pending_action(turn.services, turn.actor, int(turn.data["action"]))
    shown = pending.preview
    catalog = turn.services.catalog
    lines = (
        *preview_lines(in_zone(t, shown.workspace), catalog, shown),
        (t("Asked by"), pending.requester),
        (t("Reason"), reason_label(t, ReasonCode(pending.reason_code))),
        (t("Comment"), pending.comment or "-"),
    )
    label = t("Approve") if verb is StaffVerb.APPROVE else t("Reject")
    heading = t("Action #{id}: {change}", id=pending.id, change=title(t, catalog, shown))
    return [Confirmation(heading, lines, (Option(label, DECIDE), *turn.nav()), turn.version)]


async def answer_decision(verb: StaffVerb, turn: Turn, answer: str) -> Move:
    t = turn.t
    if answer != DECIDE:
        return Stay(t("Choose one of the buttons, or Back or Cancel."))
    action_id = int(turn.data["action"])
    told = t("The requester was told.")
    if verb is StaffVerb.REJECT:
        await reject(turn.services, turn.actor, action_id)
        return Done(
            (Text(t("Action #{id} was rejected: nothing moved.", id=action_id) + " " + told),)
        )
    decision = await approve(turn.services, turn.actor, action_id)
    if isinstance(decision, Lapsed):
        text = t(
            "Action #{id} lapsed: the workspace changed since it was asked, so nothing moved.",
            id=action_id,
        )
        return Done((Text(f"{text} {told}"),))
    assert not isinstance(decision, Rejected)
    result = decision.result
    zoned = in_zone(t, result.preview.workspace)
    again = isinstance(decision, AlreadyDone)
    text = result_text(zoned, turn.services.catalog, result, again=again)
    return Done((Text(f"{text}\n{told}"),))


def _verb(verb: StaffVerb, label: str) -> Verb:
    name = verb.value
    goes = frozenset({f"{name}_action", f"{name}_confirm"})
    steps = {
        f"{name}_action": Step(partial(ask_action, verb), partial(answer_action, verb), goes, True),
        f"{name}_confirm": Step(partial(ask_decision, verb), partial(answer_decision, verb), goes),
    }
    return Verb(verb, label, partial(begin_decision, verb), steps, goes)


DECISIONS = [
    _verb(StaffVerb.APPROVE, N_("Approve a refund or credit")),
    _verb(StaffVerb.REJECT, N_("Reject a refund or credit")),
]

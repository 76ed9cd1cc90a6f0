"""The preview with the reasons to choose from, the comment, and the confirm button: its
value carries the token, a second tap answers "already done" with the same result, and a
state that moved shows the new preview."""

from __future__ import annotations

from bot.flow import Go, Move, Stay, Turn
from bot.flows.common import without_controls
from bot.flows.staff.change_draft import ChangeSpec
from bot.flows.staff.change_words import (
    REASONS,
    approval_note,
    in_zone,
    preview_lines,
    reason_label,
    result_text,
    title,
)
from bot.vocabulary import Choices, Confirmation, Option, Reply
from core.money import Money, currency_exponent
from core.services.staff import changes
from core.services.staff.codec import from_data, to_data
from core.services.staff.preview import Preview
from core.services.staff.requests import MAX_COMMENT, ReasonCode, clean_comment, new_token
from core.staff import StaffChat

SKIP = "skip"
CONFIRM = "confirm:"
STAFF_MENU = "menu"


def stored(turn: Turn) -> Preview:
    return from_data(Preview, turn.data["preview"])


def _reason(turn: Turn) -> ReasonCode:
    return ReasonCode(str(turn.data["reason"]))


def _threshold(turn: Turn, currency: str) -> Money:
    over = turn.services.staff.approval_over.scaleb(currency_exponent(currency))
    return Money(int(over), currency)


def _footnote(turn: Turn, preview: Preview, more: str) -> str:
    if not preview.needs_approval:
        return more
    note = approval_note(turn.t, _threshold(turn, preview.workspace.currency))
    return f"{note}\n{more}" if more else note


async def ask_preview(spec: ChangeSpec, turn: Turn) -> list[Reply]:
    shown = stored(turn)
    t, zoned = turn.t, in_zone(turn.t, shown.workspace)
    catalog = turn.services.catalog
    reasons = tuple(Option(t(label), code.value) for code, label in REASONS.items())
    return [
        Confirmation(
            title(t, catalog, shown),
            preview_lines(zoned, catalog, shown),
            reasons + turn.nav(),
            turn.version,
            _footnote(turn, shown, t("Choose the reason, for the audit log.")),
        )
    ]


async def answer_preview(spec: ChangeSpec, turn: Turn, answer: str) -> Move:
    if answer not in {code.value for code in ReasonCode}:
        return Stay(turn.t("Choose one of the reasons, or Back or Cancel."))
    turn.data["reason"] = answer
    turn.data.pop("comment", None)
    return Go(spec.step("comment"))


async def ask_comment(spec: ChangeSpec, turn: Turn) -> list[Reply]:
    t = turn.t
    if _reason(turn) is ReasonCode.OTHER:
        question = t(
            "Type a comment for the audit log: the reason Other needs one (up to {n} characters).",
            n=MAX_COMMENT,
        )
        return [Choices(question, turn.nav(), turn.version)]
    question = t("Type a comment for the audit log (up to {n} characters), or Skip.", n=MAX_COMMENT)
    return [Choices(question, (Option(t("Skip"), SKIP), *turn.nav()), turn.version)]


async def answer_comment(spec: ChangeSpec, turn: Turn, answer: str) -> Move:
    reason = _reason(turn)
    typed = None if answer == SKIP else without_controls(answer)
    turn.data["comment"] = clean_comment(reason, typed)
    return Go(spec.step("confirm"))


def _chat(turn: Turn) -> StaffChat:
    return StaffChat(*turn.chat)


async def ask_confirm(spec: ChangeSpec, turn: Turn) -> list[Reply]:
    t = turn.t
    token = str(turn.data["token"])
    after = await changes.used(turn.services, turn.actor, token)
    if after is not None:
        text = t("What next?")
        return [
            Choices(
                text, (Option(t("Staff menu"), STAFF_MENU), *turn.nav(back=False)), turn.version
            )
        ]
    shown = stored(turn)
    comment = turn.data.get("comment")
    lines = (
        *preview_lines(in_zone(t, shown.workspace), turn.services.catalog, shown),
        (t("Reason"), reason_label(t, _reason(turn))),
        (t("Comment"), str(comment) if comment else "-"),
    )
    options = (Option(t("Confirm"), f"{CONFIRM}{token}"), *turn.nav())
    return [
        Confirmation(
            title(t, turn.services.catalog, shown),
            lines,
            options,
            turn.version,
            _footnote(turn, shown, t("The customer's billing admins will be told.")),
        )
    ]


async def answer_confirm(spec: ChangeSpec, turn: Turn, answer: str) -> Move:
    t = turn.t
    if answer == STAFF_MENU:
        return Go(STAFF_MENU)
    token = str(turn.data["token"])
    if answer != f"{CONFIRM}{token}":
        return Stay(t("Choose one of the buttons, or Back or Cancel."))
    shown = stored(turn)
    comment = turn.data.get("comment")
    outcome = await changes.confirm(
        turn.services,
        turn.actor,
        shown.request,
        _reason(turn),
        None if comment is None else str(comment),
        shown.state_key,
        token,
        chat=_chat(turn),
    )
    catalog = turn.services.catalog
    zoned = in_zone(t, shown.workspace)
    if isinstance(outcome, changes.Done | changes.AlreadyDone):
        again = isinstance(outcome, changes.AlreadyDone)
        # The conversation stays as it is, so a second tap of the same button lands here.
        return Stay(result_text(zoned, catalog, outcome.result, again=again))
    if isinstance(outcome, changes.AwaitingApproval):
        return Stay(
            t(
                "Above {amount}, so it waits for a second manager: action #{id} was posted to "
                "the staff chats. Nothing moves until it is approved; you will be told here.",
                amount=t.money(_threshold(turn, shown.workspace.currency)),
                id=outcome.action_id,
            )
        )
    turn.data["preview"] = to_data(outcome.preview)
    turn.data["token"] = new_token()
    note = t(
        "The workspace changed since the preview, so nothing ran. Here is the new preview: "
        "confirm again if it still stands."
    )
    return Go(spec.step("confirm"), note)

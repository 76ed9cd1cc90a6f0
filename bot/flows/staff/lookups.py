"""The look-up verbs of `/staff`: find, show, audit, orders, payments, flagged and notices.
Each answers at once when its argument was typed after it, and asks for it otherwise; the
answers end with buttons for what the tier may do next."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.flow import Done, Go, Move, Step, Turn
from bot.flows.staff.history_text import (
    audit_sections,
    notices_sections,
    orders_sections,
    payments_sections,
)
from bot.flows.staff.lookup_text import (
    card_sections,
    cut,
    fitted,
    flagged_sections,
    found_text,
    workspace_title,
)
from bot.flows.staff.next_steps import (
    audit_options,
    back_to_workspace,
    card_options,
    flagged_options,
    refund_options,
)
from bot.flows.staff.verbs import Verb, run
from bot.i18n import N_, Translator
from bot.vocabulary import Choices, Option, Reply, Text
from core.access import StaffVerb
from core.services.staff.lookup import flagged, notices, show
from core.services.staff.lookup_find import find
from core.services.staff.lookup_history import audit, orders, payments
from core.services.staff.targets import WorkspaceRef, staff_workspace

Answer = Callable[[Turn, str], Awaitable[tuple[Reply, ...]]]

ASK_WORKSPACE = N_("Which workspace? Type its id or its name.")
ASK_FIND = N_(
    "Type what to look for: a workspace name or id, an order reference, "
    "a Slack team id or a Telegram user or chat id."
)
MAX_PAGE_DIGITS = 12


def _zoned(turn: Turn, ref: WorkspaceRef) -> Translator:
    """The staff member's language with the customer workspace's time zone."""
    return Translator(turn.t.language, ref.timezone)


def _menu(t: Translator, options: tuple[Option, ...], turn: Turn) -> tuple[Reply, ...]:
    return (Choices(t("What next?"), options, turn.version),) if options else ()


async def _find(turn: Turn, typed: str) -> tuple[Reply, ...]:
    t = turn.t
    found = await find(turn.services, turn.actor, typed)
    if not found.hits:
        return (Text(t("No workspace matches '{text}'.", text=cut(typed, 40))),)
    options = tuple(
        Option(workspace_title(hit), run(StaffVerb.SHOW, str(hit.id))) for hit in found.hits
    )
    shown = fitted(t, [found_text(t, typed, found)])
    return (*shown, Choices(t("Open a workspace:"), options, turn.version))


async def _show(turn: Turn, typed: str) -> tuple[Reply, ...]:
    ref = await staff_workspace(turn.services, turn.actor, StaffVerb.SHOW, typed)
    card = await show(turn.services, turn.actor, ref.id)
    t = _zoned(turn, ref)
    sections = card_sections(t, turn.services.catalog, card)
    return (*fitted(t, sections), *_menu(t, card_options(t, turn.actor.tier, card), turn))


def page_of(typed: str) -> tuple[str, int]:
    """`<ws> [page]`: a last word of digits after the workspace is the page."""
    words = typed.split()
    last = words[-1] if words else ""
    if len(words) > 1 and last.isascii() and last.isdigit() and len(last) <= MAX_PAGE_DIGITS:
        return " ".join(words[:-1]), int(last)
    return typed, 1


async def _audit(turn: Turn, typed: str) -> tuple[Reply, ...]:
    named, page_number = page_of(typed)
    ref = await staff_workspace(turn.services, turn.actor, StaffVerb.AUDIT, named)
    page = await audit(turn.services, turn.actor, ref.id, page_number)
    t = _zoned(turn, ref)
    return (*fitted(t, audit_sections(t, ref, page)), *_menu(t, audit_options(t, page), turn))


async def _orders(turn: Turn, typed: str) -> tuple[Reply, ...]:
    ref = await staff_workspace(turn.services, turn.actor, StaffVerb.ORDERS, typed)
    found = await orders(turn.services, turn.actor, ref.id)
    t = _zoned(turn, ref)
    refundable = [o.reference for o in found if o.paid.minor > o.refunded.minor]
    options = (*refund_options(t, turn.actor.tier, refundable), back_to_workspace(t, ref.id))
    sections = orders_sections(t, turn.services.catalog, ref, found)
    return (*fitted(t, sections), *_menu(t, options, turn))


async def _payments(turn: Turn, typed: str) -> tuple[Reply, ...]:
    ref = await staff_workspace(turn.services, turn.actor, StaffVerb.PAYMENTS, typed)
    found = await payments(turn.services, turn.actor, ref.id)
    t = _zoned(turn, ref)
    refundable = [p.order_reference for p in found if p.order_reference and p.refundable.minor]
    options = (*refund_options(t, turn.actor.tier, refundable), back_to_workspace(t, ref.id))
    return (*fitted(t, payments_sections(t, ref, found)), *_menu(t, options, turn))


async def _notices(turn: Turn, typed: str) -> tuple[Reply, ...]:
    ref = await staff_workspace(turn.services, turn.actor, StaffVerb.NOTICES, typed)
    found = await notices(turn.services, turn.actor, ref.id)
    t = _zoned(turn, ref)
    options = (back_to_workspace(t, ref.id),)
    return (*fitted(t, notices_sections(t, ref, found)), *_menu(t, options, turn))


async def _flagged(turn: Turn) -> tuple[Reply, ...]:
    t = turn.t
    found = await flagged(turn.services, turn.actor)
    options = flagged_options(t, turn.actor.tier, found)
    return (*fitted(t, flagged_sections(t, found)), *_menu(t, options, turn))


def _asking(verb: StaffVerb, label: str, question: str, answer: Answer) -> Verb:
    """A verb that needs one argument: given after the verb it answers at once; from the
    menu it asks for it in a typed step (a refusal there asks again)."""
    step = f"{verb.value}_argument"

    async def begin(turn: Turn, typed: str) -> Move:
        if not typed.strip():
            return Go(step)
        return Done(await answer(turn, typed))

    async def ask(turn: Turn) -> list[Reply]:
        return [Choices(turn.t(question), turn.nav(), turn.version)]

    async def answered(turn: Turn, typed: str) -> Move:
        return Done(await answer(turn, typed))

    steps = {step: Step(ask, answered, typed=True)}
    return Verb(verb, label, begin, steps, frozenset({step}))


async def _begin_flagged(turn: Turn, typed: str) -> Move:
    return Done(await _flagged(turn))


def lookup_verbs() -> list[Verb]:
    """The look-up verbs, in the order of DESIGN section 13's table."""
    return [
        _asking(StaffVerb.FIND, N_("Find a workspace"), ASK_FIND, _find),
        _asking(StaffVerb.SHOW, N_("Show a workspace"), ASK_WORKSPACE, _show),
        _asking(StaffVerb.AUDIT, N_("Audit log"), ASK_WORKSPACE, _audit),
        _asking(StaffVerb.ORDERS, N_("Orders"), ASK_WORKSPACE, _orders),
        _asking(StaffVerb.PAYMENTS, N_("Payments"), ASK_WORKSPACE, _payments),
        Verb(StaffVerb.FLAGGED, N_("Flagged payments"), _begin_flagged),
        _asking(StaffVerb.NOTICES, N_("Notices"), ASK_WORKSPACE, _notices),
    ]

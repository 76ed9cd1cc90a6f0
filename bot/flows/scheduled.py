"""What a review or a confirmation says of a change already scheduled on the subscription it
touches: a downgrade waiting for the renewal, or an unsubscribe waiting for the period end."""

from __future__ import annotations

from bot.flow import Turn
from bot.render import accounts, terms_text
from core.lifecycle import Note, NoteKind
from core.pricing import Quote, QuoteKind
from core.services.queries import SubscriptionView


def _note(view: SubscriptionView, kind: NoteKind) -> Note | None:
    return next((note for note in view.notes if note.kind is kind), None)


def review_warning(turn: Turn, quote: Quote, base: SubscriptionView | None) -> str | None:
    """How the reviewed order meets what is already scheduled (None: nothing is)."""
    if base is None:
        return None
    change, ending = _note(base, NoteKind.CHANGES_ON), _note(base, NoteKind.ENDS_ON)
    if change is not None:
        return _meets_change(turn, quote, change)
    if ending is not None:
        return _meets_ending(turn, quote, base, ending)
    return None


def _meets_change(turn: Turn, quote: Quote, change: Note) -> str | None:
    t, catalog = turn.t, turn.services.catalog
    assert change.terms is not None
    scheduled = terms_text(t, catalog, change.terms)
    when = t.when(change.at)
    if quote.kind is QuoteKind.ADD_ACCOUNTS:
        if change.terms.quantity < quote.terms.quantity:
            return t(
                "A change to {terms} is scheduled for the renewal on {date}: the renewal "
                "drops to {accounts}, so the accounts added now last only until then. "
                "Withdraw the change from {command} to keep them.",
                terms=scheduled,
                date=when,
                accounts=accounts(t, change.terms.quantity),
                command=turn.command("subscription"),
            )
        return t(
            "A change to {terms} is scheduled for the renewal on {date}; the accounts "
            "added now last until then.",
            terms=scheduled,
            date=when,
        )
    if quote.kind is QuoteKind.DOWNGRADE:
        return t(
            "This replaces the change to {terms} scheduled for {date}.",
            terms=scheduled,
            date=when,
        )
    return t(
        "Paying this withdraws the change to {terms} scheduled for {date}.",
        terms=scheduled,
        date=when,
    )


def _meets_ending(turn: Turn, quote: Quote, base: SubscriptionView, ending: Note) -> str:
    t, name, when = turn.t, base.package.name, turn.t.when(ending.at)
    if quote.kind is QuoteKind.ADD_ACCOUNTS:
        return t(
            "{name} is set to end on {date}: the accounts added now end with it.",
            name=name,
            date=when,
        )
    if quote.kind is QuoteKind.DOWNGRADE:
        return t(
            "{name} is set to end on {date}: resume it for this change to take effect.",
            name=name,
            date=when,
        )
    return t(
        "{name} is set to end on {date}; paying this takes the unsubscribe back and "
        "starts a new period.",
        name=name,
        date=when,
    )


def unsubscribe_warning(turn: Turn, view: SubscriptionView) -> str | None:
    """Unsubscribing with a downgrade scheduled: the end wins, and resuming brings it back."""
    change = _note(view, NoteKind.CHANGES_ON)
    if change is None or change.terms is None:
        return None
    t = turn.t
    return t(
        "A change to {terms} is scheduled for {date}: unsubscribing ends {name} then "
        "instead. If you resume, the change is scheduled again.",
        terms=terms_text(t, turn.services.catalog, change.terms),
        date=t.when(change.at),
        name=view.package.name,
    )

"""The staff verbs that change a customer's billing (DESIGN section 13): extend, resend,
grant, unsubscribe, resume, cancel, refund and credit, each preview → reason → confirm once →
run → result; approving and rejecting a waiting refund or credit are in `decisions`."""

from __future__ import annotations

from functools import partial

from bot.flows.staff.change_draft import ChangeSpec, Draft, Target, Value
from bot.flows.staff.change_steps import begin, entry, steps
from bot.flows.staff.decisions import DECISIONS
from bot.flows.staff.verbs import Verb
from bot.i18n import N_
from core.access import StaffVerb
from core.services.staff.requests import (
    Cancel,
    Credit,
    CreditPayment,
    Extend,
    Grant,
    Refund,
    Resend,
    Resume,
    StaffRequest,
    Unsubscribe,
    parse_accounts,
    parse_amount,
    parse_days,
    parse_mode,
)


def _workspace(draft: Draft) -> int:
    assert draft.workspace_id is not None
    return draft.workspace_id


def _subscription(draft: Draft) -> int:
    assert draft.subscription_id is not None
    return draft.subscription_id


def _value(draft: Draft) -> str:
    assert draft.value is not None
    return draft.value


def _extend(draft: Draft, currency: str) -> StaffRequest:
    return Extend(_workspace(draft), _subscription(draft), parse_days(_value(draft)))


def _resend(draft: Draft, currency: str) -> StaffRequest:
    assert draft.order is not None
    return Resend(_workspace(draft), draft.order)


def _grant(draft: Draft, currency: str) -> StaffRequest:
    return Grant(_workspace(draft), _subscription(draft), parse_accounts(_value(draft)))


def _unsubscribe(draft: Draft, currency: str) -> StaffRequest:
    return Unsubscribe(_workspace(draft), _subscription(draft))


def _resume(draft: Draft, currency: str) -> StaffRequest:
    return Resume(_workspace(draft), _subscription(draft))


def _cancel(draft: Draft, currency: str) -> StaffRequest:
    return Cancel(_workspace(draft), _subscription(draft), parse_mode(_value(draft)))


def _refund(draft: Draft, currency: str) -> StaffRequest:
    assert draft.payment_id is not None
    amount = None if draft.all_of_it else parse_amount(_value(draft), currency)
    return Refund(_workspace(draft), draft.payment_id, amount)


def _credit(draft: Draft, currency: str) -> StaffRequest:
    if draft.payment_id is not None:
        return CreditPayment(_workspace(draft), draft.payment_id)
    return Credit(_workspace(draft), parse_amount(_value(draft), currency))


SPECS = (
    ChangeSpec(StaffVerb.EXTEND, N_("Extend a trial"), Target.SUBSCRIPTION, Value.DAYS, _extend),
    ChangeSpec(StaffVerb.RESEND, N_("Resend a payment link"), Target.LINK, None, _resend),
    ChangeSpec(StaffVerb.GRANT, N_("Grant accounts"), Target.SUBSCRIPTION, Value.ACCOUNTS, _grant),
    ChangeSpec(StaffVerb.UNSUBSCRIBE, N_("Unsubscribe"), Target.SUBSCRIPTION, None, _unsubscribe),
    ChangeSpec(StaffVerb.RESUME, N_("Resume"), Target.SUBSCRIPTION, None, _resume),
    ChangeSpec(StaffVerb.CANCEL, N_("Cancel now"), Target.SUBSCRIPTION, Value.MODE, _cancel),
    ChangeSpec(StaffVerb.REFUND, N_("Refund"), Target.PAYMENT, Value.REFUND_AMOUNT, _refund),
    ChangeSpec(StaffVerb.CREDIT, N_("Add credit"), Target.WORKSPACE, Value.AMOUNT, _credit),
)


def change_verbs() -> list[Verb]:
    """Every changing verb, with the decisions on waiting ones."""
    made = [
        Verb(spec.verb, spec.label, partial(begin, spec), steps(spec), entry(spec))
        for spec in SPECS
    ]
    return [*made, *DECISIONS]

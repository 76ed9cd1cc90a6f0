"""The sandbox checkout page: the order as the chat reviewed it, where it stands, and Pay and
Fail while it is payable (again after a failed attempt, on the same order)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse

from adapters.pages.order import ShownOrder, heading, state_banner, summary, translator
from adapters.pages.shell import banner, document, e, language_asked, with_language
from adapters.sandbox import CheckoutView, Outcome
from bot.i18n import N_, Translator
from core.catalog import Catalog

RESULTS = {
    Outcome.APPLIED: (
        "good",
        N_("Payment received: the order is paid and applied."),
    ),
    Outcome.ALREADY_PAID: ("good", N_("This order was already paid: nothing changed.")),
    Outcome.CREDITED: (
        "bad",
        N_(
            "Payment received, but the order could not be applied as quoted: the amount went "
            "to the workspace's credit balance and support was told."
        ),
    ),
    Outcome.MISMATCH: (
        "bad",
        N_("Payment received, but it does not match the order: support was told."),
    ),
}
"""The outcomes a redirect after Pay shows; failures show from the order's own state."""

METHOD_NOTES = {
    "card": N_(
        "The sandbox charges no card: Pay stands for a card payment that goes through, "
        "Fail for one that is declined."
    ),
    "bank_transfer": N_(
        "Bank transfers are not in the sandbox: there are no bank details to pay to. Pay "
        "stands for the transfer arriving, Fail for one that does not."
    ),
}


def _method_note(t: Translator, view: CheckoutView) -> str:
    note = METHOD_NOTES.get(view.order.payment_method or "card")
    if not view.payable or note is None:
        return ""
    return f'<p class="method">{e(t(note))}</p>\n'


def _actions(t: Translator, request: Request, view: CheckoutView, url: str) -> str:
    if not view.payable:
        return ""
    asked = language_asked(request)
    due = t.minor(view.order.due_now, view.order.currency)
    pay, fail = with_language(f"{url}/pay", asked), with_language(f"{url}/fail", asked)
    pay_label, fail_label = t("Pay {amount}", amount=due), t("Fail the payment")
    return (
        '<div class="actions">\n'
        f'<form method="post" action="{e(pay)}"><button class="pay" type="submit">'
        f"{e(pay_label)}</button></form>\n"
        f'<form method="post" action="{e(fail)}"><button class="fail" type="submit">'
        f"{e(fail_label)}</button></form>\n"
        "</div>\n"
    )


def checkout_page(
    request: Request,
    catalog: Catalog,
    view: CheckoutView,
    url: str,
    *,
    result: Outcome | None = None,
    status: int = 200,
) -> HTMLResponse:
    """The page of `view`'s order at `url`, saying `result` when a Pay just produced one."""
    t = translator(request, view.order)
    shown = ShownOrder(view.order, view.shown_status, view.payable)
    if result in RESULTS:
        kind, headline = RESULTS[result]
        top = banner(kind, t(headline))
    else:
        top = state_banner(t, shown, retry_hint=t("Press Pay to try again with the same order."))
    title = t("Sandbox checkout")
    body = (
        f'<span class="tag">{e(title)}</span>\n'
        f"<h1>{e(heading(t, catalog, view.order))}</h1>\n"
        f"{top}\n{summary(t, catalog, shown)}"
        f"{_method_note(t, view)}{_actions(t, request, view, url)}"
    )
    return document(
        t,
        title,
        body,
        note=t("planbot sandbox payments: no real money moves."),
        status=status,
    )

"""The pages Stripe Checkout returns to: success (paid, or still being confirmed) and cancel
(nothing charged; back to the same payment while it is payable), in the order's language.

They only read the order: fulfilment comes from the webhook, never from these pages.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from adapters.pages.order import ShownOrder, heading, state_banner, summary, translator
from adapters.pages.shell import banner, document, e, message_page, page_language
from adapters.stripe.checkout import bank_transfer_type
from adapters.stripe.client import PROVIDER
from bot.i18n import Translator
from core.services.context import Context
from core.services.provider_orders import provider_order
from core.states import OrderStatus


def _method_note(t: Translator, shown: ShownOrder) -> str:
    """Bank transfers settle later: say where the bank details are, or why a card was asked."""
    order = shown.order
    if order.payment_method != "bank_transfer" or order.status != OrderStatus.PENDING:
        return ""
    if bank_transfer_type(order.currency) is None:
        text = t(
            "Bank transfers are not offered in {currency}, so the payment page asked for a card.",
            currency=order.currency,
        )
    else:
        text = t(
            "Bank transfer: pay the amount due to the bank details Stripe showed on its "
            "payment page (Stripe also emails them), quoting the reference given there. The "
            "order is applied when the transfer arrives; the chat will tell you."
        )
    return f'<p class="method">{e(text)}</p>\n'


def _back_to_payment(t: Translator, shown: ShownOrder) -> str:
    link = shown.order.payment_link
    if not shown.payable or not link:
        return ""
    label = t("Return to the payment")
    return f'<div class="actions"><a class="button pay" href="{e(link)}">{e(label)}</a></div>\n'


def _page(t: Translator, ctx: Context, shown: ShownOrder, top: str, title: str) -> Response:
    body = (
        f"<h1>{e(heading(t, ctx.catalog, shown.order))}</h1>\n{top}\n"
        f"{summary(t, ctx.catalog, shown)}{_method_note(t, shown)}{_back_to_payment(t, shown)}"
    )
    return document(t, title, body, note=t("Payments by Stripe."))


async def _shown(ctx: Context, request: Request) -> ShownOrder | None:
    reference = request.query_params.get("order", "")
    found = await provider_order(ctx, PROVIDER, reference) if reference else None
    return None if found is None else ShownOrder.at(found[0], ctx.clock.now())


def _unknown(request: Request) -> Response:
    t = Translator(page_language(request))
    return message_page(
        t,
        404,
        t("No such order"),
        t("This address names no order. Check the payment link the chat gave you."),
    )


def _retry_hint(t: Translator) -> str:
    return t("Return to the payment to try again with the same order.")


async def success_page(ctx: Context, request: Request) -> Response:
    shown = await _shown(ctx, request)
    if shown is None:
        return _unknown(request)
    t = translator(request, shown.order)
    top = state_banner(t, shown, retry_hint=_retry_hint(t))
    if not top:
        top = banner(
            "note",
            t("Thank you: your payment is being confirmed."),
            t("The chat will tell you as soon as it is applied; reload this page to see it here."),
        )
    return _page(t, ctx, shown, top, t("Thank you"))


async def cancel_page(ctx: Context, request: Request) -> Response:
    shown = await _shown(ctx, request)
    if shown is None:
        return _unknown(request)
    t = translator(request, shown.order)
    top = state_banner(t, shown, retry_hint=_retry_hint(t))
    if not top and shown.payable:
        top = banner(
            "note",
            t("Payment not completed: nothing was charged."),
            t(
                "The payment link stays valid until {date}; after that, ask the chat for a "
                "new one.",
                date=t.when(shown.order.expires_at),
            ),
        )
    return _page(t, ctx, shown, top, t("Payment not completed"))

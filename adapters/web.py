"""The ASGI web app: health probes and the sandbox checkout pages.

Platform webhooks (/slack/events, /telegram/webhook, /stripe/webhook) join through
`create_app(ctx, routes=...)`. Nothing a client sends may reach a 5xx: malformed requests
get a 4xx, and a database that does not answer gets a 503.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime
from html import escape
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from adapters.http_guard import FORM, Refused, guarded, read_body, require_media_type
from adapters.readiness import readyz_response
from adapters.sandbox import (
    CHECKOUT_PATH,
    HEADLINES,
    CheckoutView,
    Outcome,
    SandboxGateway,
    complete_sandbox_payment,
    load_checkout,
)
from core.clock import as_utc
from core.errors import DomainError, NotFound
from core.money import Money
from core.services.context import Context
from core.services.database import StorageError, ping
from core.states import OrderKind, OrderStatus

READY_TIMEOUT_SECONDS = 3.0
SANDBOX_FORM_BYTES = 1024
"""The Pay and Fail forms carry no fields: their body is empty."""
log = logging.getLogger("planbot.web")

# The checkout page is a capability URL with a Pay button: keep it out of caches, referrers
# and other sites' frames.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
}


def create_app(ctx: Context, *, routes: Sequence[BaseRoute] = ()) -> Starlette:
    """The web app over `ctx`; the sandbox pages are served when the sandbox is the gateway.

    `routes` adds more endpoints (platform webhooks) beside the built-in ones.
    """
    built: list[BaseRoute] = [
        Route("/healthz", _healthz, methods=["GET"]),
        Route("/readyz", _readyz, methods=["GET"]),
    ]
    if isinstance(ctx.gateway, SandboxGateway):
        built += [
            Route(CHECKOUT_PATH + "{reference}", _checkout_page, methods=["GET"]),
            Route(CHECKOUT_PATH + "{reference}/pay", _pay, methods=["POST"]),
            Route(CHECKOUT_PATH + "{reference}/fail", _fail, methods=["POST"]),
        ]
    app = Starlette(
        routes=[*built, *routes],
        exception_handlers={
            HTTPException: _http_error,
            DomainError: _domain_error,
            StorageError: _unavailable,
            OSError: _unavailable,
        },
    )
    app.state.ctx = ctx
    return app


def _ctx(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


# --- probes ---------------------------------------------------------------------------------


async def _healthz(request: Request) -> Response:
    return PlainTextResponse("ok")


async def _readyz(request: Request) -> Response:
    """200 only when the database answers SELECT 1 in time and every configured platform has
    started (the platforms' states are on the app when `planbot serve` or `run` builds it)."""
    try:
        async with asyncio.timeout(READY_TIMEOUT_SECONDS):
            await ping(_ctx(request).db)
    except Exception:
        database_ready = False
    else:
        database_ready = True
    return readyz_response(database_ready, getattr(request.app.state, "readiness", None))


# --- errors ---------------------------------------------------------------------------------


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return PlainTextResponse("not found", status_code=404)
    return PlainTextResponse(exc.detail, status_code=exc.status_code, headers=exc.headers)


async def _domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    status = 404 if isinstance(exc, NotFound) else 409
    return _message_page(status, "Request refused", exc.message)


async def _unavailable(request: Request, exc: Exception) -> Response:
    return _message_page(
        503, "Temporarily unavailable", "The database does not answer; try again shortly."
    )


# --- sandbox checkout -----------------------------------------------------------------------


async def _checkout_page(request: Request) -> Response:
    reference = request.path_params["reference"]
    view = await load_checkout(_ctx(request), reference)
    if view is None:
        return _not_found(reference)
    shown = _shown_result(request.query_params.get("result", ""), view)
    banner = None if shown is None else (_is_good(shown), HEADLINES[shown], None)
    return _page(200, _checkout_html(request, view, banner))


def _shown_result(value: str, view: CheckoutView) -> Outcome | None:
    """The result a redirect asks to show, if the order's state bears it out (else none)."""
    try:
        outcome = Outcome(value)
    except ValueError:
        return None
    settled = view.order.status != OrderStatus.PENDING.value
    consistent = {
        Outcome.APPLIED: view.order.status == OrderStatus.PAID.value,
        Outcome.ALREADY_PAID: settled,
        Outcome.CREDITED: settled,
        Outcome.MISMATCH: True,
        Outcome.FAILED: view.order.status == OrderStatus.FAILED.value
        or view.order.kind == OrderKind.RENEWAL.value,
        Outcome.ALREADY_FAILED: view.order.status == OrderStatus.FAILED.value,
    }
    return outcome if consistent.get(outcome, False) else None


@guarded(log)
async def _pay(request: Request) -> Response:
    return await _complete(request, fail=False)


@guarded(log)
async def _fail(request: Request) -> Response:
    return await _complete(request, fail=True)


async def _complete(request: Request, *, fail: bool) -> Response:
    ctx = _ctx(request)
    reference = request.path_params["reference"]
    body = await read_body(request, SANDBOX_FORM_BYTES)
    # The link is the capability, as a webhook's secret is: checked before the body is.
    if await load_checkout(ctx, reference) is None:
        return _not_found(reference)
    require_media_type(request, FORM)
    if body:
        raise Refused(400, "the form has no fields")
    result = await complete_sandbox_payment(ctx, reference, fail)
    if result.outcome is Outcome.UNKNOWN_ORDER:
        return _not_found(reference)
    if result.ok:
        # Post/redirect/get: reloading the result page does not post again.
        target = f"{_checkout_url(request, reference)}?result={quote(result.outcome.value)}"
        return RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store"})
    view = await load_checkout(ctx, reference)
    if view is None:
        return _not_found(reference)
    return _page(409, _checkout_html(request, view, (False, result.headline, result.message)))


def _is_good(outcome: Outcome) -> bool:
    return outcome in (Outcome.APPLIED, Outcome.ALREADY_PAID)


def _checkout_url(request: Request, reference: str) -> str:
    root = str(request.scope.get("root_path", "")).rstrip("/")
    return f"{root}{CHECKOUT_PATH}{quote(reference, safe='')}"


def _not_found(reference: str) -> Response:
    return _message_page(
        404,
        "No such order",
        f"There is no sandbox order {reference!r}. Check the payment link the chat gave you.",
    )


# --- rendering ------------------------------------------------------------------------------

STYLE = """
:root { color-scheme: light; --ink: #1d2433; --muted: #5b6478; --line: #e3e7ef;
  --accent: #2456d3; --good: #17803d; --bad: #b42318; --paper: #f5f7fb; }
* { box-sizing: border-box; }
body { margin: 0; padding: 2rem 1rem; background: var(--paper); color: var(--ink);
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
main { max-width: 46rem; margin: 0 auto; background: #fff; border: 1px solid var(--line);
  border-radius: 12px; padding: 1.75rem 2rem; box-shadow: 0 1px 3px rgba(16, 24, 40, .06); }
h1 { font-size: 1.4rem; margin: .25rem 0 1rem; }
.tag { display: inline-block; font-size: .75rem; font-weight: 600; letter-spacing: .04em;
  text-transform: uppercase; color: #7a4b00; background: #fff4d6; border-radius: 999px;
  padding: .15rem .6rem; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .3rem 1.25rem;
  margin: 0 0 1.5rem; }
dt { color: var(--muted); }
dd { margin: 0; }
code { font-size: .9em; }
table { width: 100%; border-collapse: collapse; margin-bottom: 1rem; }
th, td { padding: .55rem .5rem; border-bottom: 1px solid var(--line); text-align: left;
  vertical-align: top; }
thead th { font-size: .8rem; color: var(--muted); font-weight: 600; text-transform: uppercase;
  letter-spacing: .03em; }
.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
tfoot th { font-weight: 500; }
tr.discount th, tr.discount td { color: var(--good); }
tr.due th, tr.due td { font-size: 1.15rem; font-weight: 700; border-bottom: none; }
.formula { color: var(--muted); font-size: .9rem; margin: 0 0 1.5rem; }
.banner { border-radius: 8px; padding: .75rem 1rem; margin: 0 0 1.25rem; }
.banner.good { background: #e8f6ee; color: #0f5a2b; border: 1px solid #b7e3c8; }
.banner.bad { background: #fdecea; color: #7a1610; border: 1px solid #f5c2bd; }
.banner.info { background: #eef2fb; color: #1f3a7a; border: 1px solid #cdd8f3; }
.banner p { margin: .25rem 0 0; }
.actions { display: flex; gap: .75rem; flex-wrap: wrap; }
.actions form { margin: 0; }
button { font: inherit; font-weight: 600; border-radius: 8px; padding: .65rem 1.4rem;
  cursor: pointer; border: 1px solid transparent; }
button.pay { background: var(--accent); color: #fff; }
button.fail { background: #fff; color: var(--bad); border-color: #f0b4ae; }
footer { color: var(--muted); font-size: .8rem; margin-top: 1.5rem; }
"""

KIND_LABELS = {
    OrderKind.NEW.value: "New purchase",
    OrderKind.ADD_ACCOUNTS.value: "More accounts",
    OrderKind.CHANGE.value: "Change of plan",
    OrderKind.RENEWAL.value: "Renewal",
}

STATUS_LABELS = {
    OrderStatus.PENDING.value: "Waiting for payment",
    OrderStatus.PAID.value: "Paid",
    OrderStatus.EXPIRED.value: "Expired",
    OrderStatus.CANCELLED.value: "Cancelled",
    OrderStatus.FAILED.value: "Payment failed",
}


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _when(at: datetime) -> str:
    return as_utc(at).strftime("%Y-%m-%d %H:%M UTC")


def _months(n: int) -> str:
    return f"{n} month" if n == 1 else f"{n} months"


def _page(status: int, body: str, title: str = "Sandbox checkout") -> HTMLResponse:
    document = (
        "<!doctype html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="robots" content="noindex">\n'
        f"<title>{_e(title)} · planbot</title>\n<style>{STYLE}</style>\n</head>\n"
        f"<body>\n<main>\n{body}\n"
        "<footer>planbot sandbox payments: no real money moves.</footer>\n"
        "</main>\n</body>\n</html>\n"
    )
    return HTMLResponse(document, status_code=status, headers=PAGE_HEADERS)


def _message_page(status: int, heading: str, message: str) -> HTMLResponse:
    body = (
        '<span class="tag">Sandbox</span>\n'
        f"<h1>{_e(heading)}</h1>\n"
        f'<div class="banner bad">{_e(message)}</div>'
    )
    return _page(status, body, heading)


def _banner_html(banner: tuple[bool, str, str | None] | None, view: CheckoutView) -> str:
    if banner is not None:
        good, headline, detail = banner
        more = "" if detail is None else f"<p>{_e(detail)}</p>"
        return f'<div class="banner {"good" if good else "bad"}">{_e(headline)}{more}</div>'
    if view.order.status == OrderStatus.PAID.value:
        paid = "" if view.order.closed_at is None else f" on {_when(view.order.closed_at)}"
        return f'<div class="banner good">This order was paid{_e(paid)}.</div>'
    if view.refusal is not None:
        return f'<div class="banner info">This order cannot be paid: {_e(view.refusal)}.</div>'
    return ""


def _period(view: CheckoutView) -> str:
    if view.order.kind == OrderKind.ADD_ACCOUNTS.value:
        return f"the current period, until {_when(view.order.period_end)}"
    if view.order.kind == OrderKind.RENEWAL.value:
        return f"{_when(view.order.period_start)} to {_when(view.order.period_end)}"
    return f"{_months(view.order.cycle_months)}, starting when the payment is confirmed"


def _checkout_html(
    request: Request, view: CheckoutView, banner: tuple[bool, str, str | None] | None
) -> str:
    def money(minor: int) -> str:
        return _e(Money(minor, view.order.currency).format(view.locale))

    price, total = money(view.order.price_per_account), money(view.order.total)
    discounts = [
        ("Proration: only the time left in the current period", view.order.proration),
        ("Credit for the unused time of the current terms", view.order.credit),
        ("Credit balance applied", view.order.balance_applied),
    ]
    discount_rows = "".join(
        f'<tr class="discount"><th colspan="4">{_e(label)}</th>'
        f'<td class="num">−{money(amount)}</td></tr>\n'
        for label, amount in discounts
        if amount
    )
    status = view.shown_status
    facts = [
        ("Workspace", _e(view.order.workspace_name)),
        ("Order", f"<code>{_e(view.order.reference)}</code>"),
        ("What", _e(KIND_LABELS.get(view.order.kind, view.order.kind))),
        ("Status", _e(STATUS_LABELS.get(status, status))),
        ("Period", _e(_period(view))),
    ]
    if view.order.kind == OrderKind.ADD_ACCOUNTS.value:
        facts.append(("Accounts after", _e(view.order.new_quantity)))
    if view.order.status == OrderStatus.PENDING.value:
        facts.append(("Link valid until", _e(_when(view.order.expires_at))))
    if view.order.close_reason and view.order.status != OrderStatus.PAID.value:
        facts.append(("Reason", _e(view.order.close_reason)))
    fact_rows = "".join(f"<dt>{k}</dt><dd>{v}</dd>\n" for k, v in facts)
    actions = ""
    if view.payable:
        url = _e(_checkout_url(request, view.order.reference))
        actions = (
            '<div class="actions">\n'
            f'<form method="post" action="{url}/pay">'
            f'<button class="pay" type="submit">Pay {money(view.order.due_now)}</button></form>\n'
            f'<form method="post" action="{url}/fail">'
            '<button class="fail" type="submit">Fail the payment</button></form>\n'
            "</div>"
        )
    return (
        '<span class="tag">Sandbox checkout</span>\n'
        f"<h1>{_e(view.package_name)} for {_e(view.order.workspace_name)}</h1>\n"
        f"{_banner_html(banner, view)}\n"
        f"<dl>\n{fact_rows}</dl>\n"
        "<table>\n<thead><tr><th>Package</th><th>Billing cycle</th>"
        '<th class="num">Price per account</th><th class="num">Quantity</th>'
        '<th class="num">Total</th></tr></thead>\n'
        f"<tbody><tr><td>{_e(view.package_name)}</td><td>{_e(_months(view.order.cycle_months))}</td>"
        f'<td class="num">{price}</td><td class="num">{_e(view.order.quantity)}</td>'
        f'<td class="num">{total}</td></tr></tbody>\n'
        f"<tfoot>\n{discount_rows}"
        f'<tr class="due"><th colspan="4">Due now</th>'
        f'<td class="num">{money(view.order.due_now)}</td>'
        "</tr>\n</tfoot>\n</table>\n"
        f'<p class="formula">Total = Price × Quantity = {price} × {_e(view.order.quantity)} '
        f"= {total}</p>\n"
        f"{actions}"
    )

"""The ASGI web app: health probes, the landing page and the sandbox checkout pages.

Platform webhooks (/slack/events, /telegram/webhook, /stripe/webhook) join through
`create_app(ctx, routes=...)`. Nothing a client sends may reach a 5xx: malformed requests
get a 4xx, and a database that does not answer gets a 503.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from adapters.http_guard import FORM, Refused, guarded, read_body, require_media_type
from adapters.pages.checkout import RESULTS, checkout_page
from adapters.pages.landing import landing_page
from adapters.pages.shell import language_asked, message_page, page_language, with_language
from adapters.readiness import readyz_response
from adapters.sandbox import (
    CHECKOUT_PATH,
    CheckoutView,
    Outcome,
    SandboxGateway,
    complete_sandbox_payment,
    load_checkout,
)
from bot.i18n import Translator
from core.errors import DomainError, NotFound
from core.services.context import Context
from core.services.database import StorageError, ping
from core.states import OrderStatus

READY_TIMEOUT_SECONDS = 3.0
SANDBOX_FORM_BYTES = 1024
"""The Pay and Fail forms carry no fields: their body is empty."""
log = logging.getLogger("planbot.web")


def create_app(ctx: Context, *, routes: Sequence[BaseRoute] = ()) -> Starlette:
    """The web app over `ctx`; the sandbox pages are served when the sandbox is the gateway.

    `routes` adds more endpoints (platform webhooks) beside the built-in ones.
    """
    built: list[BaseRoute] = [
        Route("/", _landing, methods=["GET"]),
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


async def _landing(request: Request) -> Response:
    return landing_page(request)


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


def _browser_translator(request: Request) -> Translator:
    return Translator(page_language(request))


async def _domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    t = _browser_translator(request)
    status = 404 if isinstance(exc, NotFound) else 409
    return message_page(t, status, t("Request refused"), t(exc.template, **exc.params))


async def _unavailable(request: Request, exc: Exception) -> Response:
    t = _browser_translator(request)
    return message_page(
        t,
        503,
        t("Temporarily unavailable"),
        t("The database does not answer; try again shortly."),
    )


# --- sandbox checkout -----------------------------------------------------------------------


async def _checkout_page(request: Request) -> Response:
    reference = request.path_params["reference"]
    view = await load_checkout(_ctx(request), reference)
    if view is None:
        return _not_found(request, reference)
    result = _shown_result(request.query_params.get("result", ""), view)
    url = _checkout_url(request, reference)
    return checkout_page(request, _ctx(request).catalog, view, url, result=result)


def _shown_result(value: str, view: CheckoutView) -> Outcome | None:
    """The result a redirect asks to show, if the order's state bears it out (else none);
    failures show from the order's own state."""
    try:
        outcome = Outcome(value)
    except ValueError:
        return None
    if outcome not in RESULTS:
        return None
    settled = view.order.status != OrderStatus.PENDING
    consistent = {
        Outcome.APPLIED: view.order.status == OrderStatus.PAID,
        Outcome.ALREADY_PAID: settled,
        Outcome.CREDITED: settled,
        Outcome.MISMATCH: True,
    }
    return outcome if consistent[outcome] else None


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
        return _not_found(request, reference)
    require_media_type(request, FORM)
    if body:
        raise Refused(400, "the form has no fields")
    result = await complete_sandbox_payment(ctx, reference, fail)
    if result.outcome is Outcome.UNKNOWN_ORDER:
        return _not_found(request, reference)
    url = _checkout_url(request, reference)
    if result.ok:
        # Post/redirect/get: reloading the result page does not post again.
        target = with_language(url, language_asked(request), result=result.outcome.value)
        return RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store"})
    view = await load_checkout(ctx, reference)
    if view is None:
        return _not_found(request, reference)
    return checkout_page(request, ctx.catalog, view, url, status=409)


def _checkout_url(request: Request, reference: str) -> str:
    root = str(request.scope.get("root_path", "")).rstrip("/")
    return f"{root}{CHECKOUT_PATH}{quote(reference, safe='')}"


def _not_found(request: Request, reference: str) -> Response:
    t = _browser_translator(request)
    return message_page(
        t,
        404,
        t("No such order"),
        t(
            "There is no sandbox order {reference}. Check the payment link the chat gave you.",
            reference=repr(reference),
        ),
        tag=t("Sandbox checkout"),
    )

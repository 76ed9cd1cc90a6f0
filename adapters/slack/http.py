"""POST /slack/events: the signature is checked before Bolt sees the body (a bad or stale
one gets 401 and nothing runs), and nothing a client sends reaches a 5xx."""

from __future__ import annotations

import logging

from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_sdk.signature import SignatureVerifier
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from adapters.slack.bot import SlackBot

EVENTS_PATH = "/slack/events"
MAX_BODY_BYTES = 1_000_000
log = logging.getLogger("planbot.slack")


def slack_routes(bot: SlackBot, signing_secret: str) -> list[BaseRoute]:
    """The routes to add through `create_app(ctx, routes=[...])`."""
    handler = AsyncSlackRequestHandler(bot.app)
    verifier = SignatureVerifier(signing_secret)

    async def events(request: Request) -> Response:
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return PlainTextResponse("too large", status_code=413)
        if not verifier.is_valid_request(body, dict(request.headers)):
            return PlainTextResponse("invalid signature", status_code=401)
        try:
            body.decode("utf-8")
            response = await handler.handle(request)
        except Exception:
            log.exception("a Slack request could not be handled")
            return PlainTextResponse("malformed request", status_code=400)
        if response.status_code >= 500:
            return PlainTextResponse("malformed request", status_code=400)
        return response

    return [Route(EVENTS_PATH, events, methods=["POST"]), *oauth_routes(bot, handler)]


def oauth_routes(bot: SlackBot, handler: AsyncSlackRequestHandler | None = None) -> list[BaseRoute]:
    """The install page and the OAuth redirect, handled by Bolt's flow (none without OAuth);
    served in HTTP and in Socket Mode alike, since the installer's browser opens them."""
    flow = bot.app.oauth_flow
    if flow is None:
        return []
    handler = handler or AsyncSlackRequestHandler(bot.app)

    async def oauth(request: Request) -> Response:
        try:
            response = await handler.handle(request)
        except Exception:
            log.exception("a Slack install request could not be handled")
            return PlainTextResponse("malformed request", status_code=400)
        if response.status_code >= 500:
            return PlainTextResponse("installation failed", status_code=400)
        return response

    return [
        Route(flow.install_path, oauth, methods=["GET"]),
        Route(flow.redirect_uri_path, oauth, methods=["GET"]),
    ]

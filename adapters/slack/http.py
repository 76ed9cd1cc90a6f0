"""POST /slack/events: a bounded body, then the signature before Bolt sees it (a bad or stale
one gets 401 and nothing runs), then the shape Slack sends; junk gets a 4xx and one log line,
and nothing a client sends reaches a 5xx."""

from __future__ import annotations

import hashlib
import hmac
import logging
import time

from slack_bolt.adapter.starlette.async_handler import (
    AsyncSlackRequestHandler,
    to_async_bolt_request,
    to_starlette_response,
)
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from adapters.http_guard import (
    FORM,
    JSON,
    Refused,
    form_fields,
    guarded,
    json_object,
    read_body,
    require_media_type,
    text,
)
from adapters.slack.bot import SlackBot

EVENTS_PATH = "/slack/events"
TOLERANCE_SECONDS = 300
MAX_BODY_BYTES = 1_000_000
"""Interaction payloads carry the whole message or modal view, URL-encoded: room for the
largest view Slack allows."""
log = logging.getLogger("planbot.slack")


def slack_routes(bot: SlackBot, signing_secret: str) -> list[BaseRoute]:
    """The routes to add through `create_app(ctx, routes=[...])`."""
    secret = signing_secret.encode()

    @guarded(log)
    async def events(request: Request) -> Response:
        body = await read_body(request, MAX_BODY_BYTES)
        if not signed(body, request, secret):
            raise Refused(401, "invalid signature")
        check_shape(text(body), require_media_type(request, JSON, FORM))
        try:
            response = to_starlette_response(
                await bot.app.async_dispatch(to_async_bolt_request(request, body))
            )
        except Exception:
            log.exception("a Slack request could not be handled")
            return PlainTextResponse("malformed request", status_code=400)
        if response.status_code >= 500:
            raise Refused(400, "malformed request")
        return response

    return [Route(EVENTS_PATH, events, methods=["POST"]), *oauth_routes(bot)]


def signed(body: bytes, request: Request, secret: bytes) -> bool:
    """Slack's v0 signature over the raw bytes, from a recent timestamp (constant time).

    slack-sdk's verifier decodes the body and the timestamp first and raises on junk in
    either; this one only compares, so junk is refused before anything parses it."""
    timestamp = request.headers.get("x-slack-request-timestamp", "")
    given = request.headers.get("x-slack-signature", "").encode("latin-1", "replace")
    if not (timestamp.isascii() and timestamp.isdigit()):
        return False
    if abs(time.time() - int(timestamp)) > TOLERANCE_SECONDS:
        return False
    base = b"v0:" + timestamp.encode() + b":" + body
    expected = b"v0=" + hmac.new(secret, base, hashlib.sha256).hexdigest().encode()
    return hmac.compare_digest(expected, given)


def check_shape(source: str, media_type: str | None) -> None:
    """What Slack sends: an Events API object, an interaction's `payload=` form, a slash
    command's form or an SSL check; anything else is refused before Bolt parses it."""
    if media_type == JSON or (media_type is None and source.startswith("{")):
        _typed(json_object(source))
        return
    fields = form_fields(source)
    if "payload" in fields:
        _typed(json_object(fields["payload"]))
    elif fields.get("command", "").startswith("/") or fields.get("ssl_check"):
        return
    else:
        raise Refused(400, "not a Slack request")


# The parts Bolt reads as objects (or, for the ids, as strings) wherever they appear.
_OBJECTS = ("event", "view", "message", "previous_message", "container", "item", "state")
_IDS = ("team", "user", "channel", "enterprise")
_LISTS = ("authorizations", "actions")


def _typed(payload: dict[str, object]) -> None:
    """A typed payload whose parts have the types Bolt reads them as."""
    sound = (
        isinstance(payload.get("type"), str)
        and all(isinstance(payload.get(key), dict | None) for key in _OBJECTS)
        and all(isinstance(payload.get(key), str | dict | None) for key in _IDS)
        and all(_objects(payload.get(key)) for key in _LISTS)
    )
    event = payload.get("event")
    if not sound or (payload["type"] == "event_callback" and not isinstance(event, dict)):
        raise Refused(400, "not a Slack request")
    if isinstance(event, dict):
        _typed(event)


def _objects(value: object) -> bool:
    return value is None or (isinstance(value, list) and all(isinstance(v, dict) for v in value))


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

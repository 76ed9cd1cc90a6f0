"""POST /telegram/webhook: the secret header first (constant time), then a bounded body, then
the JSON, then PTB. Junk gets a 4xx and one log line (adapters.http_guard)."""

from __future__ import annotations

import hmac
import logging

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from telegram import Update

from adapters.http_guard import JSON, Refused, guarded, json_object, read_body, require_media_type
from adapters.telegram.bot import TelegramBot

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY_BYTES = 256 * 1024
"""An update is a few kB: a 4,096-character message with its entities and the message it
replies to stays far below this."""
log = logging.getLogger("planbot.telegram")


def webhook_route(bot: TelegramBot, secret: str) -> Route:
    """The route to add through `create_app(ctx, routes=[...])`."""
    expected = secret.encode()

    @guarded(log)
    async def endpoint(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "").encode("latin-1", "replace")
        if not hmac.compare_digest(given, expected):
            raise Refused(403, "forbidden")
        body = await read_body(request, MAX_BODY_BYTES)
        require_media_type(request, JSON)
        data = json_object(body)
        update_id = data.get("update_id")
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            raise Refused(400, "not an update")
        await bot.initialize()
        try:
            update = Update.de_json(data, bot.application.bot)
        except (ValueError, TypeError, KeyError, AttributeError):
            raise Refused(400, "malformed update") from None
        # Processed before the answer: Telegram redelivers only what was not acknowledged.
        await bot.application.process_update(update)
        return PlainTextResponse("ok")

    return Route(WEBHOOK_PATH, endpoint, methods=["POST"])

"""POST /telegram/webhook: the secret header first (constant time), then the JSON, then PTB."""

from __future__ import annotations

import hmac
import json
import logging

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from telegram import Update

from adapters.telegram.bot import TelegramBot

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY_BYTES = 1_000_000
log = logging.getLogger("planbot.telegram")


def webhook_route(bot: TelegramBot, secret: str) -> Route:
    """The route to add through `create_app(ctx, routes=[...])`."""
    expected = secret.encode()

    async def endpoint(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "").encode("latin-1", "replace")
        if not hmac.compare_digest(given, expected):
            return PlainTextResponse("forbidden", status_code=403)
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return PlainTextResponse("too large", status_code=413)
        try:
            data = json.loads(body)
            if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
                raise ValueError("not an update")
            await bot.initialize()
            update = Update.de_json(data, bot.application.bot)
        except (ValueError, TypeError, KeyError, AttributeError):
            return PlainTextResponse("malformed update", status_code=400)
        # Processed before the answer: Telegram redelivers only what was not acknowledged.
        await bot.application.process_update(update)
        return PlainTextResponse("ok")

    return Route(WEBHOOK_PATH, endpoint, methods=["POST"])

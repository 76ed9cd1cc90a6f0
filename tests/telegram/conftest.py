"""planbot on Telegram against the fake Bot API, in polling or webhook mode, on the test db."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from telegram import Update

from adapters.sandbox import SandboxGateway
from adapters.telegram.bot import TelegramBot
from adapters.telegram.modes import build_application, start_polling, stop_polling
from adapters.telegram.webhook import SECRET_HEADER, WEBHOOK_PATH, webhook_route
from adapters.web import create_app
from core.catalog import Catalog
from core.clock import FixedClock
from core.db import Database
from core.services.context import Context
from core.services.outbox import OutboxNotifier
from tests.telegram.fake_api import TOKEN, FakeBotApi, running

PUBLIC_URL = "http://planbot.test"
SECRET = "s3cret-Token_value"
GROUP = -100777


class ProbedBot(TelegramBot):
    """The real bot, telling the test when each update has been handled."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.handled: defaultdict[int, asyncio.Event] = defaultdict(asyncio.Event)

    async def handle(self, update: Update) -> None:
        try:
            await super().handle(update)
        finally:
            self.handled[update.update_id].set()


@dataclass
class Telegram:
    """Users typing and tapping in Telegram; `mode` is "polling" or "webhook"."""

    api: FakeBotApi
    ctx: Context
    mode: str
    bot: ProbedBot | None = None
    http: httpx.AsyncClient | None = None
    users: dict[int, str] = field(default_factory=dict)

    async def start(self) -> None:
        application = build_application(TOKEN, self.api.url, polling=self.mode == "polling")
        self.bot = ProbedBot(self.ctx, application)
        if self.mode == "polling":
            await start_polling(self.bot, poll_seconds=1)
        else:
            app = create_app(self.ctx, routes=[webhook_route(self.bot, SECRET)])
            transport = httpx.ASGITransport(app=app)
            self.http = httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL)

    async def stop(self) -> None:
        assert self.bot is not None
        if self.mode == "polling":
            await stop_polling(self.bot)
        else:
            assert self.http is not None
            await self.http.aclose()
            await self.bot.application.shutdown()

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    async def post(self, update: dict[str, Any], secret: str | None = SECRET) -> httpx.Response:
        assert self.http is not None
        headers = {} if secret is None else {SECRET_HEADER: secret}
        return await self.http.post(WEBHOOK_PATH, json=update, headers=headers)

    async def deliver(self, update: dict[str, Any]) -> None:
        """Hand one update to the bot and wait until it has been handled."""
        assert self.bot is not None
        update_id = await self.api.push(update)
        if self.mode == "webhook":
            response = await self.post(self.api.updates[-1])
            assert response.status_code == 200, response.text
        await asyncio.wait_for(self.bot.handled[update_id].wait(), 10)

    def _user(self, user_id: int, language: str) -> dict[str, Any]:
        return {
            "id": user_id,
            "is_bot": False,
            "first_name": self.users.get(user_id, f"User{user_id}"),
            "language_code": language,
        }

    def _chat(self, chat_id: int) -> dict[str, Any]:
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": f"User{chat_id}"}
        return {"id": chat_id, "type": "supergroup", "title": "Acme team"}

    def message(
        self,
        user_id: int,
        text: str,
        *,
        chat: int | None = None,
        language: str = "en",
        reply_to: int | None = None,
    ) -> dict[str, Any]:
        chat_id = chat if chat is not None else user_id
        message: dict[str, Any] = {
            "message_id": len(self.api.updates) + 1,
            "from": self._user(user_id, language),
            "chat": self._chat(chat_id),
            "date": 1768471200,
            "text": text,
        }
        if text.startswith("/"):
            length = len(text.split(" ")[0])
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        if reply_to is not None:
            message["reply_to_message"] = self.api.messages[(chat_id, reply_to)]
        return {"message": message}

    def callback(
        self, user_id: int, data: str, message_id: int, *, chat: int | None = None
    ) -> dict[str, Any]:
        chat_id = chat if chat is not None else user_id
        return {
            "callback_query": {
                "id": f"cb{len(self.api.updates) + 1}",
                "from": self._user(user_id, "en"),
                "chat_instance": "ci",
                "message": self.api.messages[(chat_id, message_id)],
                "data": data,
            }
        }

    async def say(self, user_id: int, text: str, *, chat: int | None = None, **kw: Any) -> str:
        """Send a message; returns what the chat was shown in answer (sent or edited)."""
        return await self._exchange(self.message(user_id, text, chat=chat, **kw), chat or user_id)

    async def tap(self, user_id: int, label: str, *, chat: int | None = None) -> str:
        """Tap the button with `label` on the newest menu of the chat."""
        chat_id = chat if chat is not None else user_id
        message_id, buttons = self.api.menu(chat_id)
        assert label in buttons, f"{label!r} not in {list(buttons)}"
        return await self._exchange(
            self.callback(user_id, buttons[label], message_id, chat=chat), chat_id
        )

    async def deliver_tap(self, user_id: int, data: str, message_id: int) -> str:
        """Tap a button of a given (perhaps old) message."""
        return await self._exchange(self.callback(user_id, data, message_id), user_id)

    async def _exchange(self, update: dict[str, Any], chat_id: int) -> str:
        before = len(self.api.texts(chat_id))
        await self.deliver(update)
        return "\n".join(self.api.texts(chat_id)[before:])


@pytest.fixture
def services(db: Database, catalog: Catalog, clock: FixedClock) -> Context:
    return Context(
        db=db,
        catalog=catalog,
        clock=clock,
        gateway=SandboxGateway(PUBLIC_URL),
        notifier=OutboxNotifier(db, clock),
    )


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    fake = FakeBotApi()
    async with running(fake):
        yield fake


@pytest.fixture(params=["polling", "webhook"])
async def tg(
    request: pytest.FixtureRequest, api: FakeBotApi, services: Context
) -> AsyncIterator[Telegram]:
    telegram = Telegram(api, services, request.param)
    await telegram.start()
    yield telegram
    await telegram.stop()


@pytest.fixture
async def hook(api: FakeBotApi, services: Context) -> AsyncIterator[Telegram]:
    telegram = Telegram(api, services, "webhook")
    await telegram.start()
    yield telegram
    await telegram.stop()

"""planbot on Slack in HTTP mode: signed requests to the ASGI app, the fake Web API beside it."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from slack_sdk.web.async_client import AsyncWebClient

from adapters.sandbox import SandboxGateway
from adapters.slack.bot import SlackBot, build_app
from adapters.slack.http import EVENTS_PATH, slack_routes
from adapters.slack.oauth import INSTALL_PATH, REDIRECT_PATH, slack_metadata
from adapters.slack.payloads import Where
from adapters.web import create_app
from core.catalog import Catalog
from core.clock import FixedClock
from core.db import Database
from core.services.context import Context
from core.services.outbox import OutboxNotifier
from tests.slack.fake_api import TEAM, TOKEN, FakeSlackApi, running

PUBLIC_URL = "http://planbot.test"
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
CHANNEL = "C0BILLING"


class ProbedBot(SlackBot):
    """The real bot, counting the updates it has finished (after their acks)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.done = 0
        self.finished = asyncio.Event()

    async def step(
        self, body: dict[str, Any], client: AsyncWebClient, where: Where, **kw: Any
    ) -> None:
        try:
            await super().step(body, client, where, **kw)
        finally:
            self.done += 1
            self.finished.set()


def sign(body: str, secret: str = SECRET, at: int | None = None) -> dict[str, str]:
    timestamp = str(int(time.time()) if at is None else at)
    base = f"v0:{timestamp}:{body}".encode()
    signature = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": signature}


def buttons(message: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every button and select option of a message or view, by label."""
    found: dict[str, dict[str, Any]] = {}
    for block in message.get("blocks") or []:
        elements = list(block.get("elements") or [])
        if block.get("accessory"):
            elements.append(block["accessory"])
        for element in elements:
            if element.get("type") == "button":
                found[element["text"]["text"]] = element
            elif element.get("type") == "static_select":
                for option in element["options"]:
                    found[option["text"]["text"]] = {
                        **element,
                        "selected_option": option,
                    }
    return found


def text_of(message: dict[str, Any]) -> str:
    """The visible text of a message or view: sections, fields, headers and context."""
    parts: list[str] = []
    for block in message.get("blocks") or []:
        if isinstance(block.get("text"), dict):
            parts.append(block["text"]["text"])
        for item in block.get("fields") or []:
            parts.append(item["text"])
        if block.get("type") == "context":
            parts += [e.get("text", "") for e in block["elements"]]
    return "\n".join(parts)


@dataclass
class Slack:
    api: FakeSlackApi
    ctx: Context
    http: httpx.AsyncClient | None = None
    bot: ProbedBot | None = None
    triggers: int = 0
    views: dict[str, dict[str, Any]] = field(default_factory=dict)

    async def start(self) -> None:
        app = build_app(signing_secret=SECRET, token=TOKEN, api_url=self.api.api_url)
        self.bot = ProbedBot(self.ctx, app)
        await self.bot.open()
        web = create_app(self.ctx, routes=slack_routes(self.bot, SECRET))
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=web), base_url=PUBLIC_URL)

    async def stop(self) -> None:
        assert self.http is not None and self.bot is not None
        await self.http.aclose()
        await self.bot.close()

    async def post(
        self, body: str, content_type: str, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        assert self.http is not None
        signed = sign(body) if headers is None else headers
        return await self.http.post(
            EVENTS_PATH, content=body, headers={"Content-Type": content_type, **signed}
        )

    async def post_form(self, form: dict[str, str], **kw: Any) -> httpx.Response:
        return await self.post(urlencode(form), "application/x-www-form-urlencoded", **kw)

    async def post_payload(self, payload: dict[str, Any]) -> httpx.Response:
        return await self.post_form({"payload": json.dumps(payload)})

    async def post_event(self, payload: dict[str, Any]) -> httpx.Response:
        return await self.post(json.dumps(payload), "application/json")

    async def settle(self, before: int, limit: float = 10) -> None:
        """Wait until the bot has finished the update(s) started after `before`."""
        assert self.bot is not None
        async with asyncio.timeout(limit):
            while self.bot.done <= before:
                self.bot.finished.clear()
                await self.bot.finished.wait()

    def command_form(self, user: str, text: str, channel: str = CHANNEL) -> dict[str, str]:
        self.triggers += 1
        return {
            "token": "legacy",
            "team_id": TEAM,
            "team_domain": "acme",
            "channel_id": channel,
            "channel_name": "billing",
            "user_id": user,
            "user_name": user.lower(),
            "command": "/plans",
            "text": text,
            "api_app_id": "APLANBOT",
            "response_url": self.api.hook_url(channel, user),
            "trigger_id": f"trigger.{self.triggers}",
        }

    async def command(self, user: str, text: str = "", channel: str = CHANNEL) -> str:
        """Run /plans <text>; returns what the user was shown in answer."""
        assert self.bot is not None
        seen, before = len(self.api.messages(channel, user)), self.bot.done
        response = await self.post_form(self.command_form(user, text, channel))
        assert response.status_code == 200, response.text
        await self.settle(before)
        return "\n".join(text_of(m) for m in self.api.messages(channel, user)[seen:])

    def latest(self, user: str, channel: str = CHANNEL) -> dict[str, Any]:
        if channel == "home":
            return self.api.home(user)
        shown = [m for m in self.api.messages(channel, user) if buttons(m)]
        assert shown, "no menu shown"
        return shown[-1]

    def action_payload(
        self,
        user: str,
        element: dict[str, Any],
        channel: str = CHANNEL,
        *,
        team: str = TEAM,
        ephemeral: bool = True,
    ) -> dict[str, Any]:
        """A tap from `team`, on Home or on a message (ephemeral, or posted in the channel)."""
        self.triggers += 1
        action = {
            "type": element["type"],
            "action_id": element["action_id"],
            "block_id": "b",
            "action_ts": "1768471200.1",
        }
        if element["type"] == "static_select":
            action["selected_option"] = element["selected_option"]
        else:
            action["value"] = element.get("value")
            action["text"] = element["text"]
        payload: dict[str, Any] = {
            "type": "block_actions",
            "team": {"id": team, "domain": team.lower()},
            "user": {"id": user, "team_id": team},
            "api_app_id": "APLANBOT",
            "trigger_id": f"trigger.{self.triggers}",
            "actions": [action],
        }
        if channel == "home":
            payload["container"] = {"type": "view", "view_id": "VHOME"}
            payload["view"] = {"id": "VHOME", "type": "home"}
        else:
            payload["container"] = {
                "type": "message",
                "message_ts": "1768471200.000001",
                "channel_id": channel,
                "is_ephemeral": ephemeral,
            }
            payload["channel"] = {"id": channel}
            payload["response_url"] = self.api.hook_url(channel, user)
        return payload

    async def tap(self, user: str, label: str, channel: str = CHANNEL) -> str:
        """Press the button (or pick the option) labelled `label` on the newest menu."""
        assert self.bot is not None
        found = buttons(self.latest(user, channel))
        assert label in found, f"{label!r} not in {list(found)}"
        return await self.press(user, found[label], channel)

    async def press(
        self, user: str, element: dict[str, Any], channel: str = CHANNEL, **where: Any
    ) -> str:
        """Press a button; `where` says which team and which kind of message (action_payload)."""
        assert self.bot is not None
        if channel == "home":
            seen = len(self.api.made("views.publish"))
        else:
            seen = len(self.api.messages(channel, user))
        before = self.bot.done
        response = await self.post_payload(self.action_payload(user, element, channel, **where))
        assert response.status_code == 200, response.text
        await self.settle(before)
        if channel == "home":
            return "\n".join(text_of(v["view"]) for v in self.api.made("views.publish")[seen:])
        return "\n".join(text_of(m) for m in self.api.messages(channel, user)[seen:])

    async def open_number(self, user: str, channel: str = CHANNEL) -> dict[str, Any]:
        """Press the number button of the newest menu; returns the modal opened."""
        found = buttons(self.latest(user, channel))
        number = next(e for e in found.values() if e["action_id"] == "planbot_number")
        opened = len(self.api.made("views.open"))
        response = await self.post_payload(self.action_payload(user, number, channel))
        assert response.status_code == 200
        async with asyncio.timeout(10):
            while len(self.api.made("views.open")) == opened:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        return dict(self.api.made("views.open")[-1]["view"])

    def submission(self, user: str, view: dict[str, Any], value: str) -> dict[str, Any]:
        return {
            "type": "view_submission",
            "team": {"id": TEAM, "domain": "acme"},
            "user": {"id": user, "team_id": TEAM},
            "api_app_id": "APLANBOT",
            "trigger_id": "trigger.view",
            "view": {
                "id": "VMODAL",
                "type": "modal",
                "callback_id": view["callback_id"],
                "private_metadata": view["private_metadata"],
                "state": {
                    "values": {
                        "quantity": {"quantity_value": {"type": "number_input", "value": value}}
                    }
                },
            },
        }

    async def submit(
        self, user: str, view: dict[str, Any], value: str
    ) -> tuple[httpx.Response, str]:
        """Submit the modal; a good number also waits for the step and returns what was shown."""
        assert self.bot is not None
        seen, before = len(self.api.messages(CHANNEL, user)), self.bot.done
        response = await self.post_payload(self.submission(user, view, value))
        if response.content:
            return response, ""
        await self.settle(before)
        return response, "\n".join(text_of(m) for m in self.api.messages(CHANNEL, user)[seen:])


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
async def api() -> AsyncIterator[FakeSlackApi]:
    fake = FakeSlackApi()
    async with running(fake):
        yield fake
    assert not fake.rejected, f"Slack would have refused: {fake.rejected}"


@pytest.fixture
async def slack(api: FakeSlackApi, services: Context) -> AsyncIterator[Slack]:
    harness = Slack(api, services)
    await harness.start()
    yield harness
    await harness.stop()


@pytest.fixture
async def slack_tables(services: Context) -> None:
    """Empty Slack tables, as on a migrated database (PostgreSQL's outlive each test)."""
    metadata = slack_metadata()
    async with services.db.engine.begin() as connection:
        await connection.run_sync(metadata.drop_all)
        await connection.run_sync(metadata.create_all)


async def install(slack: Slack, code: str = "c0de") -> httpx.Response:
    assert slack.http is not None
    page = await slack.http.get(INSTALL_PATH)
    assert page.status_code in (200, 302)
    found = re.search(r'href="(https://slack.com/oauth/v2/authorize[^"]+)"', page.text)
    link = page.headers.get("location") or (found.group(1) if found else "")
    query = parse_qs(urlsplit(link.replace("&amp;", "&")).query)
    assert query["client_id"] == ["111.222"]
    assert "commands" in query["scope"][0]
    return await slack.http.get(REDIRECT_PATH, params={"code": code, "state": query["state"][0]})

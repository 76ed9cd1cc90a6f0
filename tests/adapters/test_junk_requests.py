"""Junk to every route that takes a body, correctly signed: a 4xx, nothing stored, one log line.

The routes: the Telegram webhook (with the right secret), Slack's events (signed over the
junk), Stripe's webhook (signed over the junk) and the sandbox checkout's Pay and Fail forms
of a pending order, each in the web app beside the sandbox pages.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from urllib.parse import quote_from_bytes, urlencode

import httpx
import pytest
from sqlalchemy import select
from starlette.routing import BaseRoute

from adapters.http_guard import MAX_DEPTH
from adapters.slack.bot import SlackBot, build_app
from adapters.slack.http import EVENTS_PATH, slack_routes
from adapters.stripe.webhook import WEBHOOK_PATH as STRIPE_PATH
from adapters.stripe.webhook import stripe_routes
from adapters.telegram.bot import TelegramBot
from adapters.telegram.modes import build_application
from adapters.telegram.webhook import SECRET_HEADER, webhook_route
from adapters.telegram.webhook import WEBHOOK_PATH as TELEGRAM_PATH
from adapters.web import create_app
from core.access import Actor
from core.model import Base
from core.pricing import Terms
from core.services.context import Context
from core.services.orders import place_order
from core.services.workspaces import create_workspace
from tests.adapters.conftest import PUBLIC_URL
from tests.integration.helpers import CHAT
from tests.slack import fake_api as fake_slack
from tests.stripe.fake_stripe import WEBHOOK_SECRET, sign
from tests.telegram import fake_api as fake_telegram

TELEGRAM_SECRET = "s3cret-Token_value"
SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
JSON_TYPE = "application/json"
FORM_TYPE = "application/x-www-form-urlencoded"
MEGABYTE_AND_MORE = 1_048_577
NOWHERE = "http://127.0.0.1:1"
REFUSED_SIGNATURES = {"forbidden", "invalid signature", "bad signature"}


def telegram_update(served: Served) -> bytes:
    message = {
        "message_id": 1,
        "from": {"id": 1001, "is_bot": False, "first_name": "Ann", "language_code": "en"},
        "chat": {"id": 1001, "type": "private", "first_name": "Ann"},
        "date": 1768471200,
        "text": "/start",
        "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
    }
    return json.dumps({"update_id": 1, "message": message}).encode()


def slack_command(served: Served) -> bytes:
    form = {
        "team_id": fake_slack.TEAM,
        "channel_id": "C0BILLING",
        "user_id": "UADMIN",
        "command": "/plans",
        "text": "",
        "api_app_id": "APLANBOT",
        "response_url": served.slack_hook,
        "trigger_id": "trigger.1",
    }
    return urlencode(form).encode()


def stripe_event(served: Served) -> bytes:
    session = {
        "object": "checkout.session",
        "id": "cs_junk",
        "mode": "payment",
        "payment_status": "paid",
        "client_reference_id": "ord_0000000000000000",
        "amount_total": 300,
        "currency": "usd",
    }
    event = {
        "id": "evt_junk",
        "object": "event",
        "type": "checkout.session.completed",
        "data": {"object": session},
    }
    return json.dumps(event).encode()


def slack_headers(body: bytes, secret: str = SLACK_SECRET) -> dict[str, str]:
    """Slack's v0 signature over the raw bytes, whatever they are."""
    timestamp = str(int(time.time()))
    base = b"v0:" + timestamp.encode() + b":" + body
    mac = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": f"v0={mac}"}


@dataclass(frozen=True)
class Target:
    """A route, how its sender authenticates a body, the type junk is declared as by default,
    and a good body with its type."""

    name: str
    path: str
    credentials: Callable[[bytes], dict[str, str]]
    content_type: str
    good: Callable[[Served], bytes]
    good_type: str


TARGETS = [
    Target(
        "telegram",
        TELEGRAM_PATH,
        lambda body: {SECRET_HEADER: TELEGRAM_SECRET},
        JSON_TYPE,
        telegram_update,
        JSON_TYPE,
    ),
    # Slack sends the Events API as JSON, commands and interactions as forms.
    Target("slack", EVENTS_PATH, slack_headers, JSON_TYPE, slack_command, FORM_TYPE),
    Target(
        "stripe",
        STRIPE_PATH,
        lambda body: {"Stripe-Signature": sign(body, WEBHOOK_SECRET)},
        JSON_TYPE,
        stripe_event,
        JSON_TYPE,
    ),
    Target(
        "sandbox pay",
        "/sandbox/checkout/{reference}/pay",
        lambda body: {},
        FORM_TYPE,
        lambda served: b"",
        FORM_TYPE,
    ),
    Target(
        "sandbox fail",
        "/sandbox/checkout/{reference}/fail",
        lambda body: {},
        FORM_TYPE,
        lambda served: b"",
        FORM_TYPE,
    ),
]


def nested(depth: int) -> bytes:
    """An object with every field a route looks for, one of them nested `depth` deep."""
    return (
        b'{"update_id": 1, "type": "event_callback", "id": "evt_1", "data": '
        + b"[" * depth
        + b"]" * depth
        + b"}"
    )


def padded(size: int) -> bytes:
    head = b'{"update_id": 1, "type": "event_callback", "pad": "'
    return head + b"x" * (size - len(head) - 2) + b'"}'


@dataclass(frozen=True)
class Junk:
    """A body (None: the route's good one), and the type it is declared as (None: the route's
    own); `streamed` sends it without a Content-Length; `status`, when every route agrees."""

    body: bytes | None
    content_type: str | None = None
    streamed: bool = False
    status: int | None = None


CASES: dict[str, Junk] = {
    "empty": Junk(b""),
    "not JSON": Junk(b"not json {"),
    "a JSON array": Junk(b'[{"update_id": 1}]'),
    "a JSON scalar": Junk(b"42"),
    "an object of the wrong shape": Junk(
        b'{"type": "event_callback", "event": "x", "id": "evt_1", "data": {"object": 5}}'
    ),
    "invalid UTF-8": Junk(b'{"update_id": 1, "type": "x", "text": "\xff\xfe"}'),
    "a lone surrogate": Junk(b'{"update_id": 1, "type": "x", "id": "evt_1", "t": "\\ud800"}'),
    "nesting 5,000 deep": Junk(nested(5_000)),
    "nesting past the depth limit": Junk(nested(MAX_DEPTH + 1)),
    "1 MB and more": Junk(padded(MEGABYTE_AND_MORE), status=413),
    "1 MB and more, no Content-Length": Junk(padded(MEGABYTE_AND_MORE), streamed=True, status=413),
    "a good body as the wrong content type": Junk(None, "text/plain", status=415),
    "a good body as multipart": Junk(None, "multipart/form-data; b=x", status=415),
    "a broken payload= form": Junk(b"payload=%7Bnot-json", FORM_TYPE),
    "a payload= form holding an array": Junk(b"payload=%5B1%2C2%5D", FORM_TYPE),
    "a payload= form not UTF-8": Junk(b"payload=%FF%FE", FORM_TYPE),
    "a payload= form nested 5,000 deep": Junk(
        b"payload=" + quote_from_bytes(nested(5_000)).encode(), FORM_TYPE
    ),
    "a payload= form of the wrong shape": Junk(
        b"payload="
        + quote_from_bytes(b'{"type": "block_actions", "user": 5, "actions": [1]}').encode(),
        FORM_TYPE,
    ),
    "a form with neither payload nor command": Junk(b"token=x&team_id=T1", FORM_TYPE),
}

# The sandbox's Pay and Fail buttons post an empty form: empty is what they accept.
MATRIX = [
    pytest.param(target, CASES[case], id=f"{target.name}: {case}")
    for target in TARGETS
    for case in CASES
    if not (target.name.startswith("sandbox") and case == "empty")
]


@dataclass
class Served:
    """The app, its database, the pending sandbox order, and where Slack answers go."""

    http: httpx.AsyncClient
    ctx: Context
    reference: str
    slack_hook: str

    async def send(
        self,
        target: Target,
        junk: Junk,
        credentials: Callable[[bytes], dict[str, str]] | None = None,
    ) -> httpx.Response:
        if junk.body is None:
            body, declared = target.good(self), target.good_type
        else:
            body, declared = junk.body, target.content_type
        signed = (credentials or target.credentials)(body)
        headers = {"Content-Type": junk.content_type or declared, **signed}
        content: bytes | AsyncIterator[bytes] = chunks(body) if junk.streamed else body
        path = target.path.format(reference=self.reference)
        return await self.http.post(path, content=content, headers=headers)

    async def stored(self) -> dict[str, list[str]]:
        """Every row of every table, to compare before and after."""
        async with self.ctx.db.unit_of_work() as session:
            return {
                table.name: sorted(map(repr, (await session.execute(select(table))).all()))
                for table in Base.metadata.sorted_tables
            }


async def chunks(body: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


@contextlib.asynccontextmanager
async def serve(
    ctx: Context, owner: Actor, target: Target, telegram_url: str, slack_url: str, slack_hook: str
) -> AsyncIterator[Served]:
    """The web app with the target's route and a pending sandbox order; the platforms' APIs at
    the URLs."""
    workspace = await create_workspace(ctx, owner, "Acme Support")
    placed = await place_order(ctx, owner, workspace, Terms("cc1", 1, 3), chat=CHAT)
    async with contextlib.AsyncExitStack() as stack:
        routes: list[BaseRoute] = []
        if target.name == "telegram":
            application = build_application(fake_telegram.TOKEN, telegram_url, polling=False)
            stack.push_async_callback(application.shutdown)
            routes.append(webhook_route(TelegramBot(ctx, application), TELEGRAM_SECRET))
        elif target.name == "slack":
            app = build_app(signing_secret=SLACK_SECRET, token=fake_slack.TOKEN, api_url=slack_url)
            slack = SlackBot(ctx, app)
            await slack.open()
            stack.push_async_callback(slack.close)
            routes += slack_routes(slack, SLACK_SECRET)
        elif target.name == "stripe":
            routes += stripe_routes(ctx, WEBHOOK_SECRET)
        transport = httpx.ASGITransport(app=create_app(ctx, routes=routes))
        async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as http:
            yield Served(http, ctx, placed.reference, slack_hook)


@pytest.fixture
async def served(sandbox_ctx: Context, owner: Actor, target: Target) -> AsyncIterator[Served]:
    """The platforms' APIs where nothing listens: junk that got as far as calling out fails."""
    urls = (NOWHERE, NOWHERE + "/api/", NOWHERE + "/hook")
    async with serve(sandbox_ctx, owner, target, *urls) as app:
        yield app


@pytest.fixture
async def live(sandbox_ctx: Context, owner: Actor, target: Target) -> AsyncIterator[Served]:
    """The same app with the fake Bot API and the fake Slack API behind it."""
    telegram_api, slack_api = fake_telegram.FakeBotApi(), fake_slack.FakeSlackApi()
    async with fake_telegram.running(telegram_api), fake_slack.running(slack_api):
        urls = (telegram_api.url, slack_api.api_url, slack_api.hook_url("C0BILLING", "UADMIN"))
        async with serve(sandbox_ctx, owner, target, *urls) as app:
            yield app


@pytest.mark.parametrize(("target", "junk"), MATRIX)
async def test_signed_junk_gets_a_4xx_stores_nothing_and_logs_one_line(
    served: Served, caplog: pytest.LogCaptureFixture, target: Target, junk: Junk
) -> None:
    before = await served.stored()
    caplog.set_level(logging.INFO)
    response = await served.send(target, junk)
    assert 400 <= response.status_code < 500, response.text
    assert junk.status in (None, response.status_code)
    assert response.text not in REFUSED_SIGNATURES  # refused for what it says, not who sent it
    assert await served.stored() == before
    assert [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR] == []
    [line] = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert line.name.startswith("planbot.") and "refused" in line.getMessage()


@pytest.mark.parametrize("target", [pytest.param(t, id=t.name) for t in TARGETS])
async def test_a_good_request_to_the_same_app_is_not_refused(live: Served, target: Target) -> None:
    response = await live.send(target, Junk(None))
    assert response.status_code in (200, 303), response.text


FORGED: dict[str, Callable[[bytes], dict[str, str]]] = {
    "telegram": lambda body: {SECRET_HEADER: "not-the-secret"},
    "slack": lambda body: slack_headers(body, secret="not-the-secret"),
    "stripe": lambda body: {"Stripe-Signature": sign(body, "whsec_someone_else")},
}
SIGNATURE_REFUSALS = {"telegram": (403, "forbidden"), "slack": (401, "invalid signature")}


@pytest.mark.parametrize(
    ("target", "junk"),
    [
        pytest.param(target, CASES[case], id=f"{target.name}: {case}")
        for target in TARGETS
        if target.name in FORGED
        for case in ("nesting 5,000 deep", "not JSON", "a broken payload= form")
    ],
)
async def test_forged_junk_is_refused_for_its_signature_before_anything_parses_it(
    served: Served, caplog: pytest.LogCaptureFixture, target: Target, junk: Junk
) -> None:
    caplog.set_level(logging.INFO)
    response = await served.send(target, junk, credentials=FORGED[target.name])
    status, reason = SIGNATURE_REFUSALS.get(target.name, (400, "bad signature"))
    assert (response.status_code, response.text) == (status, reason)
    [line] = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert reason in line.getMessage() and not line.exc_info

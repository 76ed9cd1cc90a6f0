"""One conversation step through Bolt and the Slack adapter, against a bare Bolt handler on
the same fake Slack Web API (DESIGN 11: at most 2x the bare handler in throughput and p99).

Both sides get the same signed block_actions requests through the ASGI app, ack them, and
answer with chat.postEphemeral after the ack. planbot's side also loads the conversation,
runs the upgrade flow (pick a package, then Back), saves it and renders Block Kit. Two
latencies: request to ack (the HTTP response), and request to the reply posted.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette

from adapters.sandbox import SandboxGateway
from adapters.slack.bot import SlackBot, build_app
from adapters.slack.http import EVENTS_PATH, slack_routes
from adapters.slack.payloads import Where
from adapters.web import create_app
from bench.table import Row, print_table
from core.catalog import load_catalog
from core.clock import FixedClock, parse_iso
from core.db import Database
from core.migrate import upgrade
from core.services.context import Context
from core.services.outbox import OutboxNotifier
from tests.slack.conftest import sign
from tests.slack.fake_api import TEAM, TOKEN, FakeSlackApi, running

USERS = 100
CHANNEL = "CBENCH"
SECRET = "bench-signing-secret"
Step = Callable[[str, int], Awaitable[tuple[float, float]]]


def _percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] * 1000


def _tap(user: str, value: str) -> str:
    payload = {
        "type": "block_actions",
        "team": {"id": TEAM, "domain": "bench"},
        "user": {"id": user, "team_id": TEAM},
        "api_app_id": "ABENCH",
        "trigger_id": "t",
        "container": {
            "type": "message",
            "message_ts": "1.1",
            "channel_id": CHANNEL,
            "is_ephemeral": True,
        },
        "channel": {"id": CHANNEL},
        "actions": [
            {"type": "button", "action_id": "planbot_tap:0", "block_id": "b", "value": value}
        ],
    }
    return urlencode({"payload": json.dumps(payload)})


def _command(user: str, text: str) -> str:
    return urlencode(
        {
            "team_id": TEAM,
            "team_domain": "bench",
            "channel_id": CHANNEL,
            "user_id": user,
            "command": "/plans",
            "text": text,
            "trigger_id": "t",
        }
    )


class _Timed:
    """Per user, a future set when the reply to the user's current request is posted."""

    def __init__(self) -> None:
        self.waiting: dict[str, asyncio.Future[None]] = {}

    def expect(self, user: str) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiting[user] = future
        return future

    def done(self, user: str) -> None:
        future = self.waiting.pop(user, None)
        if future is not None and not future.done():
            future.set_result(None)


async def _post(http: httpx.AsyncClient, body: str) -> None:
    response = await http.post(
        EVENTS_PATH,
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", **sign(body, SECRET)},
    )
    assert response.status_code == 200, response.text


async def _request(
    http: httpx.AsyncClient, timed: _Timed, user: str, body: str
) -> tuple[float, float]:
    finished = timed.expect(user)
    started = time.perf_counter()
    await _post(http, body)
    acked = time.perf_counter() - started
    await asyncio.wait_for(finished, 30)
    return acked, time.perf_counter() - started


async def _loop(step: Step, steps: int) -> tuple[float, float, float, float, float]:
    acks: list[float] = []
    fulls: list[float] = []

    async def user(u: int) -> None:
        for n in range(steps):
            acked, full = await step(f"U{u:04d}", n)
            acks.append(acked)
            fulls.append(full)

    started = time.perf_counter()
    await asyncio.gather(*(user(u) for u in range(1, USERS + 1)))
    elapsed = time.perf_counter() - started
    return (
        len(fulls) / elapsed,
        _percentile(acks, 50),
        _percentile(acks, 99),
        _percentile(fulls, 50),
        _percentile(fulls, 99),
    )


def _client(app: Starlette) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench")


async def _planbot(api: FakeSlackApi, folder: Path, steps: int) -> tuple[float, ...]:
    url = f"sqlite+aiosqlite:///{folder / 'bench.db'}"
    await asyncio.to_thread(upgrade, url)
    db = Database.from_url(url)
    clock = FixedClock(parse_iso("2026-07-15T10:00:00Z"))
    ctx = Context(
        db,
        load_catalog(),
        clock,
        SandboxGateway("http://127.0.0.1:8000"),
        OutboxNotifier(db, clock),
    )
    timed = _Timed()

    class Bot(SlackBot):
        async def step(
            self, body: dict[str, Any], client: AsyncWebClient, where: Where, **kw: Any
        ) -> None:
            try:
                await super().step(body, client, where, **kw)
            finally:
                timed.done(where.user)

    bot = Bot(ctx, build_app(signing_secret=SECRET, token=TOKEN, api_url=api.api_url))
    http = _client(create_app(ctx, routes=slack_routes(bot, SECRET)))
    api.admins.update(f"U{u:04d}" for u in range(1, USERS + 1))

    def value(user: str, label: str) -> str:
        for block in api.last[(CHANNEL, user)]["blocks"]:
            for element in block.get("elements") or []:
                if element.get("text", {}).get("text") == label:
                    return str(element["value"])
        raise KeyError(label)

    try:
        for u in range(1, USERS + 1):
            await _request(http, timed, f"U{u:04d}", _command(f"U{u:04d}", "upgrade"))

        async def step(user: str, n: int) -> tuple[float, float]:
            label = "Contact Center 2" if n % 2 == 0 else "Back"
            return await _request(http, timed, user, _tap(user, value(user, label)))

        return await _loop(step, steps)
    finally:
        await http.aclose()
        await db.dispose()


async def _bare(api: FakeSlackApi, steps: int) -> tuple[float, ...]:
    """The bare Bolt handler: ack the button, then post the value back ephemerally."""
    timed = _Timed()
    client = AsyncWebClient(token=TOKEN, base_url=api.api_url)
    app = AsyncApp(signing_secret=SECRET, client=client)

    async def ack(ack: AsyncAck) -> None:
        await ack()

    async def echo(body: dict[str, Any], client: AsyncWebClient) -> None:
        user = body["user"]["id"]
        try:
            await client.chat_postEphemeral(
                channel=CHANNEL, user=user, text=f"echo {body['actions'][0]['value']}"
            )
        finally:
            timed.done(user)

    app.action("planbot_tap:0")(ack=ack, lazy=[echo])
    from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    handler = AsyncSlackRequestHandler(app)

    async def endpoint(request: Request) -> Response:
        return await handler.handle(request)

    http = _client(Starlette(routes=[Route(EVENTS_PATH, endpoint, methods=["POST"])]))
    try:

        async def step(user: str, n: int) -> tuple[float, float]:
            return await _request(http, timed, user, _tap(user, f"{n}:x"))

        return await _loop(step, steps)
    finally:
        await http.aclose()


async def measure(quick: bool) -> list[Row]:
    steps = 5 if quick else 20
    api = FakeSlackApi()
    async with running(api):
        bare = await _bare(api, steps)
        with tempfile.TemporaryDirectory() as folder:
            planbot = await _planbot(api, Path(folder), steps)
    return [
        Row("bare Bolt steps/s, 100 users", bare[0], "steps/s"),
        Row("planbot steps/s, 100 users", planbot[0], "steps/s", bare[0] / 2),
        Row("bare ack p50", bare[1], "ms", None, False),
        Row("planbot ack p50", planbot[1], "ms", None, False),
        Row("bare ack p99", bare[2], "ms", None, False),
        Row("planbot ack p99", planbot[2], "ms", 3000, False),
        Row("bare full step p50", bare[3], "ms", None, False),
        Row("planbot full step p50", planbot[3], "ms", None, False),
        Row("bare full step p99", bare[4], "ms", None, False),
        Row("planbot full step p99", planbot[4], "ms", bare[4] * 2, False),
        Row("throughput, bare / planbot", bare[0] / planbot[0], "x", 2, False),
        Row("full step p99, planbot / bare", planbot[4] / bare[4], "x", 2, False),
    ]


def main(quick: bool = False) -> None:
    rows = asyncio.run(measure(quick))
    print_table(
        "Slack step: signed request -> Bolt -> adapter -> engine -> SQLite -> fake Web API, "
        "vs a bare Bolt handler",
        rows,
    )


if __name__ == "__main__":
    import sys

    main(quick="--quick" in sys.argv)

"""One conversation step through Bolt and the Slack adapter, against a bare Bolt handler on
the same fake Slack Web API (DESIGN 11: at most 2x the bare handler in throughput and p99).

Both sides get the same signed requests through the ASGI app, ack them, and answer with
chat.postEphemeral after the ack. planbot's side also loads the conversation, runs the
upgrade flow (pick a package, then Back), saves it and renders Block Kit. Three phases:
every user's slash command (latency to the ack and to the answer); taps flat out (closed
loop: throughput); taps at a fixed offered load, the same for both (p99 of a full step).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
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
OFFERED_PER_SECOND = 50
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


async def _loop(step: Step, steps: int) -> tuple[float, list[float], list[float]]:
    """Every user taps as fast as answers come: steps/s, ack latencies, full-step latencies."""
    acks: list[float] = []
    fulls: list[float] = []

    async def user(u: int) -> None:
        for n in range(steps):
            acked, full = await step(f"U{u:04d}", n)
            acks.append(acked)
            fulls.append(full)

    started = time.perf_counter()
    await asyncio.gather(*(user(u) for u in range(1, USERS + 1)))
    return len(fulls) / (time.perf_counter() - started), acks, fulls


async def _offered(step: Step, first: int, seconds: float) -> list[float]:
    """Taps sent at OFFERED_PER_SECOND, users in turn (each every 2 s): full-step latencies."""
    fulls: list[float] = []
    locks = {u: asyncio.Lock() for u in range(1, USERS + 1)}
    total = int(OFFERED_PER_SECOND * seconds)
    started = time.perf_counter()

    async def tap(k: int) -> None:
        await asyncio.sleep(max(0.0, started + k / OFFERED_PER_SECOND - time.perf_counter()))
        u = k % USERS + 1
        async with locks[u]:
            fulls.append((await step(f"U{u:04d}", first + k // USERS))[1])

    await asyncio.gather(*(tap(k) for k in range(total)))
    return fulls


async def _phases(
    http: httpx.AsyncClient, timed: _Timed, command: str, step: Step, quick: bool
) -> Figures:
    commands = [
        await _request(http, timed, f"U{u:04d}", _command(f"U{u:04d}", command))
        for u in range(1, USERS + 1)
    ]
    steps = 5 if quick else 20
    rate, acks, fulls = await _loop(step, steps)
    offered = await _offered(step, steps, 4.0 if quick else 12.0)
    return Figures(
        command_ack_p50=_percentile([c[0] for c in commands], 50),
        command_ack_p99=_percentile([c[0] for c in commands], 99),
        command_full_p99=_percentile([c[1] for c in commands], 99),
        steps_per_second=rate,
        tap_ack_p99=_percentile(acks, 99),
        flat_out_full_p99=_percentile(fulls, 99),
        offered_full_p50=_percentile(offered, 50),
        offered_full_p99=_percentile(offered, 99),
    )


@dataclass(frozen=True)
class Figures:
    command_ack_p50: float
    command_ack_p99: float
    command_full_p99: float
    steps_per_second: float
    tap_ack_p99: float
    flat_out_full_p99: float
    offered_full_p50: float
    offered_full_p99: float


def _client(app: Starlette) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench")


async def _planbot(api: FakeSlackApi, folder: Path, quick: bool) -> Figures:
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
    await bot.open()
    http = _client(create_app(ctx, routes=slack_routes(bot, SECRET)))
    api.admins.update(f"U{u:04d}" for u in range(1, USERS + 1))

    def value(user: str, label: str) -> str:
        for block in api.last[(CHANNEL, user)]["blocks"]:
            for element in block.get("elements") or []:
                if element.get("text", {}).get("text") == label:
                    return str(element["value"])
        raise KeyError(label)

    try:

        async def step(user: str, n: int) -> tuple[float, float]:
            label = "Contact Center 2" if n % 2 == 0 else "Back"
            return await _request(http, timed, user, _tap(user, value(user, label)))

        return await _phases(http, timed, "upgrade", step, quick)
    finally:
        await http.aclose()
        await bot.close()
        await db.dispose()


async def _bare(api: FakeSlackApi, quick: bool, *, tuned: bool) -> Figures:
    """The bare Bolt handler: ack the command or button, then post its text back ephemerally.

    Plain: Bolt's documented way (lazy listeners, a connection per Web API call). Tuned:
    Bolt set up as planbot sets it up (ack then a task, `process_before_response`, one
    pooled HTTP session), so the ratio is planbot's own work alone.
    """
    timed = _Timed()
    client = AsyncWebClient(token=TOKEN, base_url=api.api_url)
    app = AsyncApp(signing_secret=SECRET, client=client, process_before_response=tuned)
    if tuned:
        client.session = aiohttp.ClientSession()
    tasks: set[asyncio.Task[None]] = set()

    def after_ack(work: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
        async def listener(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
            await ack()
            task = asyncio.create_task(work(body, client))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

        return listener

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

    async def echo_command(body: dict[str, Any], client: AsyncWebClient) -> None:
        try:
            await client.chat_postEphemeral(
                channel=CHANNEL, user=body["user_id"], text=f"echo {body['text']}"
            )
        finally:
            timed.done(body["user_id"])

    if tuned:
        app.action("planbot_tap:0")(after_ack(echo))
        app.command("/plans")(after_ack(echo_command))
    else:
        app.action("planbot_tap:0")(ack=ack, lazy=[echo])
        app.command("/plans")(ack=ack, lazy=[echo_command])
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

        return await _phases(http, timed, "upgrade", step, quick)
    finally:
        await http.aclose()
        if client.session is not None:
            await client.session.close()


async def measure(quick: bool) -> list[Row]:
    api = FakeSlackApi()
    async with running(api):
        bare = await _bare(api, quick, tuned=False)
        tuned = await _bare(api, quick, tuned=True)
        with tempfile.TemporaryDirectory() as folder:
            planbot = await _planbot(api, Path(folder), quick)
    offered = f"at {OFFERED_PER_SECOND} steps/s offered"
    return [
        Row("bare slash command -> ack p50", bare.command_ack_p50, "ms", None, False),
        Row("planbot slash command -> ack p50", planbot.command_ack_p50, "ms", None, False),
        Row("bare slash command -> ack p99", bare.command_ack_p99, "ms", None, False),
        Row("planbot slash command -> ack p99", planbot.command_ack_p99, "ms", 3000, False),
        Row("bare slash command -> answer p99", bare.command_full_p99, "ms", None, False),
        Row("planbot slash command -> answer p99", planbot.command_full_p99, "ms", None, False),
        Row("bare steps/s flat out, 100 users", bare.steps_per_second, "steps/s"),
        Row(
            "planbot steps/s flat out, 100 users",
            planbot.steps_per_second,
            "steps/s",
            bare.steps_per_second / 2,
        ),
        Row("bare tap -> ack p99, flat out", bare.tap_ack_p99, "ms", None, False),
        Row("planbot tap -> ack p99, flat out", planbot.tap_ack_p99, "ms", 3000, False),
        Row("bare full step p99, flat out", bare.flat_out_full_p99, "ms", None, False),
        Row("planbot full step p99, flat out", planbot.flat_out_full_p99, "ms", None, False),
        Row(f"bare full step p50 {offered}", bare.offered_full_p50, "ms", None, False),
        Row(f"planbot full step p50 {offered}", planbot.offered_full_p50, "ms", None, False),
        Row(f"bare full step p99 {offered}", bare.offered_full_p99, "ms", None, False),
        Row(
            f"planbot full step p99 {offered}",
            planbot.offered_full_p99,
            "ms",
            bare.offered_full_p99 * 2,
            False,
        ),
        Row(
            "throughput, bare / planbot",
            bare.steps_per_second / planbot.steps_per_second,
            "x",
            2,
            False,
        ),
        Row(
            f"p99 {offered}, planbot / bare",
            planbot.offered_full_p99 / bare.offered_full_p99,
            "x",
            2,
            False,
        ),
        Row("tuned bare steps/s flat out, 100 users", tuned.steps_per_second, "steps/s"),
        Row(f"tuned bare full step p99 {offered}", tuned.offered_full_p99, "ms", None, False),
        Row(
            "throughput, tuned bare / planbot",
            tuned.steps_per_second / planbot.steps_per_second,
            "x",
            2,
            False,
        ),
        Row(
            f"p99 {offered}, planbot / tuned bare",
            planbot.offered_full_p99 / tuned.offered_full_p99,
            "x",
            2,
            False,
        ),
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

"""Start-up degrades instead of dying: a platform whose API cannot be reached at start is
retried in the background with backoff (one warning line per attempt, no traceback) while the
web app serves everything else; its own routes answer 503 and /readyz says "retrying" until
it has started, then "ready". The retries' sleep is the test's: nothing waits for real."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette

from adapters.launch import Launch, expected, serving_app, start_all, stop_all
from adapters.readiness import Readiness
from adapters.repeat import Backoff, one_line
from adapters.runner import platform_launches
from adapters.settings import Settings
from adapters.slack.http import EVENTS_PATH
from adapters.stripe.webhook import WEBHOOK_PATH as STRIPE_PATH
from adapters.telegram.webhook import SECRET_HEADER, WEBHOOK_PATH
from adapters.web import create_app
from core.services.context import Context
from tests.slack.conftest import sign as slack_sign
from tests.slack.fake_api import TOKEN as SLACK_TOKEN
from tests.slack.fake_api import FakeSlackApi
from tests.slack.fake_api import running as slack_running
from tests.stripe.fake_stripe import sign as stripe_sign
from tests.telegram.fake_api import TOKEN as TELEGRAM_TOKEN
from tests.telegram.fake_api import ApiError, FakeBotApi
from tests.telegram.fake_api import running as telegram_running

PUBLIC_URL = "https://planbot.test"
TELEGRAM_SECRET = "hook-Secret_1"
SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
STRIPE_SECRET = "whsec_startup"
NO_JITTER = Backoff(first=1.0, factor=2.0, cap=60.0, draw=lambda: 0.0)


class Pauses:
    """The retries' sleep: records each wait and holds it until the test lets it go."""

    def __init__(self) -> None:
        self.waits: list[float] = []
        self._held: asyncio.Queue[asyncio.Event] = asyncio.Queue()

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        release = asyncio.Event()
        self._held.put_nowait(release)
        await release.wait()

    async def next(self) -> asyncio.Event:
        """Wait until a failed attempt starts its pause; setting the event ends the pause."""
        async with asyncio.timeout(10):
            return await self._held.get()


class Outage:
    """A port of 127.0.0.1 where connections are refused (bound, not listening) until
    `recover` serves the fake platform on it: Telegram's API during an outage, then back."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.server: uvicorn.Server | None = None
        self.task: asyncio.Task[None] | None = None

    async def recover(self, app: Starlette) -> None:
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        self.task = asyncio.create_task(self.server.serve(sockets=[self.sock]))
        async with asyncio.timeout(10):
            while not self.server.started:  # noqa: ASYNC110 (uvicorn offers no event)
                await asyncio.sleep(0.01)

    async def close(self) -> None:
        if self.server is not None and self.task is not None:
            self.server.should_exit = True
            await self.task
        self.sock.close()


@contextlib.asynccontextmanager
async def outage() -> AsyncIterator[Outage]:
    down = Outage()
    try:
        yield down
    finally:
        await down.close()


@contextlib.asynccontextmanager
async def serving(
    ctx: Context, config: Settings, pauses: Pauses, *, serve: bool = True
) -> AsyncIterator[tuple[httpx.AsyncClient, Readiness, list[Launch]]]:
    """What `planbot serve` (or `run`) starts, on an in-process client instead of a port."""
    launches = await platform_launches(ctx, config, serving=serve)
    readiness = expected(launches)
    app = serving_app(ctx, config, launches, readiness)
    tasks = await start_all(launches, readiness, backoff=NO_JITTER, sleep=pauses)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as http:
            yield http, readiness, launches
    finally:
        await stop_all(launches, tasks)
        assert all(task.done() for task in tasks)


def settings(**values: str) -> Settings:
    return Settings(_env_file=None, PLANBOT_PUBLIC_URL=PUBLIC_URL, **values)  # type: ignore[call-arg]


def telegram_settings(api_url: str) -> dict[str, str]:
    return {
        "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
        "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET,
        "TELEGRAM_API_BASE_URL": api_url,
    }


def slack_settings(api: FakeSlackApi) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": SLACK_TOKEN,
        "SLACK_SIGNING_SECRET": SLACK_SECRET,
        "SLACK_API_URL": api.api_url,
    }


STRIPE = {"STRIPE_SECRET_KEY": "sk_test_startup", "STRIPE_WEBHOOK_SECRET": STRIPE_SECRET}


async def ready(readiness: Readiness, name: str) -> None:
    async with asyncio.timeout(10):
        await readiness.platforms[name].up.wait()


async def slack_challenge(http: httpx.AsyncClient) -> httpx.Response:
    body = json.dumps({"type": "url_verification", "challenge": "c-123", "token": "t"})
    headers = {**slack_sign(body, SLACK_SECRET), "Content-Type": "application/json"}
    return await http.post(EVENTS_PATH, content=body, headers=headers)


async def stripe_event(http: httpx.AsyncClient) -> httpx.Response:
    payload = json.dumps(
        {
            "id": "evt_startup_1",
            "object": "event",
            "type": "customer.created",
            "data": {"object": {"id": "cus_1", "object": "customer"}},
        }
    ).encode()
    headers = {"Stripe-Signature": stripe_sign(payload, STRIPE_SECRET)}
    return await http.post(STRIPE_PATH, content=payload, headers=headers)


async def telegram_update(http: httpx.AsyncClient, update_id: int = 1) -> httpx.Response:
    headers = {SECRET_HEADER: TELEGRAM_SECRET}
    return await http.post(WEBHOOK_PATH, json={"update_id": update_id}, headers=headers)


def warnings_about(caplog: pytest.LogCaptureFixture, what: str) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and r.getMessage().startswith(f"starting {what} failed")
    ]


def no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert "Traceback" not in caplog.text


def states(body: dict[str, Any]) -> dict[str, str]:
    return {name: shown["state"] for name, shown in body["platforms"].items()}


# --- Telegram unreachable at start ----------------------------------------------------------


async def test_serve_answers_slack_and_stripe_while_telegram_is_unreachable_then_registers(
    ctx: Context, caplog: pytest.LogCaptureFixture
) -> None:
    pauses = Pauses()
    caplog.set_level(logging.INFO)
    slack_api = FakeSlackApi()
    async with outage() as down, slack_running(slack_api):
        config = settings(**telegram_settings(down.url), **slack_settings(slack_api), **STRIPE)
        async with serving(ctx, config, pauses) as (http, readiness, _launches):
            first = await pauses.next()
            await ready(readiness, "slack")

            answer = await http.get("/readyz")
            assert answer.status_code == 503
            body = answer.json()
            assert body["database"] == {"state": "ready"}
            assert states(body) == {"slack": "ready", "telegram": "retrying"}
            telegram = body["platforms"]["telegram"]
            assert telegram["attempts"] == 1 and "NetworkError" in telegram["last_error"]
            assert telegram["since"].endswith("Z")
            assert TELEGRAM_TOKEN not in answer.text

            assert (await http.get("/healthz")).text == "ok"
            challenge = await slack_challenge(http)
            assert challenge.status_code == 200 and challenge.json() == {"challenge": "c-123"}
            assert (await stripe_event(http)).status_code == 200
            held = await telegram_update(http)
            assert held.status_code == 503 and held.headers["Retry-After"] == "5"

            first.set()
            second = await pauses.next()  # still down: a second attempt, a longer wait
            assert (await http.get("/readyz")).json()["platforms"]["telegram"]["attempts"] == 2
            telegram_api = FakeBotApi()
            await down.recover(telegram_api.app())
            second.set()
            await ready(readiness, "telegram")

            answer = await http.get("/readyz")
            assert answer.status_code == 200
            assert states(answer.json()) == {"slack": "ready", "telegram": "ready"}
            assert (await telegram_update(http)).status_code == 200

    assert pauses.waits == [1.0, 2.0]
    assert [c["url"] for c in telegram_api.made("setWebhook")] == [PUBLIC_URL + WEBHOOK_PATH]
    assert telegram_api.made("getMe") and telegram_api.made("setMyCommands")
    warned = warnings_about(caplog, "Telegram")
    assert len(warned) == 2 and all("NetworkError" in line for line in warned)
    assert all("\n" not in line and TELEGRAM_TOKEN not in line for line in warned)
    no_traceback(caplog)


class GatewayDown(FakeBotApi):
    """Telegram behind a failing front: getMe answers, setWebhook is a 502 a few times."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    async def _set_webhook(self, params: dict[str, Any]) -> Any:
        if self.failures:
            self.failures -= 1
            raise ApiError(502, "Bad Gateway")
        return await super()._set_webhook(params)


async def test_set_webhook_failing_at_start_is_retried_until_registered(
    ctx: Context, caplog: pytest.LogCaptureFixture
) -> None:
    pauses = Pauses()
    api = GatewayDown(failures=2)
    async with telegram_running(api) as url:
        config = settings(**telegram_settings(url))
        async with serving(ctx, config, pauses) as (http, readiness, _):
            for _attempt in range(2):
                (await pauses.next()).set()
            await ready(readiness, "telegram")
            assert (await http.get("/readyz")).status_code == 200
    assert len(api.made("setWebhook")) == 3 and api.webhook == PUBLIC_URL + WEBHOOK_PATH
    assert len(api.made("getMe")) == 1  # what succeeded is not done again
    assert len(warnings_about(caplog, "Telegram")) == 2
    no_traceback(caplog)


async def test_polling_starts_once_telegram_can_be_reached(
    ctx: Context, caplog: pytest.LogCaptureFixture
) -> None:
    pauses = Pauses()
    async with outage() as down:
        config = settings(**telegram_settings(down.url))
        async with serving(ctx, config, pauses, serve=False) as (http, readiness, _):
            first = await pauses.next()
            assert states((await http.get("/readyz")).json()) == {"telegram": "retrying"}
            api = FakeBotApi()
            await down.recover(api.app())
            first.set()
            await ready(readiness, "telegram")
            async with api.changed:
                await asyncio.wait_for(api.changed.wait_for(lambda: api.made("getUpdates")), 10)
    assert api.made("deleteWebhook")  # polling took over from any webhook
    assert len(warnings_about(caplog, "Telegram")) == 1
    no_traceback(caplog)


async def test_stopping_while_telegram_is_still_retrying_stops_cleanly(
    ctx: Context, caplog: pytest.LogCaptureFixture
) -> None:
    pauses = Pauses()
    async with outage() as down:
        async with serving(ctx, settings(**telegram_settings(down.url)), pauses) as (
            http,
            readiness,
            _,
        ):
            await pauses.next()  # never let go: stopping cancels the pause
            assert (await http.get("/readyz")).status_code == 503
        assert readiness.platforms["telegram"].state == "retrying"
    no_traceback(caplog)


# --- Slack unreachable at start -------------------------------------------------------------


async def test_slack_events_wait_for_auth_test_and_the_rest_is_served(
    ctx: Context, caplog: pytest.LogCaptureFixture
) -> None:
    pauses = Pauses()
    api = FakeSlackApi()
    api.fail("auth.test", "service_unavailable", "service_unavailable")
    async with slack_running(api):
        config = settings(**slack_settings(api), **STRIPE)
        async with serving(ctx, config, pauses) as (http, readiness, _):
            first = await pauses.next()
            held = await slack_challenge(http)
            assert held.status_code == 503 and held.headers["Retry-After"] == "5"
            assert (await stripe_event(http)).status_code == 200
            slack = (await http.get("/readyz")).json()["platforms"]["slack"]
            assert slack["state"] == "retrying" and "service_unavailable" in slack["last_error"]
            assert SLACK_TOKEN not in json.dumps(slack)
            first.set()
            (await pauses.next()).set()
            await ready(readiness, "slack")
            assert (await http.get("/readyz")).status_code == 200
            assert (await slack_challenge(http)).status_code == 200
    assert len(api.made("auth.test")) == 1 and len(api.refused) == 2
    assert pauses.waits == [1.0, 2.0]
    assert len(warnings_about(caplog, "Slack")) == 2
    no_traceback(caplog)


# --- the parts ------------------------------------------------------------------------------


async def test_readyz_is_json_with_the_database_and_no_platforms_by_default(
    ctx: Context,
) -> None:
    transport = httpx.ASGITransport(app=create_app(ctx))
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as http:
        answer = await http.get("/readyz")
    assert answer.status_code == 200
    assert answer.json() == {"database": {"state": "ready"}, "platforms": {}}


def test_backoff_doubles_up_to_its_cap_and_jitter_only_shortens() -> None:
    steady = Backoff(first=1.0, factor=2.0, cap=8.0, draw=lambda: 0.0)
    assert [steady.delay(n) for n in range(1, 7)] == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert steady.delay(10_000) == 8.0
    jittered = Backoff(first=1.0, factor=2.0, cap=8.0, jitter=0.2, draw=lambda: 0.999)
    assert 6.4 <= jittered.delay(5) < 8.0


def test_a_start_up_error_is_one_short_line_with_its_secrets_hidden() -> None:
    error = RuntimeError("The token `123:abc` was\nrejected " + "x" * 500)
    line = one_line(error, ("123:abc",))
    assert line.startswith("RuntimeError: The token `***` was rejected")
    assert "\n" not in line and "123:abc" not in line and len(line) <= 300


async def test_a_platform_without_start_steps_is_not_waited_for() -> None:
    ran = asyncio.Event()

    async def job() -> None:
        ran.set()

    launches: Sequence[Launch] = [Launch("the sweep", jobs=[(job, 60)])]
    readiness = expected(launches)
    tasks = await start_all(launches, readiness, sleep=Pauses())
    async with asyncio.timeout(5):
        await ran.wait()
    await stop_all(launches, tasks)
    assert readiness.platforms == {} and readiness.all_ready

"""One process serves every configured platform: their routes share one web app, they start
in order and stop in reverse, and one failing to stop does not keep the others running."""

from __future__ import annotations

import asyncio
import logging

import pytest
from starlette.routing import Route

from adapters.launch import Launch, Step, start_all, stop_all, web_routes
from adapters.runner import platform_launches
from adapters.settings import Settings
from core.services.context import Context

BOTH = {
    "SLACK_BOT_TOKEN": "xoxb-1",
    "SLACK_SIGNING_SECRET": "s",
    "TELEGRAM_BOT_TOKEN": "123:abc",
    "TELEGRAM_WEBHOOK_SECRET": "t",
}


def settings(**values: str) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def paths(ctx: Context, config: Settings, launches: list[Launch]) -> set[str]:
    return {r.path for r in web_routes(ctx, config, launches) if isinstance(r, Route)}


async def test_serve_answers_slack_and_telegram_in_one_web_app(ctx: Context) -> None:
    config = settings(**BOTH)
    launches = await platform_launches(ctx, config, serving=True)
    assert [launch.name for launch in launches] == ["Slack", "Telegram"]
    assert {"/slack/events", "/telegram/webhook"} <= paths(ctx, config, launches)


async def test_run_uses_socket_mode_and_polling_beside_the_sweep(ctx: Context) -> None:
    config = settings(**BOTH, SLACK_APP_TOKEN="xapp-1")
    launches = await platform_launches(ctx, config, serving=False)
    assert [launch.name for launch in launches] == ["Slack", "Telegram", "the sweep"]
    assert not {"/slack/events", "/telegram/webhook"} & paths(ctx, config, launches)
    assert all(launch.jobs for launch in launches)


async def test_platforms_start_in_order_and_stop_in_reverse_despite_a_failure(
    caplog: pytest.LogCaptureFixture,
) -> None:
    said: list[str] = []
    ran = asyncio.Event()

    def step(word: str) -> list[Step]:
        async def run() -> None:
            said.append(word)

        return [run]

    async def broken() -> None:
        raise RuntimeError("the socket was gone already")

    async def job() -> None:
        ran.set()

    first = Launch("first", start=step("start 1"), stop=[broken, *step("stop 1")])
    second = Launch("second", start=step("start 2"), stop=step("stop 2"), jobs=[(job, 60)])
    jobs = await start_all([first, second])
    async with asyncio.timeout(5):
        await ran.wait()
    with caplog.at_level(logging.ERROR, logger="planbot"):
        await stop_all([first, second], jobs)
    assert said == ["start 1", "start 2", "stop 2", "stop 1"]
    assert all(task.done() for task in jobs)
    assert "stopping first failed" in caplog.text

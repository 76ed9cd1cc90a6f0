"""Socket Mode: the same bot over a WebSocket from the fake (apps.connections.open)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler

from adapters.launch import start_all, stop_all
from adapters.settings import Settings
from adapters.slack.bot import build_app
from adapters.slack.http import oauth_routes
from adapters.slack.modes import build_bot, slack_launch
from adapters.web import create_app
from core.services.context import Context
from tests.slack.conftest import CHANNEL, PUBLIC_URL, ProbedBot, Slack, install
from tests.slack.fake_api import APP_TOKEN, TEAM, TOKEN, FakeSlackApi


async def test_a_slash_command_over_socket_mode(api: FakeSlackApi, services: Context) -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_APP_TOKEN=APP_TOKEN,
        SLACK_API_URL=api.api_url,
    )
    assert (await build_bot(services, settings, socket=True)).app.client.token == TOKEN
    app = build_app(signing_secret="", token=TOKEN, api_url=api.api_url, request_verification=False)
    bot = ProbedBot(services, app)
    sockets = await api.serve_sockets()
    handler = AsyncSocketModeHandler(bot.app, APP_TOKEN)
    await handler.connect_async()  # type: ignore[no-untyped-call]
    try:
        command = {
            "team_id": TEAM,
            "team_domain": "acme",
            "channel_id": CHANNEL,
            "user_id": "UMEMBER",
            "command": "/plans",
            "text": "",
            "trigger_id": "t1",
            "response_url": api.hook_url(CHANNEL, "UMEMBER"),
        }
        await api.send_envelope("slash_commands", command, "env-1")
        async with asyncio.timeout(10):
            while bot.done == 0 or not any(a.get("envelope_id") == "env-1" for a in api.acks):  # noqa: ASYNC110
                await asyncio.sleep(0.02)
        shown = api.messages(CHANNEL, "UMEMBER")
        assert shown and "Contact Center 1" in shown[-1]["text"]
    finally:
        await handler.close_async()  # type: ignore[no-untyped-call]
        await sockets.cleanup()


def command(user: str, response_url: str) -> dict[str, Any]:
    return {
        "team_id": TEAM,
        "team_domain": "acme",
        "channel_id": CHANNEL,
        "user_id": user,
        "command": "/plans",
        "text": "",
        "trigger_id": "t1",
        "response_url": response_url,
    }


@pytest.mark.usefixtures("slack_tables")
async def test_socket_mode_serves_the_workspaces_that_installed_through_oauth(
    api: FakeSlackApi, services: Context
) -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        SLACK_CLIENT_ID="111.222",
        SLACK_CLIENT_SECRET="shh",
        SLACK_APP_TOKEN=APP_TOKEN,
        SLACK_API_URL=api.api_url,
    )
    bot = await build_bot(services, settings, socket=True)
    assert bot.installations is not None and bot.app.client.token is None
    installer = Slack(api, services)
    installer.http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(services, routes=oauth_routes(bot))),
        base_url=PUBLIC_URL.replace("http:", "https:"),
    )
    try:
        assert (await install(installer)).status_code == 200
    finally:
        await installer.http.aclose()
    sockets = await api.serve_sockets()
    handler = AsyncSocketModeHandler(bot.app, APP_TOKEN)
    await handler.connect_async()  # type: ignore[no-untyped-call]
    try:
        await api.send_envelope(
            "slash_commands", command("UMEMBER", api.hook_url(CHANNEL, "UMEMBER")), "e1"
        )
        async with asyncio.timeout(10):
            while not api.messages(CHANNEL, "UMEMBER"):  # noqa: ASYNC110
                await asyncio.sleep(0.02)
        assert "Contact Center 1" in api.messages(CHANNEL, "UMEMBER")[-1]["text"]
        assert api.made("users.info")[-1]["user"] == "UMEMBER"
    finally:
        await handler.close_async()  # type: ignore[no-untyped-call]
        await sockets.cleanup()


async def test_the_socket_mode_launch_starts_answers_and_stops(
    api: FakeSlackApi, services: Context
) -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, SLACK_BOT_TOKEN=TOKEN, SLACK_APP_TOKEN=APP_TOKEN, SLACK_API_URL=api.api_url
    )
    launch = await slack_launch(services, settings, socket=True)
    assert launch.routes == [] and "Socket Mode" in launch.banner
    sockets = await api.serve_sockets()
    jobs = await start_all([launch])
    try:
        url = api.hook_url(CHANNEL, "UMEMBER")
        await api.send_envelope("slash_commands", command("UMEMBER", url), "e2")
        async with asyncio.timeout(10):
            while not api.messages(CHANNEL, "UMEMBER"):  # noqa: ASYNC110
                await asyncio.sleep(0.02)
    finally:
        await stop_all([launch], jobs)
        await sockets.cleanup()
    assert "Contact Center 1" in api.messages(CHANNEL, "UMEMBER")[-1]["text"]
    assert all(job.done() for job in jobs)

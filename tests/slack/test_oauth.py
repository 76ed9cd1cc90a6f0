"""Installing into a workspace through OAuth: the install link, the redirect, then requests
authorized with the stored bot token; installations and states live in planbot's database,
in the tables migration 0005 makes (tests/integration/test_migrations.py holds it to
slack-sdk's builders, so here they come from those builders directly, which is faster)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import inspect, select

from adapters.slack.bot import build_app
from adapters.slack.http import slack_routes
from adapters.slack.oauth import INSTALL_PATH, REDIRECT_PATH, oauth_settings, slack_metadata
from adapters.web import create_app
from core.db import Database
from core.migrate import SLACK_TABLES
from core.model import Workspace
from core.ports import Notice
from core.services.context import Context
from tests.slack.conftest import PUBLIC_URL, SECRET, ProbedBot, Slack, install
from tests.slack.fake_api import TEAM, FakeSlackApi


async def table_names(db: Database) -> set[str]:
    async with db.engine.connect() as connection:
        return set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))


@pytest.fixture
async def installable(
    api: FakeSlackApi, services: Context, slack_tables: None
) -> AsyncIterator[Slack]:
    settings, installations = await oauth_settings(services.db.engine, "111.222", "shh")
    app = build_app(signing_secret=SECRET, token=None, api_url=api.api_url, oauth=settings)
    bot = ProbedBot(services, app, installations=installations)
    await bot.open()
    web = create_app(services, routes=slack_routes(bot, SECRET))
    harness = Slack(api, services, bot=bot)
    harness.http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=web), base_url=PUBLIC_URL.replace("http:", "https:")
    )
    yield harness
    await harness.http.aclose()
    await bot.close()


async def test_a_workspace_installs_the_app_and_uses_it(
    installable: Slack, api: FakeSlackApi
) -> None:
    done = await install(installable)
    assert done.status_code == 200, done.text
    assert api.made("oauth.v2.access")
    text = await installable.command("UMEMBER", "")
    assert "Contact Center 1" in text


async def test_a_forged_state_installs_nothing(installable: Slack, api: FakeSlackApi) -> None:
    assert installable.http is not None
    await installable.http.get(INSTALL_PATH)
    answer = await installable.http.get(REDIRECT_PATH, params={"code": "c0de", "state": "forged"})
    assert 400 <= answer.status_code < 500
    assert api.made("oauth.v2.access") == []


async def test_requests_from_a_workspace_that_never_installed_do_nothing(
    installable: Slack, api: FakeSlackApi
) -> None:
    response = await installable.post_form(installable.command_form("UMEMBER", ""))
    assert response.status_code < 500
    assert installable.bot is not None and installable.bot.done == 0
    shown = api.messages("C0BILLING", "UMEMBER")
    assert [m["text"] for m in shown if "reinstall this app" not in m["text"]] == []
    assert TEAM


async def test_notices_go_out_with_the_installed_workspaces_token(
    installable: Slack, api: FakeSlackApi, services: Context
) -> None:
    assert (await install(installable)).status_code == 200
    await installable.command("UMEMBER", "")
    async with services.db.unit_of_work() as session:
        workspace_id = await session.scalar(
            select(Workspace.id).where(Workspace.external_id == TEAM)
        )
    assert workspace_id is not None
    await services.notifier.notify(
        Notice(
            "payment.failed",
            workspace_id,
            "slack",
            "C0BILLING:UMEMBER",
            {"order": "A-1", "package": "cc1"},
        )
    )
    assert installable.bot is not None
    assert await installable.bot.deliver_notices() == 1
    posted = api.made("chat.postMessage")[-1]
    assert posted["channel"] == "UMEMBER" and "A-1" in posted["text"]


async def test_starting_oauth_leaves_the_tables_to_the_migrations(services: Context) -> None:
    async with services.db.engine.begin() as connection:
        await connection.run_sync(slack_metadata().drop_all)

    await oauth_settings(services.db.engine, "111.222", "shh")

    assert await table_names(services.db) & SLACK_TABLES == set()


async def test_uninstalling_deletes_the_workspaces_bot_token(
    installable: Slack, api: FakeSlackApi
) -> None:
    assert (await install(installable)).status_code == 200
    assert installable.bot is not None and installable.bot.installations is not None
    store = installable.bot.installations
    assert await store.async_find_bot(enterprise_id=None, team_id=TEAM) is not None
    event = {
        "type": "event_callback",
        "token": "legacy",
        "team_id": TEAM,
        "api_app_id": "APLANBOT",
        "event": {"type": "app_uninstalled", "event_ts": "1768471200.1"},
        "event_id": "Ev0UNINSTALL",
        "event_time": 1768471200,
    }
    assert (await installable.post_event(event)).status_code == 200
    async with asyncio.timeout(10):
        while await store.async_find_bot(enterprise_id=None, team_id=TEAM):  # noqa: ASYNC110
            await asyncio.sleep(0.02)
    answer = await installable.post_form(installable.command_form("UMEMBER", ""))
    assert answer.status_code < 500 and installable.bot.done == 0

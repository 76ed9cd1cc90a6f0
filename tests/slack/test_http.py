"""HTTP mode: signatures, junk, url_verification, acks before the slow work, Web API errors."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from sqlalchemy import select

from bot.vocabulary import Incoming, Reply
from core.model import Member
from core.services.context import Context
from tests.slack.conftest import CHANNEL, Slack, sign
from tests.slack.fake_api import FakeSlackApi

USER = "UADMIN"


async def test_url_verification_answers_the_challenge(slack: Slack) -> None:
    response = await slack.post_event(
        {"token": "legacy", "challenge": "abc123", "type": "url_verification"}
    )
    assert response.status_code == 200
    assert "abc123" in response.text


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v0=00"},
        "forged",
        "stale",
    ],
)
async def test_bad_signatures_get_401_and_nothing_runs(
    slack: Slack, api: FakeSlackApi, headers: Any
) -> None:
    from urllib.parse import urlencode

    body = urlencode(slack.command_form(USER, "upgrade"))
    if headers == "forged":
        headers = sign(body, secret="not-the-secret")
    elif headers == "stale":
        headers = sign(body, at=int(time.time()) - 600)
    response = await slack.post(body, "application/x-www-form-urlencoded", headers=headers)
    assert response.status_code == 401
    await asyncio.sleep(0.1)
    assert api.calls == []
    assert slack.bot is not None and slack.bot.done == 0


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("{not json", "application/json"),
        ("payload=%7Bnot-json", "application/x-www-form-urlencoded"),
        ("payload=%5B1%2C2%5D", "application/x-www-form-urlencoded"),
        ('{"type": "event_callback", "event": "x"}', "application/json"),
        ("\xff\xfe", "text/plain"),
        ("", "application/json"),
    ],
)
async def test_signed_junk_never_gets_a_5xx(slack: Slack, body: str, content_type: str) -> None:
    response = await slack.post(body, content_type)
    assert response.status_code < 500


async def test_unsigned_junk_gets_401(slack: Slack) -> None:
    assert slack.http is not None
    response = await slack.http.post("/slack/events", content=b"\x00\x01junk")
    assert response.status_code == 401


async def test_the_ack_returns_before_the_slow_work_finishes(
    slack: Slack, api: FakeSlackApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert slack.bot is not None
    engine = slack.bot.engine
    release = asyncio.Event()
    handle = engine.handle

    async def slow(incoming: Incoming) -> list[Reply]:
        await release.wait()
        return await handle(incoming)

    monkeypatch.setattr(engine, "handle", slow)
    response = await asyncio.wait_for(slack.post_form(slack.command_form(USER, "")), 3)
    assert response.status_code == 200
    assert slack.bot.done == 0 and api.messages(CHANNEL, USER) == []
    release.set()
    await slack.settle(0)
    assert len(api.messages(CHANNEL, USER)) == 1


async def test_a_bad_quantity_comes_back_in_the_view_submission_ack(
    slack: Slack, api: FakeSlackApi, services: Context
) -> None:
    api.admins.add(USER)
    await slack.command(USER, "upgrade")
    await slack.tap(USER, "Contact Center 1")
    await slack.tap(USER, "1 month: $15.00 per account")
    view = await slack.open_number(USER)
    meta = json.loads(view["private_metadata"])
    done = slack.bot.done if slack.bot else 0
    for bad in ("0", "abc", "1.5", str(meta["max"] + 1)):
        response, _ = await slack.submit(USER, view, bad)
        assert response.status_code == 200
        answer = response.json()
        assert answer["response_action"] == "errors"
        assert set(answer["errors"]) == {"quantity"}
    assert slack.bot is not None and slack.bot.done == done
    response, text = await slack.submit(USER, view, "5")
    assert not response.content
    assert "$75.00" in text


async def test_rate_limits_are_waited_out(slack: Slack, api: FakeSlackApi) -> None:
    api.fail("users.info", "ratelimited")
    text = await slack.command(USER, "")
    assert "Contact Center 1" in text
    failed = [c for c in api.refused if c.args.get("failed") == "ratelimited"]
    assert len(failed) == 1


async def test_invalid_auth_is_logged_not_raised(slack: Slack, api: FakeSlackApi) -> None:
    api.fail("users.info", "invalid_auth")
    api.fail("chat.postEphemeral", "invalid_auth")
    assert slack.bot is not None
    form = slack.command_form(USER, "")
    api.expired.add(form["response_url"].rpartition("/")[2])
    response = await slack.post_form(form)
    assert response.status_code == 200
    await slack.settle(0)
    assert api.made("chat.postEphemeral") == []
    assert [c.method for c in api.refused] == ["users.info", "chat.postEphemeral"]
    # The next request works again, the user counted as a member.
    assert "Contact Center 1" in await slack.command(USER, "")


async def test_roles_come_from_users_info_cached_briefly(
    slack: Slack, api: FakeSlackApi, services: Context
) -> None:
    api.admins.add(USER)
    await slack.command(USER, "")
    await slack.command(USER, "details")
    assert len(api.made("users.info")) == 1
    assert slack.bot is not None
    slack.bot.people.forget()  # the cache lapsing
    api.admins.discard(USER)
    await slack.command(USER, "")
    assert len(api.made("users.info")) == 2
    async with services.db.unit_of_work() as session:
        role = await session.scalar(select(Member.role).where(Member.user_id == USER))
    assert role == "member"  # no longer a Slack admin, no longer a billing admin
    assert "billing admin" in (await slack.command(USER, "upgrade")).lower()

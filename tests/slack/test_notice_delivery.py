"""Notices through slack-sdk and the fake Slack API (DESIGN 14): 429 is waited out with its
Retry-After and sent once, a channel the app cannot post in is failed and never retried, a
refused connection is retried, and errors after the request left are unknown."""

from __future__ import annotations

from datetime import timedelta

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse
from sqlalchemy import select

from adapters.slack.bot import SlackBot, build_app
from adapters.slack.delivery import outcome_of
from core.access import Actor
from core.clock import FixedClock
from core.model import OutboxNotice
from core.ports import Notice
from core.services.context import Context
from core.services.outbox import Failed, OutboxNotifier, RetryLater, Unknown
from core.services.workspaces import create_workspace
from core.states import NoticeState
from tests.slack.conftest import SECRET, Slack
from tests.slack.fake_api import TOKEN, FakeSlackApi

KIND = "account.note"
"""A kind with no renderer of its own: the generic words."""
DM = "D0OWNER:U0OWNER"


async def enqueue(ctx: Context, chats: list[str]) -> None:
    workspace_id = await create_workspace(ctx, Actor("slack", "U0OWNER"), "Acme")
    await OutboxNotifier(ctx.db, ctx.clock).notify_all(
        [
            Notice(KIND, workspace_id, "slack", chat, {}, subject=f"note:{n}")
            for n, chat in enumerate(chats)
        ]
    )


async def states(ctx: Context) -> list[tuple[NoticeState, int, str | None]]:
    async with ctx.db.read() as session:
        rows = await session.scalars(select(OutboxNotice).order_by(OutboxNotice.id))
        return [(r.state, r.attempts, r.error) for r in rows]


def posted(api: FakeSlackApi) -> list[str]:
    return [str(c.args["channel"]) for c in api.calls if c.method == "chat.postMessage"]


async def test_rate_limited_is_retried_after_retry_after_and_posted_once(
    slack: Slack, api: FakeSlackApi, services: Context, clock: FixedClock
) -> None:
    api.fail("chat.postMessage", "ratelimited")
    await enqueue(services, [DM])
    assert slack.bot is not None
    assert await slack.bot.deliver_notices() == 1
    assert await states(services) == [(NoticeState.PENDING, 1, "429 ratelimited")]
    assert await slack.bot.deliver_notices() == 0  # not before Retry-After
    clock.advance(timedelta(seconds=1))
    assert await slack.bot.deliver_notices() == 1
    assert posted(api) == ["U0OWNER"]
    assert [s for s, _, _ in await states(services)] == [NoticeState.SENT]


@pytest.mark.parametrize("error", ["channel_not_found", "not_in_channel", "is_archived"])
async def test_a_channel_the_app_cannot_post_in_is_failed_and_not_retried(
    slack: Slack, api: FakeSlackApi, services: Context, clock: FixedClock, error: str
) -> None:
    api.fail("chat.postMessage", error)
    await enqueue(services, [DM])
    assert slack.bot is not None
    assert await slack.bot.deliver_notices() == 1
    clock.advance(timedelta(days=1))
    assert await slack.bot.deliver_notices() == 0
    assert await states(services) == [(NoticeState.FAILED, 0, error)]
    assert len(api.refused) == 1 and posted(api) == []


async def test_a_refused_connection_is_retried(
    slack: Slack, api: FakeSlackApi, services: Context, clock: FixedClock
) -> None:
    await enqueue(services, [DM])
    unreachable = SlackBot(
        services, build_app(signing_secret=SECRET, token=TOKEN, api_url="http://127.0.0.1:9/")
    )
    await unreachable.open()
    try:
        assert await unreachable.deliver_notices() == 1
    finally:
        await unreachable.close()  # gives the sender's lease up
    ((state, attempts, error),) = await states(services)
    assert (state, attempts) == (NoticeState.PENDING, 1)
    assert error is not None and "before the request left" in error
    clock.advance(timedelta(seconds=5))
    assert slack.bot is not None
    assert await slack.bot.deliver_notices() == 1
    assert posted(api) == ["U0OWNER"]


def _api_error(status: int, error: str, headers: dict[str, str] | None = None) -> SlackApiError:
    response = AsyncSlackResponse(
        client=AsyncWebClient(),
        http_verb="POST",
        api_url="http://127.0.0.1/chat.postMessage",
        req_args={},
        data={"ok": False, "error": error},
        headers=headers or {},
        status_code=status,
    )
    return SlackApiError(error, response)


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (_api_error(429, "ratelimited", {"Retry-After": "30"}), RetryLater),
        (_api_error(200, "account_inactive"), Failed),
        (_api_error(200, "channel_not_found"), Failed),
        (_api_error(503, "service_unavailable"), Unknown),
        (aiohttp.ServerDisconnectedError(), Unknown),
        (TimeoutError(), Unknown),
    ],
)
def test_slack_errors_map_to_outcomes(
    error: SlackApiError | aiohttp.ClientError | TimeoutError, outcome: type
) -> None:
    found = outcome_of(error)
    assert isinstance(found, outcome)
    if isinstance(found, RetryLater):
        assert found.wait == timedelta(seconds=30)

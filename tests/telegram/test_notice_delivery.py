"""Notices through PTB and the fake Bot API (DESIGN 14): a blocked bot is failed and never
retried, flood control is waited out once, a refused connection is retried, errors map to
outcomes, and the bot's notices keep within Telegram's pace measured where they arrive."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from itertools import pairwise

import httpx
import pytest
from sqlalchemy import select
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from adapters.telegram.bot import TelegramBot
from adapters.telegram.modes import build_application
from adapters.telegram.notices import outcome_of
from core.access import Actor
from core.clock import FixedClock
from core.model import OutboxNotice
from core.ports import Notice
from core.services.context import Context
from core.services.outbox import Failed, OutboxNotifier, RetryLater, Unknown
from core.services.workspaces import create_workspace
from core.states import NoticeState
from tests.telegram.fake_api import TOKEN, FakeBotApi

KIND = "account.note"
"""A kind with no renderer of its own: the generic words, which any chat can be sent."""
GROUP = -100777


async def a_bot(ctx: Context, url: str) -> TelegramBot:
    return TelegramBot(ctx, build_application(TOKEN, url, polling=False))


async def enqueue(ctx: Context, chats: list[int]) -> None:
    workspace_id = await create_workspace(ctx, Actor("telegram", "1001"), "Acme")
    await OutboxNotifier(ctx.db, ctx.clock).notify_all(
        [
            Notice(KIND, workspace_id, "telegram", str(chat), {}, subject=f"note:{n}")
            for n, chat in enumerate(chats)
        ]
    )


async def rows(ctx: Context) -> list[OutboxNotice]:
    async with ctx.db.read() as session:
        return list(await session.scalars(select(OutboxNotice).order_by(OutboxNotice.id)))


def sent_to(api: FakeBotApi) -> list[int]:
    return [int(c.params["chat_id"]) for c in api.calls if c.method == "sendMessage"]


async def test_a_blocked_bot_is_failed_and_never_retried(
    api: FakeBotApi, services: Context, clock: FixedClock
) -> None:
    api.blocked.add(2001)
    await enqueue(services, [2001, 2002])
    bot = await a_bot(services, api.url)
    assert await bot.deliver_notices() == 2
    clock.advance(timedelta(days=1))
    assert await bot.deliver_notices() == 0
    assert sorted(sent_to(api)) == [2001, 2002]
    blocked, told = await rows(services)
    assert (blocked.state, told.state) == (NoticeState.FAILED, NoticeState.SENT)
    assert blocked.error is not None and "blocked" in blocked.error


async def test_flood_control_is_waited_out_and_the_notice_sent_once(
    api: FakeBotApi, services: Context, clock: FixedClock
) -> None:
    api.flood["sendMessage"] = 1
    await enqueue(services, [2001])
    bot = await a_bot(services, api.url)
    assert await bot.deliver_notices() == 1
    (waiting,) = await rows(services)
    assert (waiting.state, waiting.attempts, waiting.attempted_at) == (
        NoticeState.PENDING,
        1,
        None,
    )
    assert waiting.send_after == clock.now() + timedelta(seconds=1)
    assert await bot.deliver_notices() == 0  # not before Telegram's wait
    clock.advance(timedelta(seconds=1))
    assert await bot.deliver_notices() == 1
    assert len(api.texts(2001)) == 1
    assert sent_to(api) == [2001, 2001]  # the refused one, then the one accepted
    assert [r.state for r in await rows(services)] == [NoticeState.SENT]


async def test_a_refused_connection_is_retried_by_the_next_sender(
    api: FakeBotApi, services: Context, clock: FixedClock
) -> None:
    await enqueue(services, [2001])
    unreachable = await a_bot(services, "http://127.0.0.1:9")
    assert await unreachable.deliver_notices() == 1
    (waiting,) = await rows(services)
    assert (waiting.state, waiting.attempts) == (NoticeState.PENDING, 1)
    assert waiting.error is not None and "ConnectError" in waiting.error
    await unreachable.let_go_of_notices()
    clock.advance(timedelta(seconds=5))
    assert await (await a_bot(services, api.url)).deliver_notices() == 1
    assert len(api.texts(2001)) == 1
    assert (await rows(services))[0].state == NoticeState.SENT


async def test_only_the_holder_of_the_bots_lease_sends(
    api: FakeBotApi, services: Context, clock: FixedClock
) -> None:
    await enqueue(services, [2001, 2002])
    first, second = await a_bot(services, api.url), await a_bot(services, api.url)
    assert await first.deliver_notices() == 2
    await enqueue_more(services, 2003)
    assert await second.deliver_notices() == 0  # the first still holds the bot's lease
    assert await first.deliver_notices() == 1
    assert sorted(sent_to(api)) == [2001, 2002, 2003]


async def enqueue_more(ctx: Context, chat: int) -> None:
    async with ctx.db.read() as session:
        workspace_id = (await session.scalars(select(OutboxNotice.workspace_id))).first()
    assert workspace_id is not None
    await OutboxNotifier(ctx.db, ctx.clock).notify(
        Notice(KIND, workspace_id, "telegram", str(chat), {}, subject="note:more")
    )


def _caused(error: NetworkError, cause: Exception) -> NetworkError:
    error.__cause__ = cause
    return error


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (Forbidden("Forbidden: bot was blocked by the user"), Failed),
        (Forbidden("Forbidden: bot was kicked from the group chat"), Failed),
        (BadRequest("Bad Request: chat not found"), Failed),
        (RetryAfter(7), RetryLater),
        (_caused(NetworkError("httpx.ConnectError: refused"), httpx.ConnectError("x")), RetryLater),
        (_caused(TimedOut(), httpx.PoolTimeout("x")), RetryLater),
        (_caused(TimedOut(), httpx.ReadTimeout("x")), Unknown),
        (
            _caused(NetworkError("httpx.RemoteProtocolError"), httpx.RemoteProtocolError("x")),
            Unknown,
        ),
    ],
)
def test_ptb_errors_map_to_outcomes(error: Exception, outcome: type) -> None:
    assert isinstance(error, Forbidden | BadRequest | RetryAfter | NetworkError)
    found = outcome_of(error)
    assert isinstance(found, outcome)
    if isinstance(found, RetryLater) and isinstance(error, RetryAfter):
        assert found.wait == timedelta(seconds=7)


async def test_the_bots_notices_keep_telegrams_pace_where_they_arrive(
    api: FakeBotApi, services: Context
) -> None:
    chats = [2000 + n for n in range(60)] + [2000, 2000, GROUP, GROUP]
    await enqueue(services, chats)
    bot = await a_bot(services, api.url)
    assert await bot.deliver_notices() == len(chats)
    arrived = [(c.at, int(c.params["chat_id"])) for c in api.calls if c.method == "sendMessage"]
    assert sorted(chat for _, chat in arrived) == sorted(chats)
    times = [at for at, _ in arrived]
    busiest = max(sum(1 for t in times if start <= t < start + 1) for start in times)
    assert busiest <= 30
    assert times[-1] - times[0] >= (len(chats) - 31) / 30  # paced, not sent in one burst
    by_chat: defaultdict[int, list[float]] = defaultdict(list)
    for at, chat in arrived:
        by_chat[chat].append(at)
    gaps = {
        chat: min(b - a for a, b in pairwise(ts)) for chat, ts in by_chat.items() if len(ts) > 1
    }
    assert gaps[2000] >= 1.0
    assert gaps[GROUP] >= 3.0  # 20 a minute in a group

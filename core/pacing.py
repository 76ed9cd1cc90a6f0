"""Pacing a bot's notices to its platform's limits: spaced overall, per chat and per group.

The overall limit is a leaky bucket of capacity one (aiolimiter), so requests are evenly spaced
and no second ever holds more than the rate (a bucket that allows bursts lets through nearly
twice its rate in one second after an idle spell); each chat's gap counts from its last send.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from aiolimiter import AsyncLimiter

KEEP_CHATS = 4096
"""Chats whose last message time is kept; beyond this the ones past their gap are let go."""
SLACK = 0.05
"""Seconds added to each chat's gap, so request timing jitter never lands two in one second."""


@dataclass(frozen=True, slots=True)
class Pace:
    """A platform's limits for one bot, as messages per second."""

    overall: float | None
    """Messages a second across all chats (None: no overall limit)."""
    per_chat: float
    per_group: float | None = None
    """For group chats, instead of `per_chat` (Telegram: 20 a minute)."""
    is_group: Callable[[str], bool] = lambda chat: False


TELEGRAM_NOTICE_PACE = Pace(
    overall=28.0,
    per_chat=1.0,
    per_group=20 / 60,
    is_group=lambda chat: chat.startswith("-"),
)
"""Telegram allows about 30 messages a second for a bot, 1 a second in a chat, 20 a minute in
a group (negative chat ids). The bot's one notice sender keeps 2 a second below the overall
limit, so request timing jitter never puts 31 into a second; replies to a person's own update
keep their own per-process pacing (PTB's rate limiter) on top."""

SLACK_NOTICE_PACE = Pace(overall=None, per_chat=1.0)
"""Slack: about one message a second in a channel."""


class Pacer:
    """Waits until a message may go to a chat under a Pace; shared by one sender's tasks, each
    chat's messages sent one after another by one task."""

    def __init__(self, pace: Pace) -> None:
        self.pace = pace
        self._overall = None if pace.overall is None else AsyncLimiter(1, 1 / pace.overall)
        self._last: dict[str, float] = {}
        """When each chat's latest message went, on the event loop's clock."""

    def _gap(self, chat: str) -> float:
        group = self.pace.per_group is not None and self.pace.is_group(chat)
        rate = self.pace.per_group if group and self.pace.per_group else self.pace.per_chat
        return SLACK + 1 / rate

    async def wait(self, chat: str) -> None:
        """The chat's turn first, then the bot's (a chat waiting holds no overall slot); the
        chat's gap counts from when its message actually goes."""
        loop = asyncio.get_running_loop()
        last = self._last.get(chat)
        if last is not None:
            await asyncio.sleep(max(0.0, last + self._gap(chat) - loop.time()))
        if self._overall is not None:
            await self._overall.acquire()
        self._forget_idle(loop.time())
        self._last[chat] = loop.time()

    def _forget_idle(self, now: float) -> None:
        if len(self._last) >= KEEP_CHATS:
            longest = SLACK + 1 / min(self.pace.per_chat, self.pace.per_group or self.pace.per_chat)
            self._last = {c: at for c, at in self._last.items() if now - at < longest}

"""Pacing a bot's notices to its platform's limits: spaced overall, per chat and per group.

Spacing is kept where it counts, at the moment each request leaves: a sender's requests pass
one gate in turn, each at least 1/rate after the one before and each chat's at least its gap
after that chat's last. A token bucket that admits a request before a step of varying length
(the commit that marks it attempted) lets requests bunch after it, and one that allows bursts
lets through nearly twice its rate in one second after an idle spell; neither holds the limit
as the platform counts it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

KEEP_CHATS = 4096
"""Chats whose last request time is kept; beyond this the ones past their gap are let go."""
SLACK = 0.05
"""Seconds added to each chat's gap, for the jitter between leaving and arriving."""

Step = Callable[[], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Pace:
    """A platform's limits for one bot, as requests per second."""

    overall: float | None
    """Across all chats (None: no overall limit)."""
    per_chat: float
    per_group: float | None = None
    """For group chats, instead of `per_chat` (Telegram: 20 a minute)."""
    is_group: Callable[[str], bool] = lambda chat: False


TELEGRAM_NOTICE_PACE = Pace(
    overall=29.0,
    per_chat=1.0,
    per_group=20 / 60,
    is_group=lambda chat: chat.startswith("-"),
)
"""Telegram allows about 30 messages a second for a bot, 1 a second in a chat, 20 a minute in
a group (negative chat ids). The bot's one notice sender spaces its requests at least 1/29 s
apart, so no second can hold more than 30 whatever the timing jitter; replies to a person's
own update keep their own per-process pacing (PTB's rate limiter) on top."""

SLACK_NOTICE_PACE = Pace(overall=None, per_chat=1.0)
"""Slack: about one message a second in a channel."""


class Pacer:
    """The gate a sender's requests leave through; each chat's requests come from one task."""

    def __init__(self, pace: Pace) -> None:
        self.pace = pace
        self._gate = asyncio.Lock()
        self._left: float | None = None
        """When the latest request left, on the event loop's clock."""
        self._chats: dict[str, float] = {}
        """When each chat's latest request left."""

    def _gap(self, chat: str) -> float:
        group = self.pace.per_group is not None and self.pace.is_group(chat)
        rate = self.pace.per_group if group and self.pace.per_group else self.pace.per_chat
        return SLACK + 1 / rate

    async def turn(self, chat: str, step: Step | None = None) -> None:
        """Wait for the chat's turn (holding nothing), then at the gate run `step` (short: it
        overlaps the spacing after the request before) and wait for the bot's turn; return
        as the request may leave."""
        loop = asyncio.get_running_loop()
        last = self._chats.get(chat)
        if last is not None:
            await asyncio.sleep(max(0.0, last + self._gap(chat) - loop.time()))
        async with self._gate:
            if step is not None:
                await step()  # while the one before is still within its spacing
            if self._left is not None and self.pace.overall is not None:
                await asyncio.sleep(max(0.0, self._left + 1 / self.pace.overall - loop.time()))
            now = loop.time()
            self._left = now
            self._forget_idle(now)
            self._chats[chat] = now

    def _forget_idle(self, now: float) -> None:
        if len(self._chats) >= KEEP_CHATS:
            longest = max(self._gap(""), self._gap("-"))
            self._chats = {c: at for c, at in self._chats.items() if now - at < longest}

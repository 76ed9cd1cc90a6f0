"""Loops that keep going for the life of the process: background jobs (notice delivery, the
sweep) whose failure is logged and tried again next time, and start-up steps retried with
backoff while a platform's API cannot be reached."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

log = logging.getLogger("planbot")
Sleep = Callable[[float], Awaitable[object]]
ERROR_CHARS = 300


async def repeat(job: Callable[[], Awaitable[object]], every: float, what: str) -> None:
    """Run `job`, wait `every` seconds, and again, until cancelled."""
    while True:
        try:
            await job()
        except Exception:
            log.exception("%s failed; trying again in %s s", what, every)
        await asyncio.sleep(every)


@dataclass(frozen=True, slots=True)
class Backoff:
    """Waits that double after each failure up to `cap`, shortened at random by up to
    `jitter` so that several workers restarted together do not retry in step."""

    first: float = 1.0
    factor: float = 2.0
    cap: float = 60.0
    jitter: float = 0.2
    draw: Callable[[], float] = random.random
    """A number in [0, 1): how much of the jitter this wait takes."""

    def delay(self, attempt: int) -> float:
        """The wait after failed attempt number `attempt` (from 1)."""
        exponent = min(attempt - 1, 64)  # far past any cap, and no float overflow
        base = min(self.cap, self.first * self.factor**exponent)
        return base * (1 - self.jitter * self.draw())


def one_line(error: BaseException, secrets: tuple[str, ...] = ()) -> str:
    """An error as one short log line, with `secrets` (tokens a message may quote) hidden."""
    text = " ".join(f"{type(error).__name__}: {error}".split())
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text if len(text) <= ERROR_CHARS else text[: ERROR_CHARS - 1] + "…"


async def keep_trying(
    step: Callable[[], Awaitable[object]],
    what: str,
    *,
    backoff: Backoff,
    sleep: Sleep = asyncio.sleep,
    failed: Callable[[int, str], object] = lambda attempt, error: None,
    secrets: tuple[str, ...] = (),
) -> int:
    """Run `step` until it succeeds, waiting `backoff` between attempts; each failure is one
    warning line (no traceback) and a call of `failed(attempt, error)`. Returns the attempts."""
    attempt = 0
    while True:
        attempt += 1
        try:
            await step()
        except Exception as exc:
            error = one_line(exc, secrets)
            wait = backoff.delay(attempt)
            log.warning(
                "%s failed (attempt %d): %s; trying again in %.1f s", what, attempt, error, wait
            )
            failed(attempt, error)
            await sleep(wait)
        else:
            return attempt

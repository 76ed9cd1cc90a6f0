"""The bot keeps within Telegram's flood limits by itself (about 30 messages a second
overall, 20 a minute in each group) instead of only waiting out RetryAfter afterwards."""

from __future__ import annotations

from telegram.ext import AIORateLimiter

from adapters.telegram.modes import build_application


def test_the_application_paces_itself_to_telegrams_limits() -> None:
    application = build_application("123:abc", "http://127.0.0.1:9", polling=False)
    limiter = application.bot.rate_limiter
    assert isinstance(limiter, AIORateLimiter)
    overall = limiter._base_limiter
    assert (overall.max_rate, overall.time_period) == (30, 1)
    assert (limiter._group_max_rate, limiter._group_time_period) == (20, 60)
    assert limiter._max_retries == 0  # RetryAfter: retried by delivery


def test_pacing_can_be_left_off_for_a_local_bot_api_server() -> None:
    application = build_application("123:abc", "http://127.0.0.1:9", polling=False, paced=False)
    assert application.bot.rate_limiter is None

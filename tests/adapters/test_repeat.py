"""Background jobs survive their failures: a sweep or notice delivery that raises once is
logged and runs again, instead of the loop dying for the rest of the process."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import pytest

from adapters.repeat import repeat


async def test_a_failing_job_is_logged_and_run_again(caplog: pytest.LogCaptureFixture) -> None:
    runs: list[int] = []
    second = asyncio.Event()

    async def job() -> None:
        runs.append(len(runs))
        if len(runs) == 1:
            raise RuntimeError("database went away")
        second.set()

    task = asyncio.create_task(repeat(job, 0, "the sweep"))
    with caplog.at_level(logging.ERROR, logger="planbot"):
        async with asyncio.timeout(5):
            await second.wait()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert len(runs) >= 2
    assert "the sweep failed" in caplog.text and "database went away" in caplog.text

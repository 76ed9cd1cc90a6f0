"""The console's input: lines from a pipe as they come, a wait for the next line that a stop
cancels at once, and bytes that are not UTF-8 read rather than fatal."""

from __future__ import annotations

import array
import asyncio
import contextlib
import fcntl
import io
import os
import termios
from collections.abc import Iterator

import pytest

from adapters.console import read_lines


async def drained(source: io.TextIOWrapper) -> None:
    """Until the reader has taken every byte written so far out of the pipe."""
    waiting = array.array("i", [1])
    while waiting[0]:
        await asyncio.sleep(0.01)
        fcntl.ioctl(source.fileno(), termios.FIONREAD, waiting)


@pytest.fixture
def pipe() -> Iterator[tuple[io.TextIOWrapper, int]]:
    """The reading end as a text stream, like sys.stdin, and the writing end's descriptor."""
    reading, writing = os.pipe()
    source = open(reading, encoding="utf-8")  # noqa: SIM115
    yield source, writing
    with contextlib.suppress(OSError):
        os.close(writing)
    source.close()


async def test_lines_from_a_pipe_end_at_end_of_input_with_the_last_one_unterminated(
    pipe: tuple[io.TextIOWrapper, int],
) -> None:
    source, writing = pipe
    os.write(writing, b"/plans\nContact Ce")
    os.write(writing, b"nter 2\n12 m")
    os.close(writing)
    lines = [line async for line in read_lines(source)]
    assert lines == ["/plans\n", "Contact Center 2\n", "12 m"]


async def test_waiting_for_a_line_is_cancelled_at_once(
    pipe: tuple[io.TextIOWrapper, int],
) -> None:
    source, _ = pipe
    lines = read_lines(source)
    waiting = asyncio.create_task(anext(lines))
    await asyncio.sleep(0)
    assert not waiting.done()
    waiting.cancel()
    async with asyncio.timeout(1):
        with pytest.raises(asyncio.CancelledError):
            await waiting


async def test_a_character_split_between_reads_and_bytes_that_are_not_utf8(
    pipe: tuple[io.TextIOWrapper, int],
) -> None:
    source, writing = pipe
    dong = "đồng\n".encode()
    lines = read_lines(source)
    first = asyncio.create_task(anext(lines))
    os.write(writing, dong[:2])
    await drained(source)
    os.write(writing, dong[2:] + b"caf\xe9\n")
    os.close(writing)
    assert [await first, *[line async for line in lines]] == ["đồng\n", "caf\ufffd\n"]


async def test_a_stream_without_a_descriptor_is_read_directly() -> None:
    lines = [line async for line in read_lines(io.StringIO("/help\n/plans"))]
    assert lines == ["/help\n", "/plans"]

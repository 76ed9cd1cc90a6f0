"""`planbot run` as an operator stops it: Ctrl-C (from a terminal or to a piped process) stops
it at once and without a traceback, a second one forces a slow shutdown, and a port in use is
one line naming the port and the setting."""

from __future__ import annotations

import os
import pty
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

PLANBOT = str(Path(sys.executable).with_name("planbot"))
READY = "end with Ctrl-D"
PROMPTLY = 5.0

# `planbot run` whose database takes a minute to let go: a shutdown that a second Ctrl-C cuts.
SLOW_SHUTDOWN = """
import asyncio, sys
from core.db import Database
from adapters.cli import main

dispose = Database.dispose

async def slow_dispose(self):
    print("test: letting the database go slowly", file=sys.stderr, flush=True)
    await asyncio.sleep(60)
    await dispose(self)

Database.dispose = slow_dispose
sys.exit(main(["run"]))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def environment(tmp_path: Path, port: int) -> dict[str, str]:
    """No platform credentials (the console mode), SQLite in tmp, the web server on `port`."""
    kept = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PLANBOT_", "DATABASE_URL", "STRIPE_", "SLACK_", "TELEGRAM_"))
    }
    return {
        **kept,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'planbot.db'}",
        "PLANBOT_HOST": "127.0.0.1",
        "PLANBOT_PORT": str(port),
    }


@dataclass
class Running:
    """A planbot process with its output read as it comes, so a test waits for a line."""

    process: subprocess.Popen[bytes]
    streams: dict[int, bytearray] = field(default_factory=dict)

    def output(self) -> str:
        return b"".join(self.streams.values()).decode("utf-8", "replace")

    def wait_for(self, text: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output():
            left = deadline - time.monotonic()
            assert left > 0 and self.process.poll() is None, f"no {text!r} in:\n{self.output()}"
            self.read(min(left, 0.2))

    def read(self, timeout: float) -> None:
        ready, _, _ = select.select(list(self.streams), [], [], timeout)
        for fd in ready:
            try:
                self.streams[fd] += os.read(fd, 65536)
            except OSError:  # a terminal whose other side has closed
                del self.streams[fd]

    def finish(self, timeout: float = PROMPTLY) -> tuple[int, float]:
        """Wait for the exit, reading the rest of the output: (status, seconds it took)."""
        start = time.monotonic()
        status = self.process.wait(timeout)
        while self.streams and select.select(list(self.streams), [], [], 0)[0]:
            before = len(self.output())
            self.read(0)
            if len(self.output()) == before:
                break
        return status, time.monotonic() - start


Start = Callable[..., Running]


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Start]:
    started: list[subprocess.Popen[bytes]] = []

    def run(argv: list[str], stdin: str = "pipe", port: int | None = None) -> Running:
        env = environment(tmp_path, port or free_port())
        if stdin == "tty":
            controller, terminal = pty.openpty()
            process = subprocess.Popen(
                argv, stdin=terminal, stdout=terminal, stderr=subprocess.PIPE, env=env, cwd=tmp_path
            )
            os.close(terminal)
            out = controller
        else:
            process = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                cwd=tmp_path,
            )
            assert process.stdout is not None
            out = process.stdout.fileno()
        started.append(process)
        assert process.stderr is not None
        return Running(process, {out: bytearray(), process.stderr.fileno(): bytearray()})

    yield run
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@pytest.mark.parametrize("stdin", ["tty", "pipe"])
def test_ctrl_c_stops_the_console_at_once_without_a_traceback(start: Start, stdin: str) -> None:
    port = free_port()
    planbot = start([PLANBOT, "run"], stdin=stdin, port=port)
    planbot.wait_for(READY)
    assert not port_is_free(port)
    planbot.process.send_signal(signal.SIGINT)
    status, seconds = planbot.finish()
    assert status == 0, planbot.output()
    assert seconds < PROMPTLY
    assert "Traceback" not in planbot.output()
    assert "planbot: stopping" in planbot.output()
    assert port_is_free(port)


def test_sigterm_stops_the_console_like_ctrl_c(start: Start) -> None:
    planbot = start([PLANBOT, "run"])
    planbot.wait_for(READY)
    planbot.process.send_signal(signal.SIGTERM)
    status, _ = planbot.finish()
    assert status == 0
    assert "Traceback" not in planbot.output()


def test_a_second_ctrl_c_forces_a_slow_shutdown(start: Start) -> None:
    planbot = start([sys.executable, "-c", SLOW_SHUTDOWN])
    planbot.wait_for(READY)
    planbot.process.send_signal(signal.SIGINT)
    planbot.wait_for("letting the database go slowly")
    assert planbot.process.poll() is None
    planbot.process.send_signal(signal.SIGINT)
    status, seconds = planbot.finish()
    assert status == 128 + signal.SIGINT
    assert seconds < PROMPTLY
    assert "planbot: forced to stop" in planbot.output()
    assert "Traceback" not in planbot.output()


def test_end_of_input_still_ends_the_console_with_status_0(start: Start) -> None:
    planbot = start([PLANBOT, "run"])
    planbot.wait_for(READY)
    assert planbot.process.stdin is not None
    planbot.process.stdin.write(b"/help\n")
    planbot.process.stdin.close()
    status, _ = planbot.finish()
    assert status == 0
    assert "/plans" in planbot.output()
    assert "Traceback" not in planbot.output()


@pytest.mark.parametrize("command", ["run", "serve"])
def test_a_port_in_use_is_one_line_naming_the_port_and_the_setting(
    tmp_path: Path, command: str
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [PLANBOT, command],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            env=environment(tmp_path, port),
            cwd=tmp_path,
            timeout=30,
            check=False,
        )
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert f"port {port}" in result.stderr
    assert "PLANBOT_PORT" in result.stderr
    assert not (tmp_path / "planbot.db").exists()


def test_ctrl_c_lets_the_web_server_of_planbot_serve_finish_and_exits_0(start: Start) -> None:
    planbot = start([PLANBOT, "serve"])
    planbot.wait_for("Uvicorn running on")
    planbot.process.send_signal(signal.SIGINT)
    status, seconds = planbot.finish()
    assert status == 0, planbot.output()
    assert seconds < PROMPTLY
    assert "Application shutdown complete" in planbot.output()
    assert "Traceback" not in planbot.output()


def test_a_chat_whose_reader_has_gone_ends_quietly(tmp_path: Path) -> None:
    chat = subprocess.Popen(
        [PLANBOT, "chat", "--workspace", "acme", "--user", "alice"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=environment(tmp_path, free_port()),
        cwd=tmp_path,
    )
    assert chat.stdout is not None
    chat.stdout.close()  # as `planbot chat | head -1` does once it has its line
    _, err = chat.communicate(b"/help\n" * 20, timeout=60)
    assert chat.returncode == 128 + signal.SIGPIPE
    assert b"Traceback" not in err

"""Checkouts at once (DESIGN 11, 12): 20 users go from the review to the payment link together,
through the console adapter, the engine, SQLite and the real Stripe SDK, against the fake Stripe
answering each call after 100 ms.

Before the units of work were explicit, a chat step's Stripe calls ran inside the engine's
transaction, behind SQLite's single writer: the checkouts went one at a time. This bench runs
the same measurement against the code before that change (a git worktree at BEFORE) and against
this tree, side by side in one run.

    python -m bench.checkout_step [--quick] [--users 20] [--latency-ms 100] [--before REV]
                                  [--after REV]   (default: this tree as it is)

The measuring part is this same file run in a process of its own with the measured tree on
PYTHONPATH (`--measure`); it uses only what both trees have: the console adapter, the settings
and wiring (STRIPE_API_BASE points the SDK at the fake), and the migrations. The fake Stripe
(tests/stripe/fake_stripe.py of this tree) is served on 127.0.0.1 by a thread of the bench, so
the measured code only talks HTTP to it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bench.table import Row

ROOT = Path(__file__).resolve().parent.parent
BEFORE = "a274ef2"
USERS = 20
LATENCY_MS = 100.0
QUANTITY = "10"
ROUND_TIMEOUT_S = 60.0
RUN_TIMEOUT_S = 150.0
API_KEY = "sk_test_planbot"  # what tests/stripe/fake_stripe.py accepts
MENU_LINE = re.compile(r"^\[(\d+)\] (.+)$", re.MULTILINE)
# Settings the measured process must not take from the environment, proxies included: it
# talks to 127.0.0.1 only.
SCRUBBED = ("DATABASE_URL", "PLANBOT_", "STRIPE_", "TELEGRAM_", "SLACK_", "PYTHONPATH")
PROXIES = frozenset({"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"})


class BenchError(RuntimeError):
    """The conversation did not go as the bench expects; the message shows what was printed."""


# --- the measuring part (its own process, either tree on PYTHONPATH) ---------------------------


class Screen(io.StringIO):
    """What the console printed since the last choice, and when the payment link appeared."""

    link_at: float | None = None

    def write(self, text: str) -> int:
        if self.link_at is None and "Link: " in text:
            self.link_at = time.perf_counter()
        return super().write(text)

    def clear(self) -> None:
        self.seek(0)
        self.truncate()


def _choose(out: Screen, label: str) -> str:
    """The number the console printed for the option whose label starts with `label`."""
    screen = out.getvalue()
    pattern = re.compile(rf"{re.escape(label)}\b", re.IGNORECASE)
    numbers: list[str] = [n for n, text in MENU_LINE.findall(screen) if pattern.match(text)]
    if not numbers:
        raise BenchError(f"no option {label!r} on the console:\n{screen}")
    out.clear()
    return numbers[-1]


async def _to_review(chat: Any, out: Screen) -> str:
    """Walk a new purchase to its review; returns the number that picks Next there."""
    await chat.step("/upgrade")
    await chat.step(_choose(out, "Contact Center 2"))
    await chat.step(_choose(out, "12 months"))
    if "accounts" not in out.getvalue():
        raise BenchError(f"no quantity question:\n{out.getvalue()}")
    out.clear()
    await chat.step(QUANTITY)
    return _choose(out, "Next")


@dataclass(frozen=True)
class Checkout:
    started: float
    link_at: float
    """When the console printed the link (the step goes on to deliver the chat's notices)."""
    finished: float
    steps: tuple[float, float]


async def _to_link(
    chat: Any, out: Screen, next_choice: str, barrier: asyncio.Barrier | None
) -> Checkout:
    """From the review: Next, then Card, each a whole console step; the link must show."""
    if barrier is not None:
        await barrier.wait()
    started = time.perf_counter()
    await chat.step(next_choice)
    reviewed = time.perf_counter()
    await chat.step(_choose(out, "Card"))
    finished = time.perf_counter()
    if out.link_at is None:
        raise BenchError(f"no payment link after Card:\n{out.getvalue()}")
    return Checkout(started, out.link_at, finished, (reviewed - started, finished - reviewed))


async def _measure(stripe_url: str, database: Path, users: int, rounds: int) -> dict[str, Any]:
    # From whichever tree is on PYTHONPATH: names both trees have.
    from adapters.console import open_chat
    from adapters.settings import Settings
    from adapters.wiring import build_context
    from core.migrate import upgrade

    if not stripe_url.startswith("http://127.0.0.1:"):
        raise BenchError(f"the fake Stripe must be on 127.0.0.1, not {stripe_url}")
    url = f"sqlite+aiosqlite:///{database}"
    await asyncio.to_thread(upgrade, url)
    settings = Settings(
        _env_file=None,
        DATABASE_URL=url,
        STRIPE_SECRET_KEY=API_KEY,
        STRIPE_WEBHOOK_SECRET="whsec_bench",
        STRIPE_API_BASE=stripe_url,
    )
    ctx = build_context(settings)
    if getattr(ctx.gateway, "name", None) != "stripe":
        raise BenchError(f"the gateway is {ctx.gateway!r}, not Stripe")

    async def chat_at_review(workspace: str) -> tuple[Any, Screen, str]:
        out = Screen()
        chat = await open_chat(
            ctx, workspace=workspace, user="admin", role="admin", language="en", out=out
        )
        return chat, out, await _to_review(chat, out)

    try:
        # One checkout alone first: connections, caches and lazy imports are not measured.
        await _to_link(*(await chat_at_review("warm-up")), None)
        checkouts: list[Checkout] = []
        wall = 0.0
        for n in range(rounds):
            chats = [await chat_at_review(f"r{n}-w{u}") for u in range(users)]
            barrier = asyncio.Barrier(users)
            done = await asyncio.wait_for(
                asyncio.gather(*(_to_link(c, o, pick, barrier) for c, o, pick in chats)),
                ROUND_TIMEOUT_S,
            )
            wall += max(c.finished for c in done) - min(c.started for c in done)
            checkouts += done
    finally:
        await ctx.db.dispose()
    return {
        "users": users,
        "rounds": rounds,
        "checkouts": len(checkouts) + 1,
        "steps": 2 * len(checkouts),
        "wall_s": wall,
        "link_s": [c.link_at - c.started for c in checkouts],
        "step_s": [s for c in checkouts for s in c.steps],
    }


def measure_main(args: argparse.Namespace) -> None:
    result = asyncio.run(_measure(args.stripe_url, Path(args.database), args.users, args.rounds))
    print(json.dumps(result))


# --- the bench: fake Stripe, the old tree, both runs, one table -------------------------------


@contextlib.contextmanager
def fake_stripe(latency: float) -> Iterator[tuple[Any, str]]:
    """tests/stripe/fake_stripe.py served on 127.0.0.1 by a thread; yields (fake, base URL)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from tests.stripe.fake_stripe import API_KEY as FAKE_KEY
    from tests.stripe.fake_stripe import FakeStripe, running

    assert FAKE_KEY == API_KEY
    fake = FakeStripe(lambda: datetime.now(UTC), latency=latency)
    ready = threading.Event()
    state: dict[str, Any] = {}

    async def serve() -> None:
        stop = asyncio.Event()
        state["stop"], state["loop"] = stop, asyncio.get_running_loop()
        async with running(fake) as url:
            state["url"] = url
            ready.set()
            await stop.wait()

    def thread_main() -> None:
        try:
            asyncio.run(serve())
        except BaseException as exc:
            state["error"] = exc
        finally:
            ready.set()

    thread = threading.Thread(target=thread_main, name="fake-stripe", daemon=True)
    thread.start()
    try:
        if not ready.wait(15) or "url" not in state:
            raise BenchError(f"the fake Stripe did not start: {state.get('error')!r}")
        yield fake, state["url"]
    finally:
        if "loop" in state and thread.is_alive():
            with contextlib.suppress(RuntimeError):  # its loop may have ended already
                state["loop"].call_soon_threadsafe(state["stop"].set)
        thread.join(15)


def _git(*args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(ROOT), *args], capture_output=True, text=True, timeout=60, check=False
    )
    if done.returncode != 0:
        raise BenchError(f"git {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout.strip()


@contextlib.contextmanager
def worktree(revision: str, path: Path) -> Iterator[Path]:
    """A detached checkout of `revision` at `path`, removed afterwards whatever happens."""
    _git("worktree", "add", "--detach", str(path), revision)
    try:
        yield path
    finally:
        with contextlib.suppress(BenchError, subprocess.TimeoutExpired):
            _git("worktree", "remove", "--force", str(path))
        shutil.rmtree(path, ignore_errors=True)
        with contextlib.suppress(BenchError, subprocess.TimeoutExpired):
            _git("worktree", "prune")


@dataclass(frozen=True)
class Run:
    steps_per_s: float
    p50_ms: float
    p99_ms: float
    step_p99_ms: float
    calls_per_checkout: float


def _percentile(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] * 1000
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] * 1000


def _run(tree: Path, folder: Path, name: str, users: int, rounds: int, latency: float) -> Run:
    """The measuring part against `tree`, in a process of its own, with a fresh fake Stripe."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(SCRUBBED) and k.upper() not in PROXIES
    }
    env.update(PYTHONPATH=str(tree), NO_PROXY="127.0.0.1", no_proxy="127.0.0.1")
    command = [
        sys.executable,
        "-P",  # the measured tree comes from PYTHONPATH, not from this file's folder
        str(Path(__file__).resolve()),
        "--measure",
        "--database",
        str(folder / f"{name}.db"),
        "--users",
        str(users),
        "--rounds",
        str(rounds),
    ]
    with fake_stripe(latency) as (fake, url):
        try:
            done = subprocess.run(
                [*command, "--stripe-url", url],
                cwd=tree,
                env=env,
                capture_output=True,
                text=True,
                timeout=RUN_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise BenchError(f"{name}: no result within {RUN_TIMEOUT_S:.0f} s") from exc
        calls = len(fake.requests)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise BenchError(f"{name} ({tree}) failed:\n{done.stderr[-4000:]}")
    result = json.loads(lines[-1])
    latencies = result["link_s"]
    return Run(
        steps_per_s=result["steps"] / result["wall_s"],
        p50_ms=_percentile(latencies, 50),
        p99_ms=_percentile(latencies, 99),
        step_p99_ms=_percentile(result["step_s"], 99),
        calls_per_checkout=calls / result["checkouts"],
    )


def _label(revision: str | None) -> str:
    """A revision's short name; None is this tree as it is now (changes included)."""
    if revision is not None:
        return _git("rev-parse", "--short", revision)
    changed = _git("status", "--porcelain", "--untracked-files=no")
    return _git("rev-parse", "--short", "HEAD") + (" + changes" if changed else "")


def _rows(
    users: int, latency_ms: float, before: tuple[str, Run], after: tuple[str, Run] | None
) -> list[Row]:
    from bench.table import Row

    old_name, old = before
    rows = [
        Row(f"{old_name}: steps/s", old.steps_per_s, "steps/s"),
        Row(f"{old_name}: p50 review -> link", old.p50_ms, "ms", None, False),
        Row(f"{old_name}: p99 review -> link", old.p99_ms, "ms", None, False),
        Row(f"{old_name}: p99 per step", old.step_p99_ms, "ms", None, False),
        Row(f"{old_name}: Stripe calls per checkout", old.calls_per_checkout, "calls"),
        Row(
            f"one at a time: {users} x {old.calls_per_checkout:.1f} calls x {latency_ms:.0f} ms",
            users * old.calls_per_checkout * latency_ms,
            "ms",
        ),
    ]
    if after is None:
        return rows
    new_name, new = after
    return [
        rows[0],
        Row(f"{new_name}: steps/s", new.steps_per_s, "steps/s", old.steps_per_s),
        rows[1],
        Row(f"{new_name}: p50 review -> link", new.p50_ms, "ms", None, False),
        rows[2],
        Row(f"{new_name}: p99 review -> link", new.p99_ms, "ms", old.p99_ms, False),
        rows[3],
        Row(f"{new_name}: p99 per step", new.step_p99_ms, "ms", None, False),
        Row("speed-up: steps/s after / before", new.steps_per_s / old.steps_per_s, "x"),
        rows[4],
        Row(f"{new_name}: Stripe calls per checkout", new.calls_per_checkout, "calls"),
        rows[5],
    ]


def main(
    quick: bool = False,
    users: int = USERS,
    latency_ms: float = LATENCY_MS,
    before_revision: str = BEFORE,
    after_revision: str | None = None,
) -> None:
    """Before (a worktree at `before_revision`) then after (this tree, or `after_revision`)."""
    from bench.table import print_table

    if users < 1 or latency_ms < 0:
        raise SystemExit("checkout bench: --users must be at least 1, --latency-ms not negative")
    rounds = 1 if quick else 2
    latency = latency_ms / 1000
    title = (
        f"Checkout step: {users} users at once, review -> Next -> Card -> payment link, "
        f"SQLite, fake Stripe answering after {latency_ms:.0f} ms "
        f"({rounds} round{'s' if rounds > 1 else ''})"
    )
    before: tuple[str, Run] | None = None
    try:
        with tempfile.TemporaryDirectory(prefix="planbot-checkout-bench-") as scratch:
            folder = Path(scratch)
            with worktree(before_revision, folder / "before-tree") as tree:
                name = f"before ({_label(before_revision)})"
                before = name, _run(tree, folder, "before", users, rounds, latency)
            name = f"after ({_label(after_revision)})"
            if after_revision is None:
                after = name, _run(ROOT, folder, "after", users, rounds, latency)
            else:
                with worktree(after_revision, folder / "after-tree") as tree:
                    after = name, _run(tree, folder, "after", users, rounds, latency)
    except BenchError as error:
        if before is not None:
            print_table(title, _rows(users, latency_ms, before, None))
        raise SystemExit(f"checkout bench: {error}") from error
    print_table(title, _rows(users, latency_ms, before, after))


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--users", type=int, default=USERS)
    parser.add_argument("--latency-ms", type=float, default=LATENCY_MS)
    parser.add_argument("--before", default=BEFORE, help="the revision measured as before")
    parser.add_argument("--after", default=None, help="a revision instead of this tree")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--stripe-url", help=argparse.SUPPRESS)
    parser.add_argument("--database", help=argparse.SUPPRESS)
    parser.add_argument("--rounds", type=int, default=1, help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == "__main__":
    arguments = _arguments()
    if arguments.measure:
        measure_main(arguments)
    else:
        main(
            arguments.quick,
            arguments.users,
            arguments.latency_ms,
            arguments.before,
            arguments.after,
        )

"""Junk at every prompt of the staff changes (DESIGN 10, 12): any text, unicode digits, huge
numbers, 10 kB lines, stale and forged taps. Nothing escapes, junk moves nothing and is told
what is allowed, and what names an offered option is taken."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given

from adapters.console import PLATFORM as CONSOLE
from bot.vocabulary import Incoming
from core.money import MoneyError, parse_typed_amount
from core.services.context import Context
from tests.console.conftest import ChatFactory
from tests.console.fuzzing import Probe, Prompt, Tapped, Typed, World, inputs
from tests.console.test_prompt_fuzz import (
    BUTTONS,
    FUZZ,
    TRIAL_CC1,
    ConsoleStage,
    nasty,
    one_example,
    say,
    typed,
    worlds,
)

__all__ = ["worlds"]  # the fixture that keeps one world across a test's examples


def days(text: str) -> bool:
    digits = text.strip()
    return digits.isascii() and digits.isdigit() and len(digits) <= 12 and 1 <= int(digits) <= 365


def amount(text: str) -> bool:
    try:
        parse_typed_amount(text, "USD")
    except MoneyError:
        return False
    return True


STAGES = [
    ConsoleStage(
        "extend days",
        ("staff", "extend_value"),
        Prompt("Extend a trial by 1 to 365 days.", days),
        ("/staff extend {workspace}",),
        TRIAL_CC1,
        staff=True,
    ),
    ConsoleStage(
        "credit amount",
        ("staff", "credit_value"),
        Prompt("Type an amount in USD above zero, with at most 2 decimals, such as 12.50.", amount),
        ("/staff credit {workspace}",),
        typed("/plans"),
        staff=True,
    ),
    ConsoleStage(
        "extend preview",
        ("staff", "extend_preview"),
        Prompt("Choose one of the reasons, or Back or Cancel."),
        ("/staff extend {workspace} 3",),
        TRIAL_CC1,
        staff=True,
    ),
    ConsoleStage(
        "extend confirm",
        ("staff", "extend_confirm"),
        Prompt(BUTTONS),
        ("/staff extend {workspace} 3", "Courtesy", "Skip"),
        TRIAL_CC1,
        staff=True,
    ),
]


def staff_world(services: Context, open_console: ChatFactory, stage: ConsoleStage) -> World:
    """A customer workspace made ready by `prepare`, and a manager at the staff desk who types
    `enter` (naming that workspace) and waits at `at`."""

    async def make(n: int) -> Probe:
        workspace = f"fuzz{n}"
        await stage.prepare(await open_console(user=f"admin{n}", workspace=workspace), services)
        chat = await open_console(user=f"staff{n}", role="staff", workspace=workspace)
        console = chat.console
        who = Incoming(CONSOLE, workspace, console.chat, console.user)
        probe = Probe(services, console.engine, who, chat)
        return probe

    async def enter(probe: Probe) -> None:
        assert probe.chat is not None
        lines = [line.format(workspace=probe.who.workspace) for line in stage.enter]
        await say(probe.chat, "/cancel", *lines)
        assert (await probe.row())[2:4] == stage.at
        await probe.learn_menu()
        probe.shown = probe.chat.console.options

    return World(services, make, enter)


CASES = [pytest.param(stage, id=stage.name) for stage in STAGES]


@pytest.mark.parametrize("stage", CASES)
@FUZZ
@nasty
@given(sent=inputs())
async def test_a_staff_prompt_refuses_junk_says_what_is_allowed_and_moves_nothing(
    services: Context,
    open_console: ChatFactory,
    caplog: pytest.LogCaptureFixture,
    worlds: dict[str, Any],
    stage: ConsoleStage,
    sent: Typed | Tapped,
) -> None:
    world = worlds.setdefault("world", staff_world(services, open_console, stage))
    await one_example(world, stage.prompt, sent, caplog)

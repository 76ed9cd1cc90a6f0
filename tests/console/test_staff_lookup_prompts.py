"""Junk typed at the look-up verbs' own prompts (DESIGN 10): it is looked up or refused with a
message that says what to type, never an error; nothing but the conversation moves, and a
refusal leaves it waiting at the same prompt."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from adapters.console import PLATFORM as CONSOLE
from bot.flow import pick_label
from bot.vocabulary import Incoming, Option
from core.services.context import Context
from tests.console.conftest import ChatFactory
from tests.console.fuzzing import (
    FAILED,
    TOO_LONG,
    Probe,
    footprint,
    junk,
    menu_of,
    ten_kb,
    words_of,
)
from tests.console.test_prompt_fuzz import FUZZ
from tests.integration.staff_seed import seed_customer

WORKSPACE_REFUSALS = (
    "There is no workspace '",
    "Name a workspace: its id or its name.",
    "Pages go from 1 to",
    TOO_LONG,
)
FIND_REFUSALS = ("Type what to look for:", "That is too long to look for", TOO_LONG)
NAVIGATION = (Option("Back", "back"), Option("Cancel", "cancel"))
"""What a look-up prompt offers besides typing; typed labels of these navigate."""
ANSWERS = {
    "find": ("Workspaces for '", "No workspace matches '"),
    "show": ("Workspace #",),
    "audit": ("Audit of #",),
}


@pytest.fixture
def worlds() -> dict[str, Any]:
    """The probe of the test, kept across its examples (one database per test)."""
    return {}


async def prompt_probe(services: Context, open_console: ChatFactory, verb: str) -> Probe:
    """A manager waiting at `verb`'s prompt, beside a seeded customer workspace."""
    await seed_customer(services)
    chat = await open_console(user="sam", role="staff", workspace=None)
    console = chat.console
    probe = Probe(
        services, console.engine, Incoming(CONSOLE, console.workspace, console.chat, "sam")
    )
    await enter(probe, verb)
    return probe


async def enter(probe: Probe, verb: str) -> None:
    await probe.send(command="staff", argument="")
    replies = await probe.send(command="staff", argument=verb)
    probe.menu = menu_of(replies)
    assert probe.menu == NAVIGATION
    assert (await probe.row())[2:4] == ("staff", f"{verb}_argument")


@pytest.mark.parametrize("verb", sorted(ANSWERS))
@FUZZ
@example(text="9" * 5000)
@example(text="0" * 4999 + "5")
@example(text=ten_kb("x"))
@example(text="\x00")
@example(text="acme support 0")
@example(text="1 99999999999")
@example(text="%")
@given(text=st.one_of(junk(), st.sampled_from(["1", "#1", "Acme Support", "acme support 2"])))
async def test_junk_at_a_lookup_prompt_is_looked_up_or_refused_and_moves_nothing_else(
    services: Context,
    open_console: ChatFactory,
    caplog: pytest.LogCaptureFixture,
    worlds: dict[str, Any],
    verb: str,
    text: str,
) -> None:
    assume(not text.strip().startswith("/") and pick_label(NAVIGATION, text) is None)
    if "probe" not in worlds:
        worlds["probe"] = await prompt_probe(services, open_console, verb)
    probe: Probe = worlds["probe"]
    before, world_before, logged = await probe.row(), await footprint(services), len(caplog.records)
    said = words_of(await probe.send(text=text))
    assert not [r for r in caplog.records[logged:] if r.levelno >= logging.ERROR]
    assert FAILED not in said
    assert await footprint(services) == world_before
    after = await probe.row()
    if after[2] is None:
        assert any(answer in said for answer in ANSWERS[verb]), said
        await enter(probe, verb)
        return
    assert after == before, "a refusal moved the conversation"
    refusals = FIND_REFUSALS if verb == "find" else WORKSPACE_REFUSALS
    assert any(refusal in said for refusal in refusals), said
    assert menu_of(await probe.send(text="")) == probe.menu

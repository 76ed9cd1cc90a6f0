"""Notices with buttons on the console: numbered after the menu shown, typed as commands at
a question answered by typing; the console staff chat's notices in support staff's chats."""

from __future__ import annotations

import io
import re
from dataclasses import replace

import pytest
from sqlalchemy import select

from adapters.sandbox import Outcome, complete_sandbox_payment
from core.access import Actor
from core.model import OutboxNotice, Workspace
from core.ports import Notice
from core.pricing import Terms
from core.services.context import Context
from core.services.orders import Chat as OrderChat
from core.services.orders import place_order
from core.services.outbox import OutboxNotifier
from core.staff import StaffDirectory, parse_staff_chats
from core.states import NoticeState
from tests.console.conftest import Chat, ChatFactory
from tests.staff_chats import ShowProbe, flag_a_sandbox_payment, install_show_probe

ALICE = Actor("console", "alice")


@pytest.fixture
def services(services: Context) -> Context:
    """A console-only setup: the staff chat is the console's own (console:staff)."""
    return replace(services, staff=StaffDirectory(chats=parse_staff_chats("console:staff")))


@pytest.fixture
def show_probe(monkeypatch: pytest.MonkeyPatch) -> ShowProbe:
    return install_show_probe(monkeypatch)


async def workspace_id(services: Context, name: str = "acme") -> int:
    async with services.db.read() as session:
        found = await session.scalar(select(Workspace.id).where(Workspace.name == name))
    assert found is not None
    return found


async def notices(chat: Chat) -> str:
    """What the chat prints when it next looks for notices."""
    start = chat.buffer.tell()
    await chat.console.deliver_notices()
    chat.buffer.seek(start)
    text = chat.buffer.read()
    chat.buffer.seek(0, io.SEEK_END)
    return text


async def fail_an_order(services: Context, chat: Chat) -> None:
    placed = await place_order(
        services,
        ALICE,
        await workspace_id(services),
        Terms("cc1", 1, 1),
        chat=OrderChat("console", chat.console.chat),
    )
    result = await complete_sandbox_payment(services, placed.reference, fail=True)
    assert result.outcome == Outcome.FAILED


async def test_a_flagged_payment_reaches_the_staff_console_and_show_runs_from_its_number(
    open_console: ChatFactory, services: Context, show_probe: ShowProbe
) -> None:
    alice = await open_console()
    ws = await workspace_id(services)
    flagged = await flag_a_sandbox_payment(services, ALICE, ws)
    assert "Flagged payment" not in await alice.say("/plans")

    sam = await open_console(user="sam", role="staff", workspace=None)
    text = await sam.say("/staff")
    menu, _, notice = text.partition(f"Flagged payment in acme (#{ws}).")
    assert "Support staff: what would you like to do?" in menu
    assert f"for order {flagged.order} could not be applied as quoted" in notice
    shown = len(re.findall(r"^\[\d+\]", menu, re.MULTILINE))
    buttons = [f"[{shown + n}] {label}" for n, label in enumerate(("Refund", "Credit", "Show"), 1)]
    assert "\n".join(buttons) in notice, "the notice's buttons are numbered after the menu"
    assert await notices(sam) == ""  # posted once

    text = await sam.say(str(shown + 3))
    assert f"Showing workspace {ws}." in text
    assert show_probe.calls == [("sam", str(ws))]


async def test_a_customer_taps_a_notice_button_by_its_number(
    open_console: ChatFactory, services: Context
) -> None:
    alice = await open_console()
    await alice.say("/plans")
    await fail_an_order(services, alice)
    text = await notices(alice)
    assert "The payment for order" in text and "failed" in text
    assert "Try the payment again?\n[4] Upgrade" in text
    assert "Choose a package." in await alice.say("4")


async def test_at_a_typed_question_notice_buttons_are_the_commands_they_run(
    open_console: ChatFactory, services: Context
) -> None:
    alice = await open_console()
    text = await alice.say("/upgrade", "2", "1")
    assert "How many accounts" in text
    await fail_an_order(services, alice)
    text = await notices(alice)
    assert "Try the payment again?\n  Upgrade: /upgrade" in text
    assert "[" not in text
    text = await alice.say("2")
    assert "Total: $50.00" in text


async def test_a_notice_is_printed_in_the_language_its_check_gives_not_the_start_up_one(
    open_console: ChatFactory, services: Context
) -> None:
    alice = await open_console(language="en")
    await alice.say("/plans")
    ws = await workspace_id(services)
    async with services.db.unit_of_work() as session:
        workspace = await session.get(Workspace, ws)
        assert workspace is not None
        workspace.locale = "vi"
    await OutboxNotifier(services.db, services.clock).notify(
        Notice("account.note", ws, "console", alice.console.chat, {}, subject="note:1")
    )
    text = await notices(alice)
    assert "Thuê bao của bạn vừa có thay đổi." in text
    assert await notices(alice) == ""  # printed once
    async with services.db.read() as session:
        state = await session.scalar(select(OutboxNotice.state))
    assert state == NoticeState.SENT

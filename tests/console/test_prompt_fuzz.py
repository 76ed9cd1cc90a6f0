"""Junk at every prompt of every flow (DESIGN 10, 12): any text, unicode digits, huge numbers,
10 kB lines, control characters, labels in other case, stale and forged taps, forged Telegram
callback data. Nothing escapes, junk moves nothing and is told what is allowed, and what names
an offered option is taken."""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from adapters.console import PLATFORM as CONSOLE
from adapters.sandbox import complete_sandbox_payment
from adapters.telegram.render import STALE, decode_tap, encode_tap
from bot.engine import Engine
from bot.flows import all_flows
from bot.flows.admins import admins_flow
from bot.flows.workspace import workspace_flows
from bot.vocabulary import Incoming, Tap
from core.access import Actor
from core.model import AuditEntry, Member, Order, Workspace
from core.services.context import Context
from core.services.workspaces import create_workspace, ensure_member, ensure_workspace
from core.states import Role
from tests.console.conftest import Chat, ChatFactory
from tests.console.fuzzing import (
    FAILED,
    GENERIC_REFUSALS,
    UNICODE_DIGITS,
    Probe,
    Prompt,
    Tapped,
    Typed,
    World,
    callback_data,
    each_says_something,
    expect_line,
    expect_tap,
    expect_text,
    footprint,
    inputs,
    junk,
    menu_of,
    ten_kb,
    words_of,
)

FUZZ = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# --- getting a person to each step -------------------------------------------------------------

Lines = tuple[str, ...]


async def say(chat: Chat, *lines: str) -> str:
    text = await chat.say(*lines)
    assert FAILED not in text, text
    return text


async def buy(chat: Chat, services: Context, package: str, quantity: str) -> None:
    """Buy `package` monthly and pay it in the sandbox."""
    text = await say(chat, "/upgrade")
    if "Which subscription do you want to change?" in text:
        await say(chat, "A new package")
    text = await say(chat, package, "1 month", quantity, "Next", "Card")
    assert "Link: " in text, text
    async with services.db.read() as session:
        order = await session.scalar(select(Order).order_by(Order.id.desc()).limit(1))
        assert order is not None
    await complete_sandbox_payment(services, order.reference, fail=False)


Setup = Callable[[Chat, Context], Awaitable[None]]


async def nothing(chat: Chat, services: Context) -> None:
    return None


def typed(*lines: str) -> Setup:
    async def setup(chat: Chat, services: Context) -> None:
        await say(chat, *lines)

    return setup


async def holding(chat: Chat, services: Context) -> None:
    """Contact Center 2 bought with 10 accounts."""
    await buy(chat, services, "Contact Center 2", "10")


async def two_ending(chat: Chat, services: Context) -> None:
    """Contact Center 1 and 2 bought and both unsubscribed (ending with their period)."""
    await buy(chat, services, "Contact Center 1", "3")
    await buy(chat, services, "Contact Center 2", "10")
    await say(chat, "/unsubscribe", "1", "Unsubscribe", "/unsubscribe", "Unsubscribe")


async def one_ending(chat: Chat, services: Context) -> None:
    await buy(chat, services, "Contact Center 2", "10")
    await say(chat, "/unsubscribe", "Unsubscribe")


@dataclass(frozen=True, slots=True)
class ConsoleStage:
    """An admin's workspace made ready by `prepare`; then the admin (or, with `staff`, support
    staff) types `enter` and waits at `at`."""

    name: str
    at: tuple[str | None, str | None]
    prompt: Prompt
    enter: Lines
    prepare: Setup = nothing
    staff: bool = False


def quantity(low: int, high: int) -> Prompt:
    def accepts(text: str) -> bool:
        digits = text.strip()
        if not (digits.isascii() and digits.isdigit()):
            return False
        significant = digits.lstrip("0") or "0"
        return len(significant) <= len(str(high)) and low <= int(significant) <= high

    return Prompt(f"Enter a number of accounts from {low} to {high}.", accepts)


REASON = Prompt(
    "Type a reason of 1 to 500 characters.", lambda text: 1 <= len(printable(text).strip()) <= 500
)
BUTTONS = "Choose one of the buttons, or Back or Cancel."
IDLE = Prompt("")

TRIAL_CC1 = typed("/trial", "Contact Center 1")
CONSOLE_STAGES = [
    ConsoleStage("idle after plans", (None, None), IDLE, ("/plans",)),
    ConsoleStage("idle after details", (None, None), IDLE, ("/subscription",), holding),
    ConsoleStage(
        "upgrade subscription",
        ("upgrade", "subscription"),
        Prompt("Choose one of the subscriptions listed, or a new package."),
        ("/upgrade",),
        holding,
    ),
    ConsoleStage(
        "upgrade package new",
        ("upgrade", "package"),
        Prompt("Choose one of the options listed."),
        ("/upgrade",),
    ),
    ConsoleStage(
        "upgrade package held",
        ("upgrade", "package"),
        Prompt("Choose one of the options listed."),
        ("/upgrade", "1"),
        holding,
    ),
    ConsoleStage(
        "upgrade cycle",
        ("upgrade", "cycle"),
        Prompt("Choose one of the billing cycles listed."),
        ("/upgrade", "Contact Center 2"),
    ),
    ConsoleStage(
        "upgrade cycle another",
        ("upgrade", "cycle"),
        Prompt("Choose one of the billing cycles listed."),
        ("/upgrade", "1", "Another billing cycle"),
        holding,
    ),
    ConsoleStage(
        "upgrade quantity new",
        ("upgrade", "quantity"),
        quantity(1, 1000),
        ("/upgrade", "Contact Center 2", "1 month"),
    ),
    ConsoleStage(
        "upgrade quantity more",
        ("upgrade", "quantity"),
        quantity(11, 1000),
        ("/upgrade", "1", "More accounts of Contact Center 2"),
        holding,
    ),
    ConsoleStage(
        "upgrade quantity fewer",
        ("upgrade", "quantity"),
        quantity(1, 9),
        ("/upgrade", "1", "Fewer accounts from the renewal"),
        holding,
    ),
    ConsoleStage(
        "upgrade review order",
        ("upgrade", "review"),
        Prompt(BUTTONS),
        ("/upgrade", "Contact Center 2", "1 month", "5"),
    ),
    ConsoleStage(
        "upgrade review downgrade",
        ("upgrade", "review"),
        Prompt(BUTTONS),
        ("/upgrade", "1", "Switch to Contact Center 1 from the renewal", "1 month", "4"),
        holding,
    ),
    ConsoleStage(
        "upgrade method",
        ("upgrade", "method"),
        Prompt("Choose a payment method listed."),
        ("/upgrade", "Contact Center 2", "1 month", "5", "Next"),
    ),
    ConsoleStage(
        "trial package",
        ("trial", "package"),
        Prompt("Choose one of the packages listed."),
        ("/trial",),
    ),
    ConsoleStage(
        "unsubscribe subscription",
        ("unsubscribe", "subscription"),
        Prompt("Choose one of the subscriptions listed."),
        ("/unsubscribe",),
        typed("/trial", "Contact Center 1", "/trial", "Contact Center 2"),
    ),
    ConsoleStage(
        "unsubscribe reason",
        ("unsubscribe", "reason"),
        REASON,
        ("/unsubscribe",),
        TRIAL_CC1,
        staff=True,
    ),
    ConsoleStage(
        "unsubscribe confirm trial",
        ("unsubscribe", "confirm"),
        Prompt(BUTTONS),
        ("/unsubscribe",),
        TRIAL_CC1,
    ),
    ConsoleStage(
        "unsubscribe confirm active",
        ("unsubscribe", "confirm"),
        Prompt(BUTTONS),
        ("/unsubscribe",),
        holding,
    ),
    ConsoleStage(
        "resume subscription",
        ("resume", "subscription"),
        Prompt("Choose one of the subscriptions listed."),
        ("/resume",),
        two_ending,
    ),
    ConsoleStage("resume reason", ("resume", "reason"), REASON, ("/resume",), one_ending, True),
    ConsoleStage(
        "resume confirm", ("resume", "confirm"), Prompt(BUTTONS), ("/resume",), one_ending
    ),
]


def console_world(services: Context, open_console: ChatFactory, stage: ConsoleStage) -> World:
    async def make(n: int) -> Probe:
        workspace = f"fuzz{n}"
        chat = await open_console(user=f"admin{n}", workspace=workspace)
        await stage.prepare(chat, services)
        if stage.staff:
            chat = await open_console(user=f"staff{n}", role="staff", workspace=workspace)
        console = chat.console
        who = Incoming(CONSOLE, workspace, console.chat, console.user)
        return Probe(services, console.engine, who, chat)

    async def enter(probe: Probe) -> None:
        assert probe.chat is not None
        await say(probe.chat, "/cancel", *stage.enter)
        assert (await probe.row())[2:4] == stage.at
        await probe.learn_menu()
        probe.shown = probe.chat.console.options

    return World(services, make, enter)


# --- the platforms whose people join workspaces, and Slack's billing admins ------------------


@dataclass(frozen=True, slots=True)
class PlatformStage:
    """A Telegram person (a Slack one for the admins flow) made ready by `prepare`, then
    sent `enter`'s updates, waits at `at`."""

    name: str
    at: tuple[str, str]
    prompt: Prompt
    enter: Callable[[Probe], Awaitable[None]]
    prepare: Callable[[Probe, int], Awaitable[None]] | None = None


def link_for(code: str) -> str:
    return f"https://t.me/planbot_test_bot?start={code}"


def printable(text: str) -> str:
    """What of typed text a name or a reason keeps: no control character but white space."""
    return "".join(c for c in text if c.isspace() or unicodedata.category(c) != "Cc")


def workspace_name(text: str) -> bool:
    return 1 <= len(" ".join(printable(text).split())) <= 200


def command(name: str, argument: str = "") -> Callable[[Probe], Awaitable[None]]:
    async def enter(probe: Probe) -> None:
        await probe.send(command=name, argument=argument)

    return enter


async def naming(probe: Probe) -> None:
    await probe.send(command="workspace")
    await probe.send(tap=Tap("create", await probe.version()))


async def in_two(probe: Probe, n: int) -> None:
    actor = Actor(probe.who.platform, probe.who.user)
    await create_workspace(probe.services, actor, f"First {n}")
    await create_workspace(probe.services, actor, f"Second {n}")


async def owning(probe: Probe, n: int) -> None:
    await create_workspace(probe.services, Actor(probe.who.platform, probe.who.user), f"Own {n}")


async def granting(probe: Probe, n: int) -> None:
    await probe.send(command="admins", argument=f"add U{n}X ana")


CHOOSE_OR_CANCEL = "Choose one of the buttons, or Cancel."
PLATFORM_STAGES = [
    PlatformStage(
        "workspace offer", ("workspace", "offer"), Prompt(CHOOSE_OR_CANCEL), command("workspace")
    ),
    PlatformStage(
        "workspace name",
        ("workspace", "name"),
        Prompt("A workspace name needs 1 to 200 characters.", workspace_name),
        naming,
    ),
    PlatformStage(
        "workspaces choose",
        ("workspaces", "choose"),
        Prompt(CHOOSE_OR_CANCEL),
        command("workspaces"),
        in_two,
    ),
    PlatformStage(
        "invite role",
        ("invite", "role"),
        Prompt("Choose admin or member, or Cancel."),
        command("invite"),
        owning,
    ),
    PlatformStage(
        "admins list", ("admins", "list"), Prompt(CHOOSE_OR_CANCEL), command("admins"), granting
    ),
]


def platform_world(services: Context, stage: PlatformStage) -> World:
    telegram = Engine(services, {**all_flows(), **workspace_flows(link_for)})
    slack_flows = {**all_flows(), "admins": admins_flow("/plans admins add @name")}
    slack = Engine(services, slack_flows, command_prefix="/plans ")

    async def make(n: int) -> Probe:
        if stage.at[0] == "admins":
            team = f"T{n}"
            workspace_id = await ensure_workspace(services, "slack", team, f"Team {n}")
            await ensure_member(services, workspace_id, Actor("slack", f"U{n}"), Role.OWNER)
            who = Incoming("slack", team, f"D{n}", f"U{n}", workspace_id=workspace_id)
            probe = Probe(services, slack, who)
        else:
            user = str(7_000_000 + n)
            probe = Probe(services, telegram, Incoming("telegram", None, user, user))
            probe.follows_workspace = True
        if stage.prepare is not None:
            await stage.prepare(probe, n)
        return probe

    async def enter(probe: Probe) -> None:
        await probe.send(command="cancel")
        await stage.enter(probe)
        assert (await probe.row())[2:4] == stage.at
        await probe.learn_menu()

    return World(services, make, enter)


# --- one example: draw an input, send it, judge the answer ------------------------------------


def owner_of(probe: Probe) -> str:
    """The owner part of the probe's callback data (a Telegram user id in base 36)."""
    user = probe.who.user
    return encode_tap(0, "", int(user))[2:-1] if user.isdigit() else "a"


async def one_example(
    world: World, prompt: Prompt, sent: Typed | Tapped, caplog: pytest.LogCaptureFixture
) -> None:
    probe = await world.current()
    logged = len(caplog.records)
    if world.known is None:
        world.known = (await probe.row(), await footprint(probe.services))
    before, world_before = world.known
    world.known = None
    idle, version = before[2] is None, int(before[-1])
    chat = probe.chat
    shown = chat.console.options if chat is not None else ()
    on_console = isinstance(sent, Typed) and sent.line and chat is not None
    printed, replies = "", []
    if isinstance(sent, Typed):
        if on_console:
            assert chat is not None
            text = sent.words(shown)
            expect = expect_line(probe, prompt, idle, text)
            printed = await chat.say(text)
        else:
            text = sent.words(probe.menu)
            expect = expect_text(probe, prompt, idle, text)
            replies = await probe.send(text=text)
    else:
        tap = sent.tap(probe.menu, version, owner_of(probe))
        expect = expect_tap(probe, prompt, idle, version, tap)
        replies = await probe.send(tap=tap)
    said = printed or words_of(replies)
    event("moves" if expect.moves else "quiet" if expect.quiet else "refused")
    event(type(sent).__name__ + (" at the console" if on_console else ""))
    errors = [r for r in caplog.records[logged:] if r.levelno >= logging.ERROR]
    assert not errors, errors[0].getMessage()
    assert FAILED not in said
    after, world_after = await probe.row(), await footprint(probe.services)
    if expect.moves:
        assert said.strip()
        if expect.picks:
            assert not any(words in said for words in (*GENERIC_REFUSALS, prompt.refusal or "\0"))
        if world_after != world_before or after[1] != before[1]:
            world.spent()  # it bought, tried, ended... or now speaks another language
        elif after != before or (chat is not None and chat.console.options != shown):
            await world.again()
        return
    assert after == before, "junk moved the conversation"
    assert world_after == world_before, "junk changed the workspace"
    world.known = (after, world_after)
    if expect.quiet:
        assert not printed
        return
    for words in expect.says:
        assert words in said, (words, said)
    if on_console:
        assert chat is not None
        if expect.asks_again:
            assert chat.console.options == (probe.menu if idle else probe.shown)
        else:
            assert chat.console.options == shown
    else:
        assert each_says_something(replies)
        if expect.asks_again:
            assert menu_of(replies) == probe.menu


def nasty(test: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
    """The inputs every prompt gets whatever Hypothesis draws besides."""
    cases: list[Typed | Tapped] = [
        Tapped("9" * 5000),
        Tapped("0" * 4999 + "5"),
        Typed(True, "9" * 5000),
        Typed(False, "9" * 5000),
        Typed(True, "٣"),
        Typed(False, "１２"),
        Typed(True, ten_kb("ab ")),
        Typed(False, ten_kb("x")),
        Typed(False, "\x00\x07\x1b[2J"),
        Typed(True, "\u200b"),
        Tapped("package:zz"),
        Tapped("cmd:nope"),
        Tapped("", shift="older"),
        Tapped("x.y:z", callback=True),
        Tapped("package:zz", callback=True, formed=True),
        Typed(True, label=(0, "upper", 0)),
        Typed(False, label=(1, "swapcase", 0)),
    ]
    for case in reversed(cases):
        test = example(sent=case)(test)
    return test


CONSOLE_CASES = [pytest.param(stage, id=stage.name) for stage in CONSOLE_STAGES]
PLATFORM_CASES = [pytest.param(stage, id=stage.name) for stage in PLATFORM_STAGES]


@pytest.fixture
def worlds() -> dict[str, Any]:
    """The world of the test, kept across its examples (one database per test)."""
    return {}


@pytest.mark.parametrize("stage", CONSOLE_CASES)
@FUZZ
@nasty
@given(sent=inputs())
async def test_a_console_prompt_refuses_junk_says_what_is_allowed_and_moves_nothing(
    services: Context,
    open_console: ChatFactory,
    caplog: pytest.LogCaptureFixture,
    worlds: dict[str, Any],
    stage: ConsoleStage,
    sent: Typed | Tapped,
) -> None:
    world = worlds.setdefault("world", console_world(services, open_console, stage))
    await one_example(world, stage.prompt, sent, caplog)


@pytest.mark.parametrize("stage", PLATFORM_CASES)
@FUZZ
@nasty
@given(sent=inputs())
async def test_a_workspace_or_admin_prompt_refuses_junk_and_moves_nothing(
    services: Context,
    caplog: pytest.LogCaptureFixture,
    worlds: dict[str, Any],
    stage: PlatformStage,
    sent: Typed | Tapped,
) -> None:
    world = worlds.setdefault("world", platform_world(services, stage))
    await one_example(world, stage.prompt, sent, caplog)


# --- Telegram callback data on its own ---------------------------------------------------------


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(raw=st.one_of(st.none(), st.text(), callback_data()))
def test_callback_data_that_is_junk_decodes_to_a_stale_tap_never_an_error(raw: str | None) -> None:
    tap, owner = decode_tap(raw)
    if owner is None:
        assert tap == STALE
        return
    head, _, value = (raw or "").partition(":")
    assert tap.value == value and tap.version == int(head.partition(".")[0])


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(
    version=st.integers(min_value=0, max_value=10**9),
    value=st.text(max_size=20).filter(lambda v: len(v.encode()) <= 30),
    owner=st.integers(min_value=1, max_value=10**12),
)
def test_callback_data_planbot_made_decodes_to_its_tap_and_owner(
    version: int, value: str, owner: int
) -> None:
    assert decode_tap(encode_tap(version, value, owner)) == (Tap(value, version), owner)


# --- arguments that are no id -------------------------------------------------------------------

UNKNOWN_ID = "999999999"
ARGUMENT_COMMANDS = ("upgrade", "unsubscribe", "resume", "withdraw", "trial", "subscription")


def no_id(argument: str) -> bool:
    """Neither an id (ids are small ascii numbers here) nor a package code."""
    raw = argument.strip()
    return bool(raw) and not (raw.isascii() and raw.isdigit()) and raw not in ("cc1", "cc2", "cc3")


async def everything_held(chat: Chat, services: Context) -> None:
    """Contact Center 2 with a change scheduled, and Contact Center 1 ending: something for
    every command that takes an id."""
    await buy(chat, services, "Contact Center 2", "10")
    await say(chat, "/upgrade", "1", "Fewer accounts from the renewal", "6", "Schedule")
    await buy(chat, services, "Contact Center 1", "3")
    await say(chat, "/unsubscribe", "Contact Center 1", "Unsubscribe")


@FUZZ
@example(name="withdraw", argument="²")
@example(name="upgrade", argument="9" * 5000)
@example(name="unsubscribe", argument="①")
@example(name="resume", argument=ten_kb("x"))
@given(
    name=st.sampled_from(ARGUMENT_COMMANDS),
    argument=st.one_of(junk(), st.sampled_from(UNICODE_DIGITS)).filter(no_id),
)
async def test_a_command_argument_that_is_no_id_acts_as_an_unknown_id(
    services: Context,
    open_console: ChatFactory,
    caplog: pytest.LogCaptureFixture,
    worlds: dict[str, Any],
    name: str,
    argument: str,
) -> None:
    if "probe" not in worlds:
        chat = await open_console(user="admin", workspace="arguments")
        await everything_held(chat, services)
        who = Incoming(CONSOLE, "arguments", chat.console.chat, "admin")
        worlds["probe"] = Probe(services, chat.console.engine, who, chat)
    probe: Probe = worlds["probe"]
    assert probe.chat is not None
    before, logged = await footprint(services), len(caplog.records)
    junk_answer = await say(probe.chat, f"/{name} {argument}")
    junk_at = (await probe.row())[2:4]
    await say(probe.chat, "/cancel")
    unknown_answer = await say(probe.chat, f"/{name} {UNKNOWN_ID}")
    unknown_at = (await probe.row())[2:4]
    await say(probe.chat, "/cancel")
    assert junk_answer == unknown_answer
    assert junk_at == unknown_at
    assert await footprint(services) == before
    assert not [r for r in caplog.records[logged:] if r.levelno >= logging.ERROR]


# --- control characters that reach the database -------------------------------------------------


async def test_a_support_reason_reaches_the_audit_log_without_control_characters(
    open_console: ChatFactory, services: Context, caplog: pytest.LogCaptureFixture
) -> None:
    admin = await open_console(user="admin", workspace="acme")
    await say(admin, "/trial", "Contact Center 1")
    staff = await open_console(user="sam", role="staff", workspace="acme")
    await say(staff, "/unsubscribe", "asked\x00 by\x1b[2J phone\x07")
    assert "Contact Center 1 has ended." in await say(staff, "Unsubscribe")
    async with services.db.read() as session:
        reasons = list(
            await session.scalars(select(AuditEntry.reason).where(AuditEntry.reason.is_not(None)))
        )
    assert reasons == ["asked by[2J phone"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_workspace_is_named_without_control_characters(
    services: Context, caplog: pytest.LogCaptureFixture
) -> None:
    probe = Probe(
        services,
        Engine(services, {**all_flows(), **workspace_flows(link_for)}),
        Incoming("telegram", None, "42", "42"),
    )
    probe.follows_workspace = True
    await naming(probe)
    said = words_of(await probe.send(text="Acme\x00 Support\x1b"))
    assert "Your workspace Acme Support is ready" in said
    async with services.db.read() as session:
        assert list(await session.scalars(select(Workspace.name))) == ["Acme Support"]
    await naming(probe)
    refused = words_of(await probe.send(text="\x00\x07"))
    assert "A workspace name needs 1 to 200 characters." in refused
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def an_id(text: str) -> bool:
    return 1 <= len(text) <= 64 and text.isascii() and all(c.isalnum() or c in "-_." for c in text)


@FUZZ
@example(verb="add", who="U\x00X ana")
@example(verb="add", who="U" * 5000)
@example(verb="remove", who="\x00")
@example(verb="revoke", who="①")
@example(verb="add", who="U2X an\x00a\x1b")
@given(verb=st.sampled_from(["add", "grant", "remove", "revoke", "ADD"]), who=junk())
async def test_a_billing_admin_named_by_no_id_is_neither_made_nor_taken_back(
    services: Context,
    caplog: pytest.LogCaptureFixture,
    worlds: dict[str, Any],
    verb: str,
    who: str,
) -> None:
    if "probe" not in worlds:
        world = platform_world(services, PLATFORM_STAGES[-1])
        worlds["probe"] = await world.current()
    probe: Probe = worlds["probe"]
    before, logged = await footprint(services), len(caplog.records)
    said = words_of(await probe.send(command="admins", argument=f"{verb} {who}"))
    assert said.strip() and FAILED not in said
    assert not [r for r in caplog.records[logged:] if r.levelno >= logging.ERROR]
    user_id = f"{verb} {who}".strip().partition(" ")[2].strip().partition(" ")[0]
    if an_id(user_id):
        async with services.db.read() as session:
            names = list(await session.scalars(select(Member.display_name)))
        assert all(printable(name) == name for name in names if name is not None)
        return
    assert await footprint(services) == before
    if not user_id or verb.lower() in ("add", "grant"):
        assert "To make someone a billing admin: /plans admins add @name" in said
    else:
        assert "That person is not a billing admin." in said


async def test_a_number_typed_as_a_support_reason_is_taken_or_refused_as_a_reason(
    open_console: ChatFactory,
) -> None:
    admin = await open_console(user="admin", workspace="acme")
    await say(admin, "/trial", "Contact Center 1")
    staff = await open_console(user="sam", role="staff", workspace="acme")
    await say(staff, "/unsubscribe")
    text = await say(staff, "42")
    assert "Unsubscribe from Contact Center 1?" in text or "Type a reason" in text

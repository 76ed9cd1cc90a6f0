"""What junk at a prompt must get back, and the people and prompts it is typed at.

A `Probe` is one person whose conversation waits at one step; `expect_*` say, from what the
person was shown, whether an input names something the step offers (a move) or is junk, and
then what the refusal must say. The rules are the ones DESIGN 5 and 12 give: a console number
is a position, a label (any case, or leading words that fit one option) picks its option, a
typed step checks its own answer, a tap carries the version of its menu.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from hypothesis import strategies as st
from sqlalchemy import func, select

from adapters.telegram.render import decode_tap
from bot.engine import COMMAND_FLOWS, Engine
from bot.flow import BACK, CANCEL, HELP, pick_label
from bot.vocabulary import Choices, Confirmation, Incoming, Link, NumberPrompt, Option, Reply, Tap
from bot.vocabulary import Text as Said
from core.access import Actor
from core.model import (
    AuditEntry,
    Conversation,
    Invite,
    Member,
    Order,
    Subscription,
    TrialUse,
    Workspace,
)
from core.services.context import Context
from core.services.invites import current_workspace
from tests.console.conftest import Chat

Row = tuple[Any, ...]
"""A conversation as stored: workspace, language, flow, step, data, history, version."""

OUT_OF_DATE = "This menu is out of date; here is the current one."
TOO_LONG = "That answer is too long."
ONLY_COMMANDS = "I can only respond to commands and buttons."
FAILED = "Sorry, something went wrong on my side."
GENERIC_REFUSALS = ("Choose one of the options:", "Type a number from 1 to", OUT_OF_DATE)


@dataclass
class Probe:
    """One person whose conversation waits at one step, on the console or another platform."""

    services: Context
    engine: Engine
    who: Incoming
    chat: Chat | None = None
    menu: tuple[Option, ...] = ()
    """The options typed text is matched against (the step's, or the main menu when idle)."""
    shown: tuple[Option, ...] = ()
    """The options the console numbers while the step waits (none for a number prompt)."""
    follows_workspace: bool = False
    """The platform finds the workspace from the person's memberships (Telegram)."""

    async def send(self, **what: Any) -> list[Reply]:
        incoming = replace(self.who, **what)
        if self.follows_workspace:
            actor = Actor(incoming.platform, incoming.user)
            incoming = replace(incoming, workspace_id=await current_workspace(self.services, actor))
        return await self.engine.handle(incoming)

    async def row(self) -> Row:
        async with self.services.db.read() as session:
            found = await session.scalar(
                select(Conversation).where(
                    Conversation.platform == self.who.platform,
                    Conversation.chat_id == self.who.chat,
                    Conversation.user_id == self.who.user,
                )
            )
        if found is None:
            return (None, None, None, None, {}, [], 0)
        return (
            found.workspace_id,
            found.language,
            found.flow,
            found.step,
            dict(found.data),
            list(found.history),
            found.version,
        )

    async def version(self) -> int:
        return int((await self.row())[-1])

    async def idle(self) -> bool:
        return (await self.row())[2] is None

    async def learn_menu(self) -> None:
        """Ask with an empty answer, which every step refuses: the options it lists are the
        ones typed text is matched against."""
        before = await self.row()
        self.menu = menu_of(await self.send(text=""))
        assert await self.row() == before, "an empty answer moved the conversation"


async def footprint(services: Context) -> tuple[Any, ...]:
    """What the chat can change outside the conversation, in one statement."""

    def count(model: Any, *where: Any) -> Any:
        return select(func.count()).select_from(model).where(*where).scalar_subquery()

    statement = select(
        count(Workspace),
        count(Member),
        count(Member, Member.granted_by.is_not(None)),
        count(Member, Member.active_at.is_not(None)),
        count(Subscription),
        count(Subscription, Subscription.cancel_at_period_end.is_(True)),
        count(Subscription, Subscription.scheduled_package.is_not(None)),
        select(func.coalesce(func.sum(Subscription.terms_version), 0)).scalar_subquery(),
        count(TrialUse),
        count(Order),
        count(Invite),
        count(Invite, Invite.used_at.is_not(None)),
        count(AuditEntry),
    )
    async with services.db.read() as session:
        return tuple((await session.execute(statement)).one())


def menu_of(replies: list[Reply]) -> tuple[Option, ...]:
    """The options of the last menu among `replies` (the one a typed answer answers)."""
    for reply in reversed(replies):
        if isinstance(reply, Choices | NumberPrompt | Confirmation):
            return reply.options
    return ()


def words_of(replies: list[Reply]) -> str:
    """Everything the replies say, labels included, one reply a line."""
    lines: list[str] = []
    for reply in replies:
        if isinstance(reply, Said):
            lines.append(reply.text)
        elif isinstance(reply, Link):
            lines.append(f"{reply.text} {reply.url}")
        elif isinstance(reply, Confirmation):
            lines += [reply.title, *(f"{a}: {b}" for a, b in reply.lines), reply.footnote]
        else:
            lines.append(reply.text)
        if isinstance(reply, Choices | NumberPrompt | Confirmation):
            lines += [option.label for option in reply.options]
    return "\n".join(lines)


def each_says_something(replies: list[Reply]) -> bool:
    def says(reply: Reply) -> bool:
        if isinstance(reply, Confirmation):
            return bool(reply.title.strip())
        return bool(reply.text.strip())

    return bool(replies) and all(says(reply) for reply in replies)


# --- what an input should get ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Expect:
    """`moves`: the input names something offered, so the conversation may move on (it must
    not be refused as junk when `picks`). Otherwise nothing moves and the reply `says` these;
    `asks_again`: it asks the question the conversation waits on again (else the menu shown
    stays the one to answer); `quiet`: nothing is answered at all."""

    moves: bool = False
    picks: bool = False
    says: tuple[str, ...] = ()
    asks_again: bool = True
    quiet: bool = False


MOVES = Expect(moves=True)
PICKS = Expect(moves=True, picks=True)
QUIET = Expect(quiet=True, asks_again=False)


def refused(*says: str, asks_again: bool = True) -> Expect:
    return Expect(says=says, asks_again=asks_again)


@dataclass(frozen=True, slots=True)
class Prompt:
    """What a step refuses with, and, for a step that takes typed answers, which it takes."""

    refusal: str
    accepts: Callable[[str], bool] | None = None


def known_commands(engine: Engine) -> frozenset[str]:
    flows = {name for name, flow in COMMAND_FLOWS.items() if flow in engine.flows}
    return frozenset({BACK, CANCEL, HELP, "start", "language", *flows})


def expect_command(engine: Engine, name: str) -> Expect:
    name = name.strip().lower()
    if name in known_commands(engine):
        return MOVES
    prefix = engine.command_prefix
    return refused(
        f"Unknown command {prefix}{name[:40]}. Send {prefix}help for the list.", asks_again=False
    )


def expect_text(probe: Probe, prompt: Prompt, idle: bool, text: str) -> Expect:
    """Text typed on a platform without numbered menus (or that the console passed on)."""
    text = text.strip()
    if text.startswith("/"):
        return expect_command(probe.engine, text[1:].partition(" ")[0])
    if idle:
        return PICKS if pick_label(probe.menu, text[:500]) else refused(ONLY_COMMANDS)
    if len(text) > 500:
        return refused(TOO_LONG)
    if pick_label(probe.menu, text) is not None:
        return PICKS
    if prompt.accepts is not None:
        return MOVES if prompt.accepts(text) else refused(prompt.refusal)
    labels = ", ".join(option.label for option in probe.menu)
    return refused(f"Choose one of the options: {labels}.")


def expect_tap(probe: Probe, prompt: Prompt, idle: bool, version: int, tap: Tap) -> Expect:
    if tap.version != version:
        return refused(OUT_OF_DATE)
    value = tap.value
    if value in (BACK, CANCEL, HELP):
        return PICKS
    if value.startswith("cmd:"):
        return expect_command(probe.engine, value[4:].partition(":")[0])
    if idle:
        return refused(ONLY_COMMANDS)
    if value in {option.value for option in probe.menu}:
        return PICKS
    if prompt.accepts is not None and prompt.accepts(value):
        return MOVES
    return refused(prompt.refusal)


def expect_line(probe: Probe, prompt: Prompt, idle: bool, line: str) -> Expect:
    """A line typed at the console, which numbers the options it shows."""
    assert probe.chat is not None
    shown = probe.chat.console.options
    text = line.strip()
    if not text:
        return QUIET
    if shown and text.isascii() and text.isdigit():
        position = int(text) if len(text) < 6 else 0
        if 1 <= position <= len(shown):
            return PICKS
        return refused(
            f"Type a number from 1 to {len(shown)}, or an option's label.",
            asks_again=False,
        )
    if text.startswith("/"):
        return expect_command(probe.engine, text[1:].partition(" ")[0])
    if pick_label(shown, text) is not None:
        return PICKS
    return expect_text(probe, prompt, idle, text)


# --- the inputs ------------------------------------------------------------------------------

UNICODE_DIGITS = ("٣", "①", "²", "１２", "߃", "৩", "𝟕", "Ⅻ", "三", "໒", "᠓", "⁵", "½", "٠٥")
HUGE = ("9" * 5000, "1" + "0" * 4999, "0" * 4999 + "5", "-" + "9" * 600, "9" * 501)
BLANKS = ("", " ", "\t", "\n", "\r\n", "\u3000", "\u2028", "\x1c\x1d", "\u00a0", "\u200b", "\x00")
FORGED = (
    "package:zz",
    "package:",
    "package:cc9",
    "cmd:nope",
    "cmd:",
    "cmd::",
    "cmd:upgrade:x:y",
    "999999",
    "0",
    "-1",
    "1.5",
    "+5",
    "5e2",
    "0x10",
    "",
    "next",
    "NEXT",
    "Next ",
    "schedule",
    "yes",
    "Yes",
    "confirm",
    "card",
    "Card",
    "bank",
    "create",
    "admin",
    "member",
    "new",
    "add",
    "reduce",
    "cc1",
    "cc2",
    "cc3",
    "12",
    "None",
    "null",
    "<b>x</b>",
    "'; drop table conversations; --",
    "%s %(x)s {x} {0}",
    "\x00",
    "back\x00",
)
COMMAND_WORDS = ("cancel", "back", "help", "upgrade", "plans", "language", "nope", "")


def ten_kb(seed: str) -> str:
    seed = seed or "x"
    return (seed * (10_240 // len(seed) + 1))[:10_240]


def junk() -> st.SearchStrategy[str]:
    """Text of every kind a person (or a broken client) can send."""
    return st.one_of(
        st.text(max_size=40),
        st.text(st.characters(categories=("Cc", "Cf", "Zs", "Zl", "Zp", "Co")), max_size=12),
        st.lists(st.sampled_from(UNICODE_DIGITS), min_size=1, max_size=4).map("".join),
        st.text(st.characters(categories=("Nd", "No", "Nl")), min_size=1, max_size=6),
        st.integers(min_value=-(10**6), max_value=10**30).map(str),
        st.sampled_from(HUGE),
        st.text(min_size=1, max_size=6).map(ten_kb),
        st.sampled_from(BLANKS),
        st.sampled_from(FORGED),
        st.tuples(st.sampled_from(COMMAND_WORDS), st.text(max_size=12)).map(
            lambda pair: "/" + "".join(pair)
        ),
    )


HOW = (
    "upper",
    "lower",
    "swapcase",
    "padded",
    "spaced",
    "leading",
    "extra",
    "fused",
    "wide",
    "cut",
)


def vary(label: str, how: str, cut: int) -> str:
    """A shown label in another case, padded, cut to its leading words, or just off."""
    words = label.split()
    if how == "upper":
        return label.upper()
    if how == "lower":
        return label.lower()
    if how == "swapcase":
        return label.swapcase()
    if how == "padded":
        return f"  {label.title()}\t "
    if how == "spaced":
        return "   ".join(words)
    if how == "leading":
        return " ".join(words[: 1 + cut % len(words)]) if words else label
    if how == "extra":
        return label + " x"
    if how == "fused":
        return label.replace(" ", "")
    if how == "wide":  # fullwidth forms: other characters that look alike
        return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in label)
    return label[: 1 + cut % max(len(label), 1)]


@dataclass(frozen=True, slots=True)
class Typed:
    """Text typed at the console (`line`) or on a platform; `label` is (which shown option,
    how its label is varied, a number for cutting it) when it is a label's variant."""

    line: bool
    text: str = ""
    label: tuple[int, str, int] | None = None

    def words(self, options: tuple[Option, ...]) -> str:
        if self.label is None:
            return self.text
        if not options:
            return ""
        which, how, cut = self.label
        return vary(options[which % len(options)].label, how, cut)


SHIFTS = ("older", "newer", "negative", "zero", "huge")


@dataclass(frozen=True, slots=True)
class Tapped:
    """A tap: on a shown option of an out-of-date menu (`shift` says how it is out of date),
    with a `value` nobody was shown, or as Telegram callback data (`callback`, where a
    `formed` one is `<version>.<owner>:<value>` for the current menu)."""

    value: str = ""
    shift: str | None = None
    which: int = 0
    callback: bool = False
    formed: bool = False

    def tap(self, options: tuple[Option, ...], version: int, owner: str) -> Tap:
        if self.callback:
            data = f"{version}.{owner}:{self.value}" if self.formed else self.value
            return decode_tap(data)[0]
        if self.shift is None:
            return Tap(self.value, version)
        values = [option.value for option in options] or [""]
        stale = {
            "older": version - 1,
            "newer": version + 1,
            "negative": -1,
            "zero": 0,
            "huge": 10**12,
        }[self.shift]
        return Tap(values[self.which % len(values)], stale if stale != version else version + 2)


def inputs() -> st.SearchStrategy[Typed | Tapped]:
    """What a person or a client can send at a prompt, whatever the prompt shows."""
    label = st.tuples(st.integers(0, 20), st.sampled_from(HOW), st.integers(0, 7))
    typed = st.one_of(
        st.builds(Typed, st.booleans(), junk()),
        st.builds(Typed, st.booleans(), st.just(""), label),
    )
    tapped = st.one_of(
        st.builds(Tapped, st.just(""), st.sampled_from(SHIFTS), st.integers(0, 20)),
        st.builds(Tapped, junk()),
        st.builds(Tapped, st.text().map(lambda s: "cmd:" + s)),
        st.builds(Tapped, callback_data(), callback=st.just(True)),
        st.builds(
            Tapped,
            st.one_of(st.text(max_size=40), st.sampled_from(FORGED)),
            callback=st.just(True),
            formed=st.just(True),
        ),
    )
    return st.one_of(typed, tapped)


def callback_data() -> st.SearchStrategy[str]:
    """Telegram callback data that planbot never made."""
    return st.one_of(
        st.text(max_size=64),
        st.sampled_from(
            ["", ":", ".", "1.:x", ".a:x", "x.y:z", "99999999999999.a:x", "1.a", "-1.a:x", "1.-a:x"]
        ),
        st.builds(lambda n, value: f"{n}.zz:{value}", st.integers(0, 10**12), st.text()),
        st.builds(lambda n: f"{n}.a:x", st.integers(10**12, 10**40)),
    )


@dataclass
class World:
    """The probes of one test, each in a workspace of its own: `make` prepares one (buys,
    trials) and `enter` takes it from wherever it is to the step without changing anything
    else. After a move that changed nothing but the conversation the probe is entered again;
    after one that changed more, the next example gets a fresh probe."""

    services: Context
    make: Callable[[int], Awaitable[Probe]]
    enter: Callable[[Probe], Awaitable[None]]
    made: int = 0
    probe: Probe | None = None
    known: tuple[Row, tuple[Any, ...]] | None = None
    """The probe's conversation and the footprint as the last example left them."""

    async def current(self) -> Probe:
        if self.probe is None:
            self.made += 1
            self.probe = await self.make(self.made)
            self.known = None
            await self.enter(self.probe)
        return self.probe

    def spent(self) -> None:
        self.probe = self.known = None

    async def again(self) -> None:
        assert self.probe is not None
        self.known = None
        await self.enter(self.probe)

"""Flows declared as states and transitions: each step asks, then answers with a move."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.i18n import Translator
from bot.vocabulary import Option, Reply
from core.access import Actor
from core.services.context import Context

BACK, CANCEL, HELP = "back", "cancel", "help"


STANDING = "run:"
"""A button that stands for a command however old its message (a staff result's actions,
a notice's Pay): `run:<command>:<argument>` runs it whatever the conversation's version."""


def standing(command: str, argument: str = "") -> str:
    """The value of a button that runs `command argument` however old its message is."""
    return f"{STANDING}{command}:{argument}"


def slash(name: str) -> str:
    """How most platforms type a command: /name."""
    return f"/{name}"


@dataclass
class Turn:
    """What a step sees: who, which workspace, the answers so far, and how to speak."""

    services: Context
    actor: Actor
    workspace_id: int | None
    data: dict[str, Any]
    t: Translator
    version: int
    chat: tuple[str, str]
    conversation_key: str
    memo: dict[str, Any] = field(default_factory=dict)
    command: Callable[[str], str] = slash
    """How a person types the command `name` on this platform ("/plans details" in Slack)."""
    in_group: bool = False
    """The update came from a group chat whose members all see the answer."""

    def nav(self, *, back: bool = True) -> tuple[Option, ...]:
        """The Back and Cancel buttons every step offers."""
        options = [Option(self.t("Back"), BACK)] if back else []
        return (*options, Option(self.t("Cancel"), CANCEL))


@dataclass(frozen=True, slots=True)
class Go:
    """Move on to another step of the same flow (saying `note` first, if any)."""

    step: str
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Stay:
    """Refuse the answer with a message that says what is allowed; the state does not move."""

    message: str


@dataclass(frozen=True, slots=True)
class Done:
    """The flow is over; these are its last words."""

    replies: tuple[Reply, ...]


@dataclass(frozen=True, slots=True)
class Start:
    """Hand over to another flow, with what it should know already."""

    flow: str
    data: dict[str, Any] = field(default_factory=dict)


Move = Go | Stay | Done | Start
Ask = Callable[[Turn], Awaitable[list[Reply]]]
Answer = Callable[[Turn, str], Awaitable[Move]]
Begin = Callable[[Turn], Awaitable[Move]]


@dataclass(frozen=True, slots=True)
class Step:
    """`answer` gets a shown option's value; with `typed`, also text the person typed (a
    number, a name, a reason) that names none of the options."""

    ask: Ask
    answer: Answer
    goes_to: frozenset[str] = frozenset()
    typed: bool = False


class UndeclaredTransition(RuntimeError):
    """A step tried to move somewhere its flow does not declare."""


@dataclass(frozen=True, slots=True)
class Flow:
    """A named set of steps; `begin` picks the first step (or finishes at once)."""

    name: str
    begin: Begin
    steps: Mapping[str, Step] = field(default_factory=dict)
    entry: frozenset[str] = frozenset()

    def check(self, origin: str | None, move: Move) -> None:
        if not isinstance(move, Go):
            return
        allowed = self.entry if origin is None else self.steps[origin].goes_to
        if move.step not in allowed or move.step not in self.steps:
            raise UndeclaredTransition(f"{self.name}: {origin} -> {move.step} is not declared")


def choose(options: tuple[Option, ...], value: str) -> Option | None:
    """The option a tap (or a typed label the engine resolved) names by its value."""
    return next((option for option in options if option.value == value), None)


def _words(text: str) -> list[str]:
    return text.casefold().split()


def pick_label(options: tuple[Option, ...], typed: str) -> Option | None:
    """The option whose label the typed text names: the whole label (any case), or its
    leading words when they fit exactly one option ("12 months" for "12 months (-15%): ...")."""
    wanted = _words(typed)
    if not wanted:
        return None
    whole = [o for o in options if _words(o.label) == wanted]
    if whole:
        return whole[0]
    leading = [o for o in options if _leads(_words(o.label), wanted)]
    return leading[0] if len(leading) == 1 else None


def _leads(label: list[str], wanted: list[str]) -> bool:
    """`wanted` are the label's first words; the last may stop before the label's
    punctuation ("(-15%)" for "(-15%):")."""
    if len(wanted) > len(label) or label[: len(wanted) - 1] != wanted[:-1]:
        return False
    last, word = wanted[-1], label[len(wanted) - 1]
    return word == last or (word.startswith(last) and not word[len(last)].isalnum())

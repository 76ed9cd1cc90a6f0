"""What a `/staff` verb module declares: how it starts, given the words typed after it, and
the steps it asks with; the staff flow puts them together."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from bot.flow import Move, Step, Turn, standing
from core.access import StaffVerb

VerbBegin = Callable[[Turn, str], Awaitable[Move]]


@dataclass(frozen=True, slots=True)
class Verb:
    """One verb: `begin` gets what was typed after the verb (empty from the menu, where the
    verb asks for what it needs); `steps` are its own (names prefixed with the verb)."""

    verb: StaffVerb
    label: str
    """Its button in the `/staff` menu, marked for translation (N_)."""
    begin: VerbBegin
    steps: Mapping[str, Step] = field(default_factory=dict)
    entry: frozenset[str] = frozenset()
    """The steps `begin` may go to."""


def run(verb: StaffVerb, argument: str = "") -> str:
    """A button value that runs `/staff <verb> <argument>` however old its message is."""
    return standing("staff", f"{verb.value} {argument}".strip())

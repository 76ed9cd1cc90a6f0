"""The neutral message vocabulary: what flows receive and what they answer, on any platform."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Tap:
    """A pressed button: the option's value and the conversation version its menu carried."""

    value: str
    version: int


@dataclass(frozen=True, slots=True)
class Incoming:
    """One update from a person: who, where, and a text, a tap or a command."""

    platform: str
    workspace: str | None
    chat: str
    user: str
    locale: str = "en"
    text: str | None = None
    tap: Tap | None = None
    command: str | None = None
    argument: str = ""
    display_name: str | None = None
    workspace_id: int | None = None
    """Set by adapters that already know the workspace; it wins over `workspace`."""
    update_id: str | None = None
    """The platform's id of this update, where it has one: a repeat of it is answered quietly."""
    is_group: bool = False
    """From a group chat where everyone sees the answers (not an ephemeral or private one)."""


@dataclass(frozen=True, slots=True)
class Option:
    label: str
    value: str


@dataclass(frozen=True, slots=True)
class Text:
    text: str


@dataclass(frozen=True, slots=True)
class Choices:
    """A question with buttons; `version` lets a tap on an old menu be recognised."""

    text: str
    options: tuple[Option, ...]
    version: int


@dataclass(frozen=True, slots=True)
class NumberPrompt:
    """Ask for a whole number within bounds; `options` are shortcuts such as Back and Cancel."""

    text: str
    minimum: int
    maximum: int
    version: int
    options: tuple[Option, ...] = ()


@dataclass(frozen=True, slots=True)
class Link:
    text: str
    url: str


@dataclass(frozen=True, slots=True)
class Confirmation:
    """A review to accept or not: lines of detail, then confirm / back / cancel."""

    title: str
    lines: tuple[tuple[str, str], ...]
    options: tuple[Option, ...]
    version: int
    footnote: str = ""


@dataclass(frozen=True, slots=True)
class Image:
    """A picture (a PNG chart) with its caption: a photo, an uploaded file or a saved file."""

    png: bytes
    caption: str
    filename: str
    title: str = ""


Reply = Text | Choices | NumberPrompt | Link | Confirmation | Image


@dataclass(frozen=True, slots=True)
class Outgoing:
    """Replies to one update, for the chat the update came from."""

    platform: str
    chat: str
    replies: tuple[Reply, ...] = field(default_factory=tuple)

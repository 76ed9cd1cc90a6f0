"""Neutral replies as Telegram messages: HTML text, inline keyboards, short callback data."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from urllib.parse import urlsplit

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.flow import BACK, CANCEL
from bot.vocabulary import (
    Choices,
    Confirmation,
    Image,
    Link,
    NumberPrompt,
    Option,
    Reply,
    Tap,
    Text,
)

CALLBACK_LIMIT = 64  # bytes, Telegram's limit for callback_data
CAPTION_LIMIT = 1024  # characters of a photo's caption, once its HTML is parsed
STALE = Tap("", -1)  # what an undecodable button counts as: an out-of-date menu


class CallbackTooLong(ValueError):
    """An option value that cannot travel in 64 bytes (a flow bug, caught by the tests)."""


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


def encode_tap(version: int, value: str, owner: int) -> str:
    """`<version>.<owner>:<value>`: the conversation version, whose menu it is (a user id in
    base 36, so nobody else's tap can move it) and the option's short value; never state."""
    data = f"{version}.{_base36(abs(owner))}:{value}"
    if not 1 <= len(data.encode()) <= CALLBACK_LIMIT:
        raise CallbackTooLong(f"callback data over {CALLBACK_LIMIT} bytes: {data!r}")
    return data


def decode_tap(data: str | None) -> tuple[Tap, int | None]:
    """The tap and the user whose menu it was (None if the data cannot be read: stale)."""
    head, sep, value = (data or "").partition(":")
    version, _, owner = head.partition(".")
    if not sep or not version.isascii() or not version.isdigit() or len(version) > 12:
        return STALE, None
    if not owner.isascii() or not owner.isalnum() or len(owner) > 14:
        return STALE, None
    return Tap(value, int(version)), int(owner, 36)


@dataclass(frozen=True, slots=True)
class Photo:
    """A picture to upload with sendPhoto."""

    png: bytes
    filename: str


@dataclass(frozen=True, slots=True)
class Outbound:
    """One message to send: HTML text (a photo's caption, for a photo), an optional
    keyboard, and whether it carries a link."""

    html: str
    markup: InlineKeyboardMarkup | None = None
    link: bool = False
    photo: Photo | None = None


def _e(text: str) -> str:
    return escape(text, quote=False)


def keyboard(options: tuple[Option, ...], version: int, owner: int) -> InlineKeyboardMarkup | None:
    """One button per row; Back and Cancel share the last row."""
    if not options:
        return None
    main = [o for o in options if o.value not in (BACK, CANCEL)]
    nav = [o for o in options if o.value in (BACK, CANCEL)]
    rows = [[_button(o, version, owner)] for o in main]
    if nav:
        rows.append([_button(o, version, owner) for o in nav])
    return InlineKeyboardMarkup(rows)


def _button(option: Option, version: int, owner: int) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        option.label, callback_data=encode_tap(version, option.value, owner)
    )


def _url_button_allowed(url: str) -> bool:
    """Telegram accepts URL buttons for public http(s) addresses only; others stay in the text."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    local = host in ("localhost", "") or host.startswith("127.") or host.endswith(".test")
    return parts.scheme == "https" and not local


def caption_of(image: Image) -> str:
    """The caption as Telegram counts it (plain text, before HTML escaping), cut to fit."""
    if len(image.caption) <= CAPTION_LIMIT:
        return image.caption
    return image.caption[: CAPTION_LIMIT - 1] + "…"


def render(reply: Reply, owner: int) -> Outbound:
    if isinstance(reply, Text):
        return Outbound(_e(reply.text))
    if isinstance(reply, Image):
        return Outbound(_e(caption_of(reply)), photo=Photo(reply.png, reply.filename))
    if isinstance(reply, Link):
        html = f'{_e(reply.text)}: <a href="{escape(reply.url)}">{_e(reply.url)}</a>'
        markup = None
        if _url_button_allowed(reply.url):
            markup = InlineKeyboardMarkup([[InlineKeyboardButton(reply.text, url=reply.url)]])
        return Outbound(html, markup, link=True)
    if isinstance(reply, Confirmation):
        lines = [f"<b>{_e(reply.title)}</b>"]
        lines += [f"{_e(label)}: <b>{_e(value)}</b>" for label, value in reply.lines]
        if reply.footnote:
            lines.append(f"<i>{_e(reply.footnote)}</i>")
        return Outbound("\n".join(lines), keyboard(reply.options, reply.version, owner))
    if isinstance(reply, NumberPrompt):
        return Outbound(_e(reply.text), keyboard(reply.options, reply.version, owner))
    assert isinstance(reply, Choices)
    return Outbound(_e(reply.text), keyboard(reply.options, reply.version, owner))


def compose(replies: list[Reply], owner: int) -> list[Outbound]:
    """Replies as few messages: plain texts join the menu that follows them; links and
    photos stand alone.

    `owner` is the user the menus are for."""
    out: list[Outbound] = []
    pending: list[str] = []
    for reply in replies:
        message = render(reply, owner)
        if isinstance(reply, Text):
            pending.append(message.html)
            continue
        if message.link or message.photo is not None:
            if pending:
                out.append(Outbound("\n\n".join(pending)))
                pending = []
            out.append(message)
            continue
        out.append(Outbound("\n\n".join([*pending, message.html]), message.markup))
        pending = []
    if pending:
        out.append(Outbound("\n\n".join(pending)))
    return out

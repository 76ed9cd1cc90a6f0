"""Neutral replies as Telegram messages: HTML text, inline keyboards, short callback data."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from urllib.parse import urlsplit

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.flow import BACK, CANCEL
from bot.vocabulary import Choices, Confirmation, Link, NumberPrompt, Option, Reply, Tap, Text

CALLBACK_LIMIT = 64  # bytes, Telegram's limit for callback_data
STALE = Tap("", -1)  # what an undecodable button counts as: an out-of-date menu


class CallbackTooLong(ValueError):
    """An option value that cannot travel in 64 bytes (a flow bug, caught by the tests)."""


def encode_tap(version: int, value: str) -> str:
    """`<version>:<value>`: the conversation version and the option's short value, never state."""
    data = f"{version}:{value}"
    if not 1 <= len(data.encode()) <= CALLBACK_LIMIT:
        raise CallbackTooLong(f"callback data over {CALLBACK_LIMIT} bytes: {data!r}")
    return data


def decode_tap(data: str | None) -> Tap:
    version, sep, value = (data or "").partition(":")
    if not sep or not version.isascii() or not version.isdigit() or len(version) > 12:
        return STALE
    return Tap(value, int(version))


@dataclass(frozen=True, slots=True)
class Outbound:
    """One message to send: HTML text, an optional keyboard, and whether it carries a link."""

    html: str
    markup: InlineKeyboardMarkup | None = None
    link: bool = False


def _e(text: str) -> str:
    return escape(text, quote=False)


def keyboard(options: tuple[Option, ...], version: int) -> InlineKeyboardMarkup | None:
    """One button per row; Back and Cancel share the last row."""
    if not options:
        return None
    main = [o for o in options if o.value not in (BACK, CANCEL)]
    nav = [o for o in options if o.value in (BACK, CANCEL)]
    rows = [[_button(o, version)] for o in main]
    if nav:
        rows.append([_button(o, version) for o in nav])
    return InlineKeyboardMarkup(rows)


def _button(option: Option, version: int) -> InlineKeyboardButton:
    return InlineKeyboardButton(option.label, callback_data=encode_tap(version, option.value))


def _url_button_allowed(url: str) -> bool:
    """Telegram accepts URL buttons for public http(s) addresses only; others stay in the text."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    local = host in ("localhost", "") or host.startswith("127.") or host.endswith(".test")
    return parts.scheme == "https" and not local


def render(reply: Reply) -> Outbound:
    if isinstance(reply, Text):
        return Outbound(_e(reply.text))
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
        return Outbound("\n".join(lines), keyboard(reply.options, reply.version))
    if isinstance(reply, NumberPrompt):
        return Outbound(_e(reply.text), keyboard(reply.options, reply.version))
    assert isinstance(reply, Choices)
    return Outbound(_e(reply.text), keyboard(reply.options, reply.version))


def compose(replies: list[Reply]) -> list[Outbound]:
    """Replies as few messages: plain texts join the menu that follows them; links stand alone."""
    out: list[Outbound] = []
    pending: list[str] = []
    for reply in replies:
        message = render(reply)
        if isinstance(reply, Text):
            pending.append(message.html)
            continue
        if message.link:
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

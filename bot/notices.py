"""Notices in the user's language: what a chat is told when something happens elsewhere,
as replies with the one-tap action that resolves them (DESIGN section 14)."""

from __future__ import annotations

from collections.abc import Callable

from bot.flow import slash
from bot.i18n import DEFAULT_LANGUAGE, Translator
from bot.notice_words import WORDS, Renderer, Words
from bot.staff_change_notices import staff_changed, staff_decided
from bot.staff_notices import staff_approval, staff_flagged
from bot.vocabulary import Link, Reply, Text
from core.catalog import Catalog
from core.notice_kinds import PAYLOADS, RENAMED, payload_of
from core.ports import Notice
from core.staff import StaffDirectory

Command = Callable[[str], str]
NoticeRenderer = Callable[[Translator, Catalog, Notice, Command], list[Reply]]
"""Turns one kind of notice into replies; `command` says how a command is typed there."""


def _typed(render: Renderer) -> NoticeRenderer:
    """A customer kind's renderer over its typed payload; a payload that cannot be read (an
    old or damaged row) falls back to pointing at the details."""

    def replies(t: Translator, catalog: Catalog, notice: Notice, command: Command) -> list[Reply]:
        payload = payload_of(notice.kind, notice.data)
        if payload is None:
            return something_changed(t, catalog, notice, command)
        return render(Words(t, catalog, command), payload)

    return replies


def something_changed(t: Translator, _: Catalog, __: Notice, command: Command) -> list[Reply]:
    """A kind nobody registered a renderer for still tells the chat where to look."""
    return [
        Text(
            t(
                "Something changed in your subscriptions. Send {command} for the details.",
                command=command("subscription"),
            )
        )
    ]


NOTICE_RENDERERS: dict[str, NoticeRenderer] = {
    **{kind.value: _typed(WORDS[cls]) for kind, cls in PAYLOADS.items()},
    **{old: _typed(WORDS[PAYLOADS[new]]) for old, new in RENAMED.items()},
    "staff.flagged": staff_flagged,
    "staff.approval": staff_approval,
    "staff.changed": staff_changed,
    "staff.decided": staff_decided,
}


def notice_replies(
    t: Translator, catalog: Catalog, notice: Notice, command: Command = slash
) -> list[Reply]:
    """The notice as replies: its text, and the buttons or the link that resolve it."""
    render = NOTICE_RENDERERS.get(notice.kind, something_changed)
    return render(t, catalog, notice, command)


def notice_text(t: Translator, catalog: Catalog, notice: Notice, command: Command = slash) -> str:
    """The notice as plain text, for places that show no buttons (links written out)."""
    parts: list[str] = []
    for reply in notice_replies(t, catalog, notice, command):
        if isinstance(reply, Link):
            parts.append(f"{reply.text}: {reply.url}")
        elif isinstance(reply, Text):
            parts.append(reply.text)
    return "\n".join(parts)


def notice_translator(
    staff: StaffDirectory, notice: Notice, locale: str | None, zone: str
) -> Translator:
    """A customer's chat reads its workspace's language; a staff chat the default one, with
    dates in the zone of the workspace the notice is about."""
    platform, chat = notice.chat_platform, notice.chat_id
    if platform is not None and chat is not None and staff.is_staff_chat(platform, chat):
        return Translator(DEFAULT_LANGUAGE, zone)
    return Translator(locale or DEFAULT_LANGUAGE, zone)

"""Neutral replies as Block Kit: sections, buttons and static selects whose values carry the
conversation version, and a number button that opens the quantity modal."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

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

TAP_ACTION = "planbot_tap"
SELECT_ACTION = "planbot_select"
NUMBER_ACTION = "planbot_number"
QUANTITY_MODAL = "planbot_quantity"
QUANTITY_BLOCK = "quantity"
QUANTITY_INPUT = "quantity_value"
MAX_BUTTONS = 5  # more options than this go in a static select
VALUE_LIMIT = 2000  # Slack's limit for a button or option value
OPTION_TEXT_LIMIT = 75
STALE = Tap("", -1)

Block = dict[str, Any]


def encode_tap(version: int, value: str) -> str:
    """`<version>:<value>`: the conversation version the menu was made at and the option."""
    data = f"{version}:{value}"
    if len(data) > VALUE_LIMIT:
        raise ValueError(f"action value over {VALUE_LIMIT} characters: {data[:40]!r}...")
    return data


def decode_tap(data: object) -> Tap:
    """The tap an action value carries; anything unreadable counts as an out-of-date menu."""
    if not isinstance(data, str):
        return STALE
    version, sep, value = data.partition(":")
    if not sep or not version.isascii() or not version.isdigit() or len(version) > 12:
        return STALE
    return Tap(value, int(version))


def mrkdwn_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _plain(text: str, limit: int = OPTION_TEXT_LIMIT) -> dict[str, Any]:
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return {"type": "plain_text", "text": text, "emoji": True}


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}


def _button(option: Option, version: int, index: int) -> Block:
    button: Block = {
        "type": "button",
        "action_id": f"{TAP_ACTION}:{index}",
        "text": _plain(option.label),
        "value": encode_tap(version, option.value),
    }
    if option.value == CANCEL:
        button["style"] = "danger"
    return button


@dataclass(frozen=True, slots=True)
class Wording:
    """The adapter's own words on controls, in the person's language."""

    number: str = "Enter the number"
    choose: str = "Choose…"
    no_chart: str = "The chart could not be posted in this channel."


def _actions(options: tuple[Option, ...], version: int, wording: Wording) -> list[Block]:
    """Up to five buttons in a row; more choices become one static select, Back and Cancel
    staying buttons beside it."""
    if not options:
        return []
    main = [o for o in options if o.value not in (BACK, CANCEL)]
    nav = [o for o in options if o.value in (BACK, CANCEL)]
    elements: list[Block] = []
    if len(main) > MAX_BUTTONS:
        elements.append(
            {
                "type": "static_select",
                "action_id": SELECT_ACTION,
                "placeholder": _plain(wording.choose),
                "options": [
                    {"text": _plain(o.label), "value": encode_tap(version, o.value)}
                    for o in main[:100]
                ],
            }
        )
    else:
        elements += [_button(o, version, n) for n, o in enumerate(main)]
    elements += [_button(o, version, len(main) + n) for n, o in enumerate(nav)]
    return [{"type": "actions", "elements": elements}]


@dataclass(frozen=True, slots=True)
class FileUpload:
    """A picture to upload into the channel (files_upload_v2); the message's text is its
    comment."""

    png: bytes
    filename: str
    title: str
    refused: str
    """Said with the message's text instead, if Slack refuses the upload there."""


@dataclass(frozen=True, slots=True)
class Outbound:
    """One Slack message: fallback text and its blocks, or a file with a comment."""

    text: str
    blocks: list[Block] = field(default_factory=list)
    upload: FileUpload | None = None

    def without_upload(self) -> Outbound:
        """The comment alone, saying the picture could not be posted."""
        assert self.upload is not None
        note: Block = {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": mrkdwn_escape(self.upload.refused)}],
        }
        return Outbound(self.text, [*self.blocks, note][:50])


def number_button(reply: NumberPrompt, label: str) -> Block:
    value = json.dumps({"v": reply.version, "min": reply.minimum, "max": reply.maximum})
    return {
        "type": "button",
        "action_id": NUMBER_ACTION,
        "style": "primary",
        "text": _plain(label),
        "value": value,
    }


def blocks_for(reply: Reply, wording: Wording = Wording()) -> Outbound:
    if isinstance(reply, Text):
        return Outbound(reply.text, [_section(mrkdwn_escape(reply.text))])
    if isinstance(reply, Link):
        text = f"{reply.text}: {reply.url}"
        block: Block = _section(f"<{reply.url}|{mrkdwn_escape(reply.text)}>")
        block["accessory"] = {
            "type": "button",
            "action_id": "planbot_link",
            "text": _plain(reply.text),
            "url": reply.url,
        }
        return Outbound(text, [block])
    if isinstance(reply, Confirmation):
        fields = [
            {"type": "mrkdwn", "text": f"*{mrkdwn_escape(label)}*\n{mrkdwn_escape(value)}"}
            for label, value in reply.lines
        ]
        blocks: list[Block] = [{"type": "header", "text": _plain(reply.title, 150)}]
        for start in range(0, len(fields), 10):
            blocks.append({"type": "section", "fields": fields[start : start + 10]})
        if reply.footnote:
            blocks.append(
                {
                    "type": "context",
                    "elements": [{"type": "mrkdwn", "text": mrkdwn_escape(reply.footnote)}],
                }
            )
        blocks += _actions(reply.options, reply.version, wording)
        lines = [reply.title, *(f"{label}: {value}" for label, value in reply.lines)]
        return Outbound("\n".join(lines), blocks)
    if isinstance(reply, NumberPrompt):
        actions = _actions(reply.options, reply.version, wording)
        button = number_button(reply, wording.number)
        if actions:
            actions[0]["elements"].insert(0, button)
        else:
            actions = [{"type": "actions", "elements": [button]}]
        return Outbound(reply.text, [_section(mrkdwn_escape(reply.text)), *actions])
    assert isinstance(reply, Choices)
    return Outbound(
        reply.text,
        [_section(mrkdwn_escape(reply.text)), *_actions(reply.options, reply.version, wording)],
    )


def _upload(image: Image, pending: list[Outbound], wording: Wording) -> Outbound:
    """A picture with the texts before it as its comment (its caption if there are none)."""
    texts = pending or [Outbound(image.caption, [_section(mrkdwn_escape(image.caption))])]
    return Outbound(
        "\n\n".join(p.text for p in texts),
        [b for p in texts for b in p.blocks][:49],
        FileUpload(image.png, image.filename, image.title or image.filename, wording.no_chart),
    )


def compose(replies: list[Reply], wording: Wording = Wording()) -> list[Outbound]:
    """Replies as few messages: texts join the menu or picture that follows them; links
    stand alone."""
    out: list[Outbound] = []
    pending: list[Outbound] = []

    def joined(extra: list[Outbound]) -> Outbound:
        parts = [*pending, *extra]
        return Outbound(
            "\n\n".join(p.text for p in parts), [b for p in parts for b in p.blocks][:50]
        )

    for reply in replies:
        if isinstance(reply, Image):
            out.append(_upload(reply, pending, wording))
            pending = []
            continue
        message = blocks_for(reply, wording)
        if isinstance(reply, Text):
            pending.append(message)
            continue
        if isinstance(reply, Link):
            if pending:
                out.append(joined([]))
                pending = []
            out.append(message)
            continue
        out.append(joined([message]))
        pending = []
    if pending:
        out.append(joined([]))
    return out


def quantity_modal(
    title: str, label: str, submit: str, close: str, minimum: int, maximum: int, metadata: str
) -> Block:
    """The modal asking for a whole number between `minimum` and `maximum`."""
    return {
        "type": "modal",
        "callback_id": QUANTITY_MODAL,
        "title": _plain(title, 24),
        "submit": _plain(submit, 24),
        "close": _plain(close, 24),
        "private_metadata": metadata,
        "blocks": [
            {
                "type": "input",
                "block_id": QUANTITY_BLOCK,
                "label": _plain(label, 2000),
                "element": {
                    "type": "number_input",
                    "action_id": QUANTITY_INPUT,
                    "is_decimal_allowed": False,
                    "min_value": str(minimum),
                    "max_value": str(maximum),
                    "focus_on_load": True,
                },
            }
        ],
    }

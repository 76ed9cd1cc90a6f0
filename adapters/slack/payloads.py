"""Reading Slack's request bodies: who asked, from which team, where the answer goes, and
what the quantity modal holds."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from adapters.slack import texts
from adapters.slack.render import QUANTITY_BLOCK, QUANTITY_INPUT
from bot.i18n import Translator

HOME = "home"


@dataclass(frozen=True, slots=True)
class Where:
    """Where replies go: Home, a message to update in the app's DM, or the caller alone in a
    channel (through the request's `response_url` when there is one, else postEphemeral)."""

    team: str
    channel: str
    user: str
    ts: str | None = None
    response_url: str | None = None
    replace: bool = False
    """The request came from an ephemeral message, which only its response_url can replace."""

    @property
    def chat(self) -> str:
        return f"{self.channel}:{self.user}"

    @property
    def is_home(self) -> bool:
        return self.channel == HOME

    @property
    def is_direct(self) -> bool:
        return self.channel.startswith("D")


def team_of(body: dict[str, Any]) -> tuple[str, str]:
    """The team id and a name for it, from any kind of request."""
    team = body.get("team")
    if isinstance(team, dict):
        return str(team.get("id") or ""), str(team.get("domain") or team.get("id") or "")
    team_id = str(body.get("team_id") or team or "")
    return team_id, str(body.get("team_domain") or team_id)


def user_of(body: dict[str, Any]) -> str:
    user = body.get("user")
    if isinstance(user, dict):
        return str(user.get("id") or "")
    return str(body.get("user_id") or user or "")


_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|([^>]*))?>")


def mentions_as_ids(text: str) -> str:
    """Slack's escaped mentions (`<@U123|ana>`) as the user id and name ("U123 ana")."""
    return _MENTION.sub(lambda m: f"{m.group(1)} {m.group(2) or ''}".rstrip(), text)


def _response_url(body: dict[str, Any]) -> str | None:
    url = body.get("response_url")
    return str(url) if isinstance(url, str) and url.startswith(("https://", "http://")) else None


def where_of_command(body: dict[str, Any]) -> Where:
    return Where(
        team_of(body)[0],
        str(body.get("channel_id") or ""),
        user_of(body),
        response_url=_response_url(body),
    )


def where_of_action(body: dict[str, Any]) -> Where:
    """A tap on Home, on a message in the app's DM (updated by ts) or on an ephemeral one."""
    team, user = team_of(body)[0], user_of(body)
    container = body.get("container") or {}
    if container.get("type") == "view":
        return Where(team, HOME, user)
    channel = str((body.get("channel") or {}).get("id") or container.get("channel_id") or "")
    ephemeral = bool(container.get("is_ephemeral"))
    ts = container.get("message_ts") if not ephemeral else None
    url = _response_url(body)
    return Where(
        team, channel, user, str(ts) if ts else None, url, replace=ephemeral and url is not None
    )


def where_of_submission(body: dict[str, Any]) -> Where | None:
    """Where the menu that opened the quantity modal was, as the modal's metadata keeps it."""
    meta = metadata(body)
    if not meta.get("c"):
        return None
    ts, url = meta.get("ts"), meta.get("r")
    return Where(
        team_of(body)[0],
        str(meta["c"]),
        user_of(body),
        str(ts) if ts else None,
        str(url) if url else None,
        replace=bool(url) and not ts,
    )


def metadata(body: dict[str, Any]) -> dict[str, Any]:
    try:
        meta = json.loads(str((body.get("view") or {}).get("private_metadata") or "{}"))
    except ValueError:
        return {}
    return meta if isinstance(meta, dict) else {}


def quantity(body: dict[str, Any]) -> int | None:
    """The whole number typed in the modal, or None."""
    values = ((body.get("view") or {}).get("state") or {}).get("values") or {}
    raw = ((values.get(QUANTITY_BLOCK) or {}).get(QUANTITY_INPUT) or {}).get("value")
    text = str(raw or "").strip()
    if not text.isascii() or not text.isdigit() or len(text) > 12:
        return None
    return int(text)


def quantity_error(t: Translator, body: dict[str, Any]) -> str | None:
    """Why the modal's number cannot be taken, or None when it is within the bounds."""
    meta = metadata(body)
    value = quantity(body)
    try:
        minimum, maximum = int(meta.get("min", 1)), int(meta.get("max", 10**9))
    except (TypeError, ValueError):
        minimum, maximum = 1, 10**9
    if value is None:
        return texts.not_a_whole_number(t)
    if not minimum <= value <= maximum:
        return texts.out_of_range(t, minimum, maximum)
    return None

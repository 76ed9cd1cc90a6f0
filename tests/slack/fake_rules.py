"""What the Slack Web API refuses, so the fake answers errors where Slack would: missing
arguments, blocks past Block Kit's limits, a modal's trigger_id used twice, and file uploads
without a name, a length or the files to complete."""

from __future__ import annotations

from typing import Any

REQUIRED = {
    "chat.postMessage": ("channel",),
    "chat.postEphemeral": ("channel", "user"),
    "chat.update": ("channel", "ts"),
    "views.open": ("trigger_id", "view"),
    "views.update": ("view",),
    "views.publish": ("user_id", "view"),
    "users.info": ("user",),
    "files.getUploadURLExternal": ("filename", "length"),
    "files.completeUploadExternal": ("files",),
}
MESSAGE_BLOCKS, VIEW_BLOCKS = 50, 100
SECTION_TEXT, PLAIN_TEXT, VALUE, ACTION_ID = 3000, 75, 2000, 255
ELEMENTS_PER_ACTIONS, OPTIONS = 25, 100


def refusal(method: str, args: dict[str, Any], used_triggers: set[str]) -> str | None:
    """The error Slack would answer, or None when it would accept the call."""
    for name in REQUIRED.get(method, ()):
        if not args.get(name):
            return "invalid_arguments"
    if method.startswith("chat.") and not (args.get("text") or args.get("blocks")):
        return "no_text"
    if method == "views.update" and not (args.get("view_id") or args.get("external_id")):
        return "invalid_arguments"
    if method == "files.getUploadURLExternal" and not _positive(args["length"]):
        return "invalid_arguments"
    if method == "files.completeUploadExternal" and _file_ids(args["files"]) is None:
        return "invalid_arguments"
    if method == "views.open":
        trigger = str(args["trigger_id"])
        if trigger in used_triggers:
            return "exchanged_trigger_id"
        used_triggers.add(trigger)
    if method.startswith("views."):
        view = args.get("view") or {}
        return _blocks(view.get("blocks") or [], VIEW_BLOCKS)
    return _blocks(args.get("blocks") or [], MESSAGE_BLOCKS)


def _positive(value: object) -> bool:
    text = str(value)
    return text.isascii() and text.isdigit() and int(text) > 0


def _file_ids(files: object) -> list[str] | None:
    """The ids of completeUploadExternal's `files` (a JSON array of {"id", "title"})."""
    if not isinstance(files, list) or not files:
        return None
    ids = [f.get("id") for f in files if isinstance(f, dict)]
    if len(ids) != len(files) or not all(isinstance(i, str) and i for i in ids):
        return None
    return [str(i) for i in ids]


def file_ids(files: object) -> list[str]:
    found = _file_ids(files)
    assert found is not None
    return found


def _blocks(blocks: list[dict[str, Any]], limit: int) -> str | None:
    if len(blocks) > limit:
        return "invalid_blocks"
    for block in blocks:
        if _block_error(block):
            return "invalid_blocks"
    return None


def _block_error(block: dict[str, Any]) -> bool:
    text = block.get("text") or {}
    if len(str(text.get("text") or "")) > SECTION_TEXT:
        return True
    if block.get("type") == "header" and len(str(text.get("text") or "")) > 150:
        return True
    elements = list(block.get("elements") or [])
    if block.get("type") == "actions" and not 0 < len(elements) <= ELEMENTS_PER_ACTIONS:
        return True
    if block.get("accessory"):
        elements.append(block["accessory"])
    if block.get("element"):
        elements.append(block["element"])
    return any(_element_error(e) for e in elements)


def _element_error(element: dict[str, Any]) -> bool:
    kind = element.get("type")
    if kind in ("button", "static_select", "number_input", "plain_text_input"):
        action_id = str(element.get("action_id") or "")
        if not action_id or len(action_id) > ACTION_ID:
            return True
    if kind == "button":
        label = str((element.get("text") or {}).get("text") or "")
        has_target = element.get("value") or element.get("url")
        return (
            not label
            or len(label) > PLAIN_TEXT
            or len(str(element.get("value") or "")) > VALUE
            or not has_target
        )
    if kind == "static_select":
        options = element.get("options") or []
        return not 0 < len(options) <= OPTIONS or any(
            len(str(o["text"]["text"])) > PLAIN_TEXT or len(str(o["value"])) > 150 for o in options
        )
    return False

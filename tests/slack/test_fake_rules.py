"""The fake refuses what Slack refuses, so the adapter's tests would see it: bad messages and
views, and file uploads that announce one length and send another, or complete too early."""

from __future__ import annotations

import json

import httpx

from tests.slack.fake_api import TOKEN, FakeSlackApi
from tests.slack.fake_rules import refusal


def button(label: str, value: str = "1:x") -> dict[str, object]:
    return {
        "type": "button",
        "action_id": "a",
        "text": {"type": "plain_text", "text": label},
        "value": value,
    }


def message(*blocks: dict[str, object]) -> dict[str, object]:
    return {"channel": "C1", "text": "t", "blocks": list(blocks)}


def test_a_well_formed_message_is_accepted() -> None:
    actions = {"type": "actions", "elements": [button("Next")]}
    assert refusal("chat.postMessage", message(actions), set()) is None


def test_missing_arguments_and_text_are_refused() -> None:
    assert refusal("chat.postEphemeral", {"channel": "C1", "text": "t"}, set()) == (
        "invalid_arguments"
    )
    assert refusal("chat.postMessage", {"channel": "C1"}, set()) == "no_text"


def test_blocks_past_block_kits_limits_are_refused() -> None:
    long_label = {"type": "actions", "elements": [button("x" * 76)]}
    long_value = {"type": "actions", "elements": [button("ok", "v" * 2001)]}
    empty_actions: dict[str, object] = {"type": "actions", "elements": []}
    long_text = {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}
    for block in (long_label, long_value, empty_actions, long_text):
        assert refusal("chat.postMessage", message(block), set()) == "invalid_blocks"
    many = [{"type": "divider"}] * 51
    assert refusal("chat.postMessage", message(*many), set()) == "invalid_blocks"


def test_a_modal_trigger_opens_one_view_only() -> None:
    used: set[str] = set()
    view = {"type": "modal", "blocks": []}
    assert refusal("views.open", {"trigger_id": "t1", "view": view}, used) is None
    assert refusal("views.open", {"trigger_id": "t1", "view": view}, used) == (
        "exchanged_trigger_id"
    )


def test_an_upload_url_needs_a_filename_and_a_length() -> None:
    assert (
        refusal("files.getUploadURLExternal", {"filename": "a.png", "length": "12"}, set()) is None
    )
    for args in ({"length": "12"}, {"filename": "a.png"}, {"filename": "a.png", "length": "0"}):
        assert refusal("files.getUploadURLExternal", args, set()) == "invalid_arguments"
    assert refusal("files.getUploadURLExternal", {"filename": "a", "length": "-3"}, set()) == (
        "invalid_arguments"
    )


def test_completing_an_upload_needs_the_files() -> None:
    files = [{"id": "F1", "title": "Chart"}]
    assert refusal("files.completeUploadExternal", {"files": files}, set()) is None
    for bad in (None, [], [{"title": "no id"}], "F1"):
        assert refusal("files.completeUploadExternal", {"files": bad}, set()) == (
            "invalid_arguments"
        )


async def test_the_upload_url_takes_exactly_the_announced_bytes(api: FakeSlackApi) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(base_url=api.url, headers=headers) as http:
        asked = await http.post(
            "/api/files.getUploadURLExternal", data={"filename": "a.png", "length": "4"}
        )
        upload = asked.json()
        assert upload["ok"] is True
        short = await http.post(upload["upload_url"], content=b"abc")
        assert short.status_code == 400
        complete = {"files": json.dumps([{"id": upload["file_id"]}]), "channel_id": "C1"}
        early = await http.post("/api/files.completeUploadExternal", data=complete)
        assert early.json() == {"ok": False, "error": "file_not_found"}
        assert (await http.post(upload["upload_url"], content=b"abcd")).text == "OK - 4"
        assert (await http.post(upload["upload_url"], content=b"abcd")).status_code == 400
        done = await http.post("/api/files.completeUploadExternal", data=complete)
        assert done.json()["ok"] is True
        again = await http.post("/api/files.completeUploadExternal", data=complete)
        assert again.json() == {"ok": False, "error": "file_not_found"}
    assert [f.data for f in api.files] == [b"abcd"]
    assert api.refused_uploads == ["3 bytes sent, 4 announced", "already uploaded"]
    assert [c.args["failed"] for c in api.rejected] == ["file_not_found", "file_not_found"]
    api.rejected.clear()

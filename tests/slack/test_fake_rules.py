"""The fake refuses what Slack refuses, so the adapter's tests would see it."""

from __future__ import annotations

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

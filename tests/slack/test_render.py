"""Block Kit rendering: action values, selects for long lists, escaping, the quantity modal."""

from __future__ import annotations

from adapters.slack.render import (
    SELECT_ACTION,
    STALE,
    Wording,
    blocks_for,
    compose,
    decode_tap,
    encode_tap,
    quantity_modal,
)
from bot.flow import BACK, CANCEL
from bot.vocabulary import Choices, Link, NumberPrompt, Option, Tap, Text


def test_action_values_carry_the_version_and_junk_is_stale() -> None:
    assert decode_tap(encode_tap(7, "cc2:12")) == Tap("cc2:12", 7)
    for junk in (None, 5, "", "x:y", "12", "-1:a", "1" * 13 + ":a"):
        assert decode_tap(junk) == STALE


def test_many_choices_become_a_static_select_with_back_and_cancel_as_buttons() -> None:
    options = tuple(Option(f"Choice {n}", f"v{n}") for n in range(8))
    nav = (Option("Back", BACK), Option("Cancel", CANCEL))
    message = blocks_for(Choices("Pick", options + nav, 3))
    elements = message.blocks[-1]["elements"]
    assert elements[0]["type"] == "static_select" and elements[0]["action_id"] == SELECT_ACTION
    assert len(elements[0]["options"]) == 8
    assert [e["text"]["text"] for e in elements[1:]] == ["Back", "Cancel"]
    assert elements[-1]["style"] == "danger"


def test_text_is_escaped_for_mrkdwn_and_links_stand_alone() -> None:
    messages = compose([Text("a <b> & c"), Link("Pay", "https://pay.test/x?a=1&b=2"), Text("z")])
    assert len(messages) == 3
    assert messages[0].blocks[0]["text"]["text"] == "a &lt;b&gt; &amp; c"
    assert messages[1].blocks[0]["accessory"]["url"] == "https://pay.test/x?a=1&b=2"


def test_a_number_prompt_offers_the_modal_button_first() -> None:
    prompt = NumberPrompt("How many?", 1, 500, 4, (Option("Back", BACK),))
    message = blocks_for(prompt, Wording(number="Enter"))
    elements = message.blocks[-1]["elements"]
    assert elements[0]["action_id"] == "planbot_number"
    assert '"min": 1' in elements[0]["value"] and '"max": 500' in elements[0]["value"]
    modal = quantity_modal("Quantity", "How many", "Go", "Close", 1, 500, "{}")
    element = modal["blocks"][0]["element"]
    assert (element["min_value"], element["max_value"]) == ("1", "500")
    assert modal["blocks"][0]["block_id"] == "quantity"

"""The look-up verbs through Bolt's `/staff` slash command and the fake Web API: each verb
once, a hit's button and the card's select, refusals for customers and unknown verbs."""

from __future__ import annotations

import pytest

from core.access import StaffTier
from core.services.context import Context
from core.staff import StaffDirectory
from tests.integration.staff_seed import Seeded, seed_customer
from tests.slack.conftest import CHANNEL, Slack, buttons, text_of

MANAGER, VIEWER, CUSTOMER = "USTAFF", "UVIEW", "UCUSTOMER"


@pytest.fixture
async def seeded(services: Context) -> Seeded:
    services.staff = StaffDirectory(
        {f"slack:{MANAGER}": StaffTier.MANAGER, f"slack:{VIEWER}": StaffTier.VIEWER}
    )
    return await seed_customer(services)


async def staff_command(slack: Slack, user: str, text: str) -> str:
    """Run `/staff <text>` in the channel; returns what the user was shown in answer."""
    assert slack.bot is not None
    seen, before = len(slack.api.messages(CHANNEL, user)), slack.bot.done
    form = {**slack.command_form(user, text), "command": "/staff"}
    response = await slack.post_form(form)
    assert response.status_code == 200, response.text
    await slack.settle(before)
    return "\n".join(text_of(m) for m in slack.api.messages(CHANNEL, user)[seen:])


async def test_a_viewer_runs_each_lookup_verb_through_the_staff_command(
    slack: Slack, seeded: Seeded
) -> None:
    ws = seeded.workspace_id
    expected = {
        "find acme": f"#{ws} Acme Support (telegram) - by name",
        f"show {ws}": "Time zone: Asia/Ho_Chi_Minh - credit balance: $0.00",
        f"audit {ws}": "console:sam (manager) - support.refund",
        f"orders {ws}": f"{seeded.paid.reference} (new purchase) - paid",
        f"payments {ws}": "$765.00 applied - fake " + seeded.first_payment,
        "flagged": "Payments that need support, oldest first:",
        f"notices {ws}": "trial.reminder to telegram 1001 - pending",
    }
    for typed, answer in expected.items():
        assert answer in await staff_command(slack, VIEWER, typed), typed


async def test_a_hit_opens_the_card_and_its_select_runs_the_next_lookup(
    slack: Slack, seeded: Seeded
) -> None:
    ws = seeded.workspace_id
    await staff_command(slack, MANAGER, "find acme")
    text = await slack.tap(MANAGER, f"#{ws} Acme Support")
    assert "Members (3):" in text
    offered = buttons(slack.latest(MANAGER))
    assert offered["Notices"]["type"] == "static_select"
    assert f"Refund {seeded.paid.reference}" in offered
    text = await slack.tap(MANAGER, "Notices")
    assert f"Notices of #{ws} Acme Support, newest first:" in text
    assert "Time zone:" in await slack.tap(MANAGER, "Back to the workspace")


async def test_a_customer_is_refused_and_an_unknown_verb_lists_the_verbs(
    slack: Slack, seeded: Seeded
) -> None:
    text = await staff_command(slack, CUSTOMER, f"show {seeded.workspace_id}")
    assert "Only support staff can do that." in text
    assert "Acme Support" not in text
    text = await staff_command(slack, VIEWER, "nonsense")
    assert "There is no staff verb 'nonsense'. Yours: find, show, audit," in text
    assert "Support staff: what would you like to do?" in await staff_command(slack, VIEWER, "")

"""Who may use which /staff verb (DESIGN 13's table), and what staff may do as customers do
(DESIGN 4): every verb against every tier, every customer role and an outsider."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.access import (
    STAFF_TABLE,
    Action,
    Actor,
    StaffTier,
    StaffVerb,
    allowed,
    require_staff,
    staff_may,
    staff_verbs,
)
from core.errors import NotAllowed
from core.staff import (
    StaffChat,
    StaffSettingError,
    parse_approval_over,
    parse_staff,
    parse_staff_chats,
)
from core.states import Role

LOOK_UPS = {"find", "show", "audit", "orders", "payments", "flagged", "notices", "stats"}
AGENT_CHANGES = {"extend", "resend", "grant", "unsubscribe", "resume"}
MANAGER_CHANGES = {"cancel", "refund", "credit"}

EXPECTED = {
    StaffTier.VIEWER: LOOK_UPS,
    StaffTier.AGENT: LOOK_UPS | AGENT_CHANGES,
    StaffTier.MANAGER: LOOK_UPS | AGENT_CHANGES | MANAGER_CHANGES,
}
CUSTOMERS = [Role.OWNER, Role.ADMIN, Role.MEMBER, None]  # None: an outsider


def test_the_table_names_every_verb_of_the_design() -> None:
    named = {verb.value for verb in STAFF_TABLE}
    assert named >= LOOK_UPS | AGENT_CHANGES | MANAGER_CHANGES


@pytest.mark.parametrize("tier", list(StaffTier))
@pytest.mark.parametrize("verb", sorted(LOOK_UPS | AGENT_CHANGES | MANAGER_CHANGES))
def test_each_tier_may_use_exactly_the_verbs_of_its_column(tier: StaffTier, verb: str) -> None:
    actor = Actor("telegram", "42", tier=tier)
    expected = verb in EXPECTED[tier]
    assert staff_may(StaffVerb(verb), tier) is expected
    if expected:
        require_staff(StaffVerb(verb), actor)
    else:
        with pytest.raises(NotAllowed) as refused:
            require_staff(StaffVerb(verb), actor)
        assert STAFF_TABLE[StaffVerb(verb)].value in refused.value.message


@pytest.mark.parametrize("role", CUSTOMERS)
@pytest.mark.parametrize("verb", list(StaffVerb))
def test_customers_and_outsiders_may_use_no_verb(role: Role | None, verb: StaffVerb) -> None:
    customer = Actor("slack", "U1")
    assert not allowed(Action.SUPPORT, customer, role)
    assert not staff_may(verb, customer.tier)
    with pytest.raises(NotAllowed, match="Only support staff"):
        require_staff(verb, customer)


def test_the_menu_of_a_tier_lists_its_verbs_in_the_table_order() -> None:
    assert [v.value for v in staff_verbs(StaffTier.VIEWER)] == [
        "find",
        "show",
        "audit",
        "orders",
        "payments",
        "flagged",
        "notices",
        "stats",
    ]
    assert set(v.value for v in staff_verbs(StaffTier.MANAGER)) >= MANAGER_CHANGES


@pytest.mark.parametrize(
    ("tier", "unsubscribe"),
    [(StaffTier.VIEWER, False), (StaffTier.AGENT, True), (StaffTier.MANAGER, True)],
)
def test_staff_see_any_workspace_and_only_agents_and_managers_unsubscribe(
    tier: StaffTier, unsubscribe: bool
) -> None:
    staff = Actor("console", "sam", tier=tier)
    assert allowed(Action.VIEW_DETAILS, staff, None)
    assert allowed(Action.VIEW_PACKAGES, staff, None)
    assert allowed(Action.UNSUBSCRIBE, staff, None) is unsubscribe
    for action in (Action.BUY, Action.START_TRIAL, Action.MANAGE_ADMINS):
        assert not allowed(action, staff, None)


@pytest.mark.parametrize("role", CUSTOMERS)
def test_customer_roles_never_reach_support_commands(role: Role | None) -> None:
    assert not allowed(Action.SUPPORT, Actor("telegram", "7"), role)


def test_staff_entries_take_a_tier_and_default_to_agent() -> None:
    members = parse_staff("telegram:42=viewer, slack:U9=MANAGER,console:sam")
    assert members == {
        "telegram:42": StaffTier.VIEWER,
        "slack:U9": StaffTier.MANAGER,
        "console:sam": StaffTier.AGENT,
    }


@pytest.mark.parametrize(
    "bad",
    ["42", "email:x", "telegram:", "telegram:42=boss", "slack:U1=", ":U1"],
)
def test_a_staff_entry_that_cannot_be_read_is_refused_with_its_text(bad: str) -> None:
    with pytest.raises(StaffSettingError) as refused:
        parse_staff(bad)
    assert "PLANBOT_SUPPORT_STAFF" in str(refused.value)


def test_staff_chats_are_platform_and_chat_and_repeats_count_once() -> None:
    assert parse_staff_chats("telegram:-100123, slack:C0STAFF,telegram:-100123") == (
        StaffChat("telegram", "-100123"),
        StaffChat("slack", "C0STAFF"),
    )
    with pytest.raises(StaffSettingError, match="PLANBOT_STAFF_CHATS"):
        parse_staff_chats("-100123")


@pytest.mark.parametrize(("text", "value"), [("1000", Decimal(1000)), ("12.50", Decimal("12.50"))])
def test_the_approval_threshold_is_an_amount(text: str, value: Decimal) -> None:
    assert parse_approval_over(text) == value


@pytest.mark.parametrize("bad", ["", "lots", "-1", "NaN", "Infinity"])
def test_an_approval_threshold_that_is_no_amount_is_refused(bad: str) -> None:
    with pytest.raises(StaffSettingError, match="PLANBOT_APPROVAL_OVER"):
        parse_approval_over(bad)

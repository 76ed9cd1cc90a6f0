"""Who is a billing admin from a platform's flags (DESIGN 4): owners and admins are; a role
granted in planbot survives the sync; one the platform no longer gives is a member again."""

from __future__ import annotations

import pytest

from core.access import platform_makes_admin, synced_role
from core.states import Role


@pytest.mark.parametrize(
    ("owner", "admin", "expected"),
    [(True, False, True), (False, True, True), (True, True, True), (False, False, False)],
)
def test_platform_owners_and_admins_are_billing_admins(
    owner: bool, admin: bool, expected: bool
) -> None:
    assert platform_makes_admin(owner=owner, admin=admin) is expected


def test_a_platform_admin_new_to_planbot_becomes_a_billing_admin() -> None:
    assert synced_role(None, granted=False, platform_admin=True) is Role.ADMIN


def test_a_platform_admin_who_is_a_member_here_becomes_a_billing_admin() -> None:
    assert synced_role(Role.MEMBER.value, granted=False, platform_admin=True) is Role.ADMIN


@pytest.mark.parametrize("role", [Role.ADMIN.value, Role.OWNER.value])
def test_a_platform_admin_already_a_billing_admin_keeps_the_role(role: str) -> None:
    assert synced_role(role, granted=False, platform_admin=True) is None
    assert synced_role(role, granted=True, platform_admin=True) is None


def test_someone_the_platform_does_not_list_joins_as_a_member() -> None:
    assert synced_role(None, granted=False, platform_admin=False) is Role.MEMBER


def test_an_admin_the_platform_no_longer_lists_is_a_member_again() -> None:
    assert synced_role(Role.ADMIN.value, granted=False, platform_admin=False) is Role.MEMBER


def test_a_role_granted_in_planbot_survives_the_sync() -> None:
    assert synced_role(Role.ADMIN.value, granted=True, platform_admin=False) is None


@pytest.mark.parametrize("role", [Role.MEMBER.value, Role.OWNER.value])
def test_a_member_or_owner_the_platform_does_not_list_stays_as_they_are(role: str) -> None:
    assert synced_role(role, granted=False, platform_admin=False) is None

"""Granting and taking back the billing admin role: only billing admins may, never to
themselves, and only what was granted in planbot can be taken back here."""

from __future__ import annotations

import pytest

from core.access import Actor
from core.errors import Conflict, InvalidRequest, NotAllowed
from core.services.admins import (
    billing_admins,
    grant_billing_admin,
    revoke_billing_admin,
    sync_platform_role,
)
from core.services.context import Context


async def test_a_grant_is_listed_once_and_taken_back(
    ctx: Context, owner: Actor, workspace_id: int
) -> None:
    assert await grant_billing_admin(ctx, owner, workspace_id, "2002", "Bea") is True
    assert await grant_billing_admin(ctx, owner, workspace_id, "2002") is False
    listed = await billing_admins(ctx, owner, workspace_id)
    assert [(a.user_id, a.name, a.granted) for a in listed] == [
        (owner.user_id, None, False),
        ("2002", "Bea", True),
    ]
    granted = Actor(owner.platform, "2002")
    with pytest.raises(Conflict):
        await revoke_billing_admin(ctx, granted, workspace_id, owner.user_id)
    await revoke_billing_admin(ctx, owner, workspace_id, "2002")
    with pytest.raises(NotAllowed):
        await grant_billing_admin(ctx, granted, workspace_id, "3003")


async def test_nobody_grants_themselves(ctx: Context, owner: Actor, workspace_id: int) -> None:
    with pytest.raises(InvalidRequest):
        await grant_billing_admin(ctx, owner, workspace_id, owner.user_id)


async def test_a_platform_admin_is_a_billing_admin_until_the_platform_says_otherwise(
    ctx: Context, owner: Actor, workspace_id: int
) -> None:
    person = Actor(owner.platform, "4004")
    await sync_platform_role(ctx, workspace_id, person, platform_admin=True)
    assert await roles(ctx, owner, workspace_id) == {owner.user_id: False, "4004": False}
    await sync_platform_role(ctx, workspace_id, person, platform_admin=False)
    assert await roles(ctx, owner, workspace_id) == {owner.user_id: False}


async def test_a_role_granted_here_survives_the_platform_sync(
    ctx: Context, owner: Actor, workspace_id: int
) -> None:
    await grant_billing_admin(ctx, owner, workspace_id, "5005")
    await sync_platform_role(ctx, workspace_id, Actor(owner.platform, "5005"), False)
    assert await roles(ctx, owner, workspace_id) == {owner.user_id: False, "5005": True}


async def roles(ctx: Context, owner: Actor, workspace_id: int) -> dict[str, bool]:
    """The workspace's billing admins, each with whether the role was granted here."""
    return {a.user_id: a.granted for a in await billing_admins(ctx, owner, workspace_id)}

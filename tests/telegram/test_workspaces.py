"""A person in several workspaces acts in the one they joined last until they switch with
/workspaces; the choice sticks, and nobody can switch into a workspace they are not in."""

from __future__ import annotations

import pytest

from core.access import Actor
from core.errors import NotAllowed
from core.services.context import Context
from core.services.invites import choose_workspace, current_workspace
from core.services.workspaces import memberships
from tests.telegram.conftest import Telegram
from tests.telegram.test_groups import invite
from tests.telegram.test_journey import OWNER, create_workspace

OTHER_OWNER = 5005


async def test_a_person_switches_between_their_workspaces(tg: Telegram, services: Context) -> None:
    await create_workspace(tg, name="Acme")
    await create_workspace(tg, user=OTHER_OWNER, name="Globex")
    await tg.say(OTHER_OWNER, "/workspaces")  # one workspace only
    assert "nothing to switch" in (await tg.say(OWNER, "/workspaces"))

    code = await invite(tg, "An admin (can buy and change)")
    assert "Welcome to Acme" in await tg.say(OTHER_OWNER, f"/start {code}")
    actor = Actor("telegram", str(OTHER_OWNER))
    acme, globex = sorted(m.workspace_id for m in await memberships(services, actor))
    assert await current_workspace(services, actor) == acme  # the one joined last

    text = await tg.say(OTHER_OWNER, "/workspaces")
    assert "Which workspace would you like to act in?" in text
    text = await tg.tap(OTHER_OWNER, "Globex (owner)")
    assert "You now act in Globex as owner." in text
    assert await current_workspace(services, actor) == globex
    assert "invite" in (await tg.say(OTHER_OWNER, "/invite")).lower()  # an owner again


async def test_nobody_switches_into_a_workspace_they_are_not_in(
    tg: Telegram, services: Context
) -> None:
    await create_workspace(tg, name="Acme")
    acme = await current_workspace(services, Actor("telegram", str(OWNER)))
    assert acme is not None
    with pytest.raises(NotAllowed):
        await choose_workspace(services, Actor("telegram", "9999"), acme)

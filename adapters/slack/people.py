"""Who is asking: the Slack team's workspace, the person's language and whether Slack makes
them an owner or admin (core decides what role that gives), each cached so a step costs no
extra round trips."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from core.access import Actor, platform_makes_admin
from core.services.admins import sync_platform_role
from core.services.context import Context
from core.services.workspaces import ensure_workspace

PLATFORM = "slack"
ROLE_TTL_SECONDS = 60.0
log = logging.getLogger("planbot.slack")


@dataclass(frozen=True, slots=True)
class Person:
    admin: bool
    locale: str
    name: str | None


class People:
    """users.info answers (kept `ttl` seconds), workspace ids and memberships already made."""

    def __init__(self, ctx: Context, ttl: float = ROLE_TTL_SECONDS) -> None:
        self.ctx = ctx
        self.ttl = ttl
        self._workspaces: dict[str, int] = {}
        self._people: dict[tuple[str, str], tuple[float, Person]] = {}
        self._members: set[tuple[int, str, bool]] = set()

    def forget(self) -> None:
        """Drop the users.info answers, as when they lapse."""
        self._people.clear()

    async def workspace(self, team: str, name: str) -> int:
        found = self._workspaces.get(team)
        if found is None:
            found = await ensure_workspace(self.ctx, PLATFORM, team, name or team)
            self._workspaces[team] = found
        return found

    async def person(self, client: AsyncWebClient, team: str, user: str) -> Person:
        """users.info, cached briefly: owners and admins are billing admins."""
        now = time.monotonic()
        cached = self._people.get((team, user))
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            answer = await client.users_info(user=user, include_locale=True)
            info = answer.get("user") or {}
            person = Person(
                admin=platform_makes_admin(
                    owner=bool(info.get("is_owner")), admin=bool(info.get("is_admin"))
                ),
                locale=str(info.get("locale") or "en").split("-")[0],
                name=str(info.get("real_name") or info.get("name") or "") or None,
            )
        except SlackApiError as exc:
            log.warning("users.info failed for %s: %s", user, exc.response.get("error"))
            return Person(admin=False, locale="en", name=None)
        self._people[(team, user)] = (now + self.ttl, person)
        return person

    async def membership(self, workspace_id: int, user: str, admin: bool) -> None:
        """The person's role follows Slack's flags by core's rule, once per flag seen."""
        key = (workspace_id, user, admin)
        if key in self._members:
            return
        await sync_platform_role(self.ctx, workspace_id, Actor(PLATFORM, user), admin)
        self._members.add(key)

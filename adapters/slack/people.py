"""Who is asking: the Slack team's workspace, the person's language and whether Slack makes
them an owner or admin (a billing admin), each cached so a step costs no extra round trips."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import select

from core.access import Actor
from core.model import Member, Role
from core.services.context import Context
from core.services.workspaces import ensure_member, ensure_workspace

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
                admin=bool(info.get("is_owner") or info.get("is_admin")),
                locale=str(info.get("locale") or "en").split("-")[0],
                name=str(info.get("real_name") or info.get("name") or "") or None,
            )
        except SlackApiError as exc:
            log.warning("users.info failed for %s: %s", user, exc.response.get("error"))
            return Person(admin=False, locale="en", name=None)
        self._people[(team, user)] = (now + self.ttl, person)
        return person

    async def membership(self, workspace_id: int, user: str, admin: bool) -> None:
        """Slack decides: its owners and admins are billing admins, and one Slack no longer
        lists as an admin is a member again, unless a billing admin granted the role here."""
        key = (workspace_id, user, admin)
        if key in self._members:
            return
        async with self.ctx.db.unit_of_work() as session:
            found = (
                await session.execute(
                    select(Member.role, Member.granted_by).where(
                        Member.workspace_id == workspace_id,
                        Member.platform == PLATFORM,
                        Member.user_id == user,
                    )
                )
            ).first()
        role, granted = (None, False) if found is None else (found[0], found[1] is not None)
        if admin and role not in (Role.ADMIN.value, Role.OWNER.value):
            await ensure_member(self.ctx, workspace_id, Actor(PLATFORM, user), Role.ADMIN)
        elif not admin and (role is None or (role == Role.ADMIN.value and not granted)):
            await ensure_member(self.ctx, workspace_id, Actor(PLATFORM, user), Role.MEMBER)
        self._members.add(key)

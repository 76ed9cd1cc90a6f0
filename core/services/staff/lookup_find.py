"""`find <text>`: the workspaces a support person may mean, by name, id, order reference,
Slack team id or Telegram user or chat id, each saying how it matched (DESIGN section 13)."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.access import Actor, StaffVerb, require_staff
from core.errors import InvalidRequest
from core.model import Member, Order, Subscription, Workspace
from core.services.context import Context
from core.services.staff.lookup import Holding, holding, ranked
from core.states import Role

HITS_SHOWN = 10
MAX_TEXT = 200
"""Longer than any name, reference or id: a longer text is refused, not searched."""
MAX_ID = 2**31 - 1
"""Workspace ids are 32-bit integers; a larger number is no workspace's id."""
_PLATFORM_ID = re.compile(r"-?[0-9]{1,20}")


class FindRoute(StrEnum):
    """How a workspace matched, best first."""

    ID = "id"
    ORDER = "order"
    SLACK_TEAM = "slack_team"
    TELEGRAM_USER = "telegram_user"
    TELEGRAM_CHAT = "telegram_chat"
    EXACT_NAME = "exact_name"
    NAME = "name"


@dataclass(frozen=True, slots=True)
class WorkspaceHit:
    id: int
    name: str
    platform: str | None
    """Where it lives: its platform, or for one made in a chat, its owner's."""
    matched: FindRoute
    holdings: tuple[Holding, ...]
    billing_admins: int


@dataclass(frozen=True, slots=True)
class FoundWorkspaces:
    hits: tuple[WorkspaceHit, ...]
    more: bool
    """More workspaces matched than are shown: a narrower text finds them."""


def search_text(text: str) -> str:
    """What to look for: control characters become spaces, runs of spaces one; refused when
    nothing is left or it is longer than anything it could match."""
    cleaned = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    if not cleaned:
        raise InvalidRequest(
            "Type what to look for: a workspace name or id, an order reference, "
            "a Slack team id or a Telegram user or chat id."
        )
    if len(cleaned) > MAX_TEXT:
        raise InvalidRequest("That is too long to look for: at most {n} characters.", n=MAX_TEXT)
    return cleaned


async def find(ctx: Context, staff: Actor, text: str) -> FoundWorkspaces:
    """Up to ten workspaces: exact matches (id, order, platform ids, whole name) first, then
    names that contain the text."""
    require_staff(StaffVerb.FIND, staff)
    wanted = search_text(text)
    async with ctx.db.read() as session:
        matched: dict[int, FindRoute] = {}
        for route, stmt in _routes(wanted):
            for workspace_id in await session.scalars(stmt.limit(HITS_SHOWN + 1)):
                matched.setdefault(workspace_id, route)
        shown = dict(list(matched.items())[:HITS_SHOWN])
        hits = await _hits(ctx, session, shown)
    return FoundWorkspaces(hits, more=len(matched) > HITS_SHOWN)


def _routes(wanted: str) -> list[tuple[FindRoute, Select[tuple[int]]]]:
    """Each route's query for the ids of the workspaces it matches, best route first."""
    lowered = wanted.lower()
    routes: list[tuple[FindRoute, Select[tuple[int]]]] = []
    number = wanted.removeprefix("#")
    if number.isascii() and number.isdigit() and len(number) <= 10 and int(number) <= MAX_ID:
        routes.append((FindRoute.ID, select(Workspace.id).where(Workspace.id == int(number))))
    routes.append(
        (
            FindRoute.ORDER,
            select(Order.workspace_id).where(Order.reference.in_({wanted, lowered})),
        )
    )
    routes.append(
        (
            FindRoute.SLACK_TEAM,
            select(Workspace.id).where(
                Workspace.platform == "slack", Workspace.external_id.in_({wanted, wanted.upper()})
            ),
        )
    )
    if _PLATFORM_ID.fullmatch(wanted):
        routes += _telegram_routes(wanted)
    by_name = func.lower(Workspace.name)
    routes.append((FindRoute.EXACT_NAME, select(Workspace.id).where(by_name == lowered)))
    routes.append(
        (
            FindRoute.NAME,
            select(Workspace.id)
            .where(by_name.contains(lowered, autoescape=True))
            .order_by(by_name, Workspace.id),
        )
    )
    return routes


def _telegram_routes(wanted: str) -> list[tuple[FindRoute, Select[tuple[int]]]]:
    user = (
        select(Member.workspace_id)
        .where(Member.platform == "telegram", Member.user_id == wanted)
        .order_by(Member.workspace_id)
    )
    chat = (
        select(Order.workspace_id)
        .where(Order.chat_platform == "telegram", Order.chat_id == wanted)
        .group_by(Order.workspace_id)
        .order_by(Order.workspace_id)
    )
    return [(FindRoute.TELEGRAM_USER, user), (FindRoute.TELEGRAM_CHAT, chat)]


async def _hits(
    ctx: Context, session: AsyncSession, matched: dict[int, FindRoute]
) -> tuple[WorkspaceHit, ...]:
    """The matched workspaces with what they hold and how many billing admins they have."""
    if not matched:
        return ()
    ids = list(matched)
    workspaces = {
        w.id: w for w in await session.scalars(select(Workspace).where(Workspace.id.in_(ids)))
    }
    held: defaultdict[int, list[Subscription]] = defaultdict(list)
    for sub in await session.scalars(
        select(Subscription).where(Subscription.workspace_id.in_(ids))
    ):
        held[sub.workspace_id].append(sub)
    counted = await session.execute(
        select(Member.workspace_id, Member.role, Member.platform, func.count())
        .where(Member.workspace_id.in_(ids), Member.role.in_((Role.OWNER, Role.ADMIN)))
        .group_by(Member.workspace_id, Member.role, Member.platform)
    )
    admins: defaultdict[int, int] = defaultdict(int)
    owners: dict[int, str] = {}
    for workspace_id, role, platform, n in counted:
        admins[workspace_id] += int(n)
        if role == Role.OWNER:
            owners.setdefault(workspace_id, platform)
    return tuple(
        WorkspaceHit(
            id=workspace_id,
            name=workspaces[workspace_id].name,
            platform=workspaces[workspace_id].platform or owners.get(workspace_id),
            matched=route,
            holdings=tuple(holding(s) for s in ranked(ctx.catalog, held[workspace_id])),
            billing_admins=admins[workspace_id],
        )
        for workspace_id, route in matched.items()
        if workspace_id in workspaces
    )

"""Which customer workspace a support person means: an id or an unambiguous name."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from core.access import Actor, StaffVerb, require_staff
from core.errors import InvalidRequest, NotFound
from core.model import Workspace
from core.services.context import Context

MAX_NAMES_SHOWN = 5
MAX_ID = 2**31 - 1
"""Workspace ids are 32-bit integers; a larger number is no workspace's id."""


@dataclass(frozen=True, slots=True)
class WorkspaceRef:
    id: int
    name: str
    platform: str | None
    external_id: str | None
    timezone: str = "UTC"
    """Where the workspace's dates are shown (its /timezone)."""


async def resolve_workspace(ctx: Context, text: str) -> WorkspaceRef:
    """`<ws>`: a workspace id (`12`, `#12`) or a name that fits one workspace (any case);
    several that fit are named in the refusal so the next try can use an id."""
    wanted = text.replace("\x00", "").strip().removeprefix("#")  # PostgreSQL refuses NUL
    if not wanted:
        raise InvalidRequest("Name a workspace: its id or its name.")
    async with ctx.db.read() as session:
        if wanted.isascii() and wanted.isdigit() and len(wanted) <= 10 and int(wanted) <= MAX_ID:
            row = await session.get(Workspace, int(wanted))
            if row is not None:
                return _ref(row)
        rows = list(
            await session.scalars(
                select(Workspace)
                .where(func.lower(Workspace.name) == wanted[:200].lower())
                .order_by(Workspace.id)
                .limit(MAX_NAMES_SHOWN + 1)
            )
        )
    if not rows:
        raise NotFound("There is no workspace '{name}'.", name=wanted[:60])
    if len(rows) > 1:
        shown = ", ".join(f"#{r.id}" for r in rows[:MAX_NAMES_SHOWN])
        raise InvalidRequest(
            "Several workspaces are called '{name}' ({ids}); use the id.",
            name=wanted[:60],
            ids=shown,
        )
    return _ref(rows[0])


async def staff_workspace(ctx: Context, staff: Actor, verb: StaffVerb, text: str) -> WorkspaceRef:
    """The workspace a verb is about, once the actor's tier is known to allow the verb."""
    require_staff(verb, staff)
    return await resolve_workspace(ctx, text)


def _ref(row: Workspace) -> WorkspaceRef:
    return WorkspaceRef(row.id, row.name, row.platform, row.external_id, row.timezone)

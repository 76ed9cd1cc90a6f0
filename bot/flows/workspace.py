"""Workspaces for platforms whose users join them: create one, join by invite, invite others.

The platform adapter registers these flows (the console has no use for them) and decides
where an invite link points, through `invite_flow(link_for)`.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.flow import Done, Flow, Go, Move, Stay, Step, Turn, choose
from bot.flows.common import without_controls, workspace_of
from bot.i18n import N_, Translator
from bot.vocabulary import Choices, Link, Option, Reply, Text
from core.services.invites import (
    accept_invite,
    choose_workspace,
    create_invite,
    require_owner,
)
from core.services.workspaces import create_workspace, memberships
from core.states import Role

CREATE = "create"
ROLE_LABELS = {
    Role.OWNER.value: N_("owner"),
    Role.ADMIN.value: N_("admin"),
    Role.MEMBER.value: N_("member"),
}


def role_label(t: Translator, role: str) -> str:
    return t(ROLE_LABELS[role]) if role in ROLE_LABELS else role


# --- workspace: a person with no workspace makes one and becomes its owner ------------------


async def begin_workspace(turn: Turn) -> Move:
    return Go("offer")


async def ask_offer(turn: Turn) -> list[Reply]:
    t = turn.t
    text = t(
        "Welcome to planbot. You are not in a workspace yet: create one and become its "
        "owner, or open the invite link a workspace owner sent you."
    )
    options = (
        Option(t("Create a workspace"), CREATE),
        Option(t("Plans"), "cmd:plans"),
        *turn.nav(back=False),
    )
    return [Choices(text, options, turn.version)]


async def answer_offer(turn: Turn, answer: str) -> Move:
    if choose((Option(turn.t("Create a workspace"), CREATE),), answer) is None:
        return Stay(turn.t("Choose one of the buttons, or Cancel."))
    return Go("name")


async def ask_name(turn: Turn) -> list[Reply]:
    t = turn.t
    return [
        Choices(
            t("Send me the name of the new workspace (1 to 200 characters)."),
            turn.nav(),
            turn.version,
        )
    ]


async def answer_name(turn: Turn, answer: str) -> Move:
    t = turn.t
    name = " ".join(without_controls(answer).split())
    if not 1 <= len(name) <= 200:
        return Stay(t("A workspace name needs 1 to 200 characters."))
    await create_workspace(turn.services, turn.actor, name, locale=t.language)
    return Done(
        (
            Text(
                t(
                    "Your workspace {name} is ready, and you are its owner and billing admin. "
                    "Try a package with /trial, buy with /upgrade, and invite your team "
                    "with /invite.",
                    name=name,
                )
            ),
        )
    )


WORKSPACE = Flow(
    name="workspace",
    begin=begin_workspace,
    steps={
        "offer": Step(ask_offer, answer_offer, frozenset({"name"})),
        "name": Step(ask_name, answer_name, typed=True),
    },
    entry=frozenset({"offer"}),
)


# --- join: redeem an invite code --------------------------------------------------------------


async def begin_join(turn: Turn) -> Move:
    t = turn.t
    joined = await accept_invite(turn.services, turn.actor, str(turn.data.get("argument", "")))
    return Done(
        (
            Text(
                t(
                    "Welcome to {workspace}: you joined as {role}. Send /help to see what "
                    "you can do.",
                    workspace=joined.workspace_name,
                    role=role_label(t, joined.role),
                )
            ),
        )
    )


JOIN = Flow(name="join", begin=begin_join)


# --- invite: an owner makes a one-time link for an admin or a member --------------------------


def _role_options(t: Translator) -> tuple[Option, ...]:
    return (
        Option(t("An admin (can buy and change)"), Role.ADMIN.value),
        Option(t("A member (can look)"), Role.MEMBER.value),
    )


def invite_flow(link_for: Callable[[str], str]) -> Flow:
    """The invite flow; `link_for(code)` is the platform's link that redeems the code."""

    async def issue(turn: Turn, role: str) -> Move:
        t = turn.t
        invite = await create_invite(turn.services, turn.actor, workspace_of(turn), Role(role))
        return Done(
            (
                Text(
                    t(
                        "This link lets one person join as {role}, once, until {date}. "
                        "Send it to them privately.",
                        role=role_label(t, invite.role),
                        date=t.when(invite.expires_at),
                    )
                ),
                Link(t("Invite link"), link_for(invite.code)),
            )
        )

    async def begin(turn: Turn) -> Move:
        await require_owner(turn.services, turn.actor, workspace_of(turn))
        wanted = str(turn.data.get("argument", "")).strip().lower()
        if wanted in (Role.ADMIN.value, Role.MEMBER.value):
            return await issue(turn, wanted)
        return Go("role")

    async def ask_role(turn: Turn) -> list[Reply]:
        t = turn.t
        options = _role_options(t) + turn.nav(back=False)
        return [Choices(t("Whom would you like to invite?"), options, turn.version)]

    async def answer_role(turn: Turn, answer: str) -> Move:
        option = choose(_role_options(turn.t), answer)
        if option is None:
            return Stay(turn.t("Choose admin or member, or Cancel."))
        return await issue(turn, option.value)

    return Flow(
        name="invite",
        begin=begin,
        steps={"role": Step(ask_role, answer_role)},
        entry=frozenset({"role"}),
    )


# --- workspaces: a person in several workspaces chooses the one to act in --------------------


async def _choices(turn: Turn) -> tuple[Option, ...]:
    t = turn.t
    return tuple(
        Option(
            t("{workspace} ({role})", workspace=m.workspace_name, role=role_label(t, m.role)),
            str(m.workspace_id),
        )
        for m in await memberships(turn.services, turn.actor)
    )


async def begin_workspaces(turn: Turn) -> Move:
    if len(await _choices(turn)) > 1:
        return Go("choose")
    return Done((Text(turn.t("You are in one workspace only: there is nothing to switch.")),))


async def ask_workspace(turn: Turn) -> list[Reply]:
    t = turn.t
    text = t("Which workspace would you like to act in?")
    return [Choices(text, (*await _choices(turn), *turn.nav(back=False)), turn.version)]


async def answer_workspace(turn: Turn, answer: str) -> Move:
    t = turn.t
    option = choose(await _choices(turn), answer)
    if option is None:
        return Stay(t("Choose one of the buttons, or Cancel."))
    chosen = await choose_workspace(turn.services, turn.actor, int(option.value))
    return Done(
        (
            Text(
                t(
                    "You now act in {workspace} as {role}.",
                    workspace=chosen.workspace_name,
                    role=role_label(t, chosen.role),
                )
            ),
        )
    )


WORKSPACES = Flow(
    name="workspaces",
    begin=begin_workspaces,
    steps={"choose": Step(ask_workspace, answer_workspace)},
    entry=frozenset({"choose"}),
)


def workspace_flows(link_for: Callable[[str], str]) -> dict[str, Flow]:
    """The flows a join-by-invite platform adds to `all_flows()`."""
    return {f.name: f for f in (WORKSPACE, WORKSPACES, JOIN, invite_flow(link_for))}

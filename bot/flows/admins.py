"""Billing admins, for platforms whose own admins are billing admins (Slack): see them,
make someone else one, or take back a role granted here.

The adapter registers the flow with the words that add an admin on its platform, and puts
the person's id, then optionally their name, in the argument ("add U123 ana", "remove U123").
"""

from __future__ import annotations

from bot.flow import Done, Flow, Go, Move, Stay, Step, Turn, choose
from bot.flows.common import without_controls, workspace_of
from bot.vocabulary import Choices, Option, Reply, Text
from core.services.admins import (
    BillingAdmin,
    billing_admins,
    grant_billing_admin,
    revoke_billing_admin,
)

ADD, REMOVE = ("add", "grant"), ("remove", "revoke")


def _name(admin: BillingAdmin) -> str:
    return admin.name or admin.user_id


MAX_ID = 64  # a member's user id, as stored


def _an_id(user_id: str) -> bool:
    """Whether `user_id` can be a platform's user id at all (Slack's U0123ABCD): text that
    cannot be one (control characters, 5,000 letters) names nobody."""
    return (
        1 <= len(user_id) <= MAX_ID
        and user_id.isascii()
        and all(c.isalnum() or c in "-_." for c in user_id)
    )


def admins_flow(add_hint: str) -> Flow:
    """`add_hint` is what a person types on the platform to add one ("/plans admins add @name")."""

    async def begin(turn: Turn) -> Move:
        verb, _, who = str(turn.data.get("argument", "")).strip().partition(" ")
        who = who.strip()
        if verb.lower() in ADD and who:
            user_id, _, name = who.partition(" ")
            if not _an_id(user_id):
                return Done((Text(turn.t("To make someone a billing admin: {how}", how=add_hint)),))
            return await _grant(turn, user_id, without_controls(name).strip() or None)
        if verb.lower() in REMOVE and who:
            user_id, _, name = who.partition(" ")
            if not _an_id(user_id):
                return Done((Text(turn.t("That person is not a billing admin.")),))
            await revoke_billing_admin(turn.services, turn.actor, workspace_of(turn), user_id)
            shown = name.strip() or user_id
            return Done((Text(turn.t("{name} is no longer a billing admin.", name=shown)),))
        if verb:
            return Done((Text(turn.t("To make someone a billing admin: {how}", how=add_hint)),))
        return Go("list")

    async def _grant(turn: Turn, user_id: str, name: str | None) -> Move:
        t = turn.t
        ws = workspace_of(turn)
        made = await grant_billing_admin(turn.services, turn.actor, ws, user_id, name)
        shown = name or user_id
        if not made:
            return Done((Text(t("{name} is a billing admin already.", name=shown)),))
        return Done((Text(t("{name} is now a billing admin.", name=shown)),))

    async def _granted(turn: Turn) -> list[BillingAdmin]:
        """The roles granted here: the ones that can be taken back."""
        admins = await billing_admins(turn.services, turn.actor, workspace_of(turn))
        return [a for a in admins if a.granted]

    def _take_back(turn: Turn, admin: BillingAdmin) -> Option:
        return Option(turn.t("Take back: {name}", name=_name(admin)), admin.user_id)

    async def ask_list(turn: Turn) -> list[Reply]:
        t = turn.t
        admins = await billing_admins(turn.services, turn.actor, workspace_of(turn))
        names = ", ".join(_name(a) for a in admins) or t("none yet")
        text = "\n".join(
            (
                t("Billing admins: {names}.", names=names),
                t("To make someone a billing admin: {how}", how=add_hint),
            )
        )
        options = (*(_take_back(turn, a) for a in admins if a.granted), *turn.nav(back=False))
        return [Choices(text, options, turn.version)]

    async def answer_list(turn: Turn, answer: str) -> Move:
        granted = await _granted(turn)
        option = choose(tuple(_take_back(turn, a) for a in granted), answer)
        if option is None:
            return Stay(turn.t("Choose one of the buttons, or Cancel."))
        admin = next(a for a in granted if a.user_id == option.value)
        await revoke_billing_admin(turn.services, turn.actor, workspace_of(turn), admin.user_id)
        return Done((Text(turn.t("{name} is no longer a billing admin.", name=_name(admin))),))

    return Flow(
        name="admins",
        begin=begin,
        steps={"list": Step(ask_list, answer_list)},
        entry=frozenset({"list"}),
    )

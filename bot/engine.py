"""The conversation engine: load the conversation, dispatch the update, save, reply.

One transaction per update: the flow's use cases join it, the conversation is written with
an optimistic version check, and the replies leave only after the commit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from bot.flow import BACK, CANCEL, HELP, Done, Flow, Move, Start, Stay, Turn
from bot.i18n import LANGUAGES, Translator, language_of
from bot.vocabulary import Choices, Confirmation, Incoming, NumberPrompt, Option, Reply, Text
from core.access import Actor
from core.errors import DomainError
from core.model import Conversation, Member, Workspace
from core.services.context import Context, remember_role

IDLE_EXPIRY = timedelta(minutes=30)
COMMAND_FLOWS = {
    "plans": "plans",
    "subscription": "details",
    "details": "details",
    "upgrade": "upgrade",
    "unsubscribe": "unsubscribe",
    "resume": "resume",
    "trial": "trial",
    "withdraw": "withdraw",
    # Registered only by platforms whose users join workspaces (bot.flows.workspace).
    "workspace": "workspace",
    "workspaces": "workspaces",
    "join": "join",
    "invite": "invite",
    # Registered only by platforms whose own admins are billing admins (bot.flows.admins).
    "admins": "admins",
}

# Built once: composing the statement and its cache key anew cost more than running it.
_LOAD = (
    select(Conversation, Workspace.locale, Workspace.timezone, Member.role)
    .outerjoin(Workspace, Workspace.id == Conversation.workspace_id)
    .outerjoin(
        Member,
        (Member.workspace_id == Conversation.workspace_id)
        & (Member.platform == Conversation.platform)
        & (Member.user_id == Conversation.user_id),
    )
    .where(
        Conversation.platform == bindparam("platform"),
        Conversation.chat_id == bindparam("chat"),
        Conversation.user_id == bindparam("user"),
    )
)


@dataclass
class _Update:
    """One update in progress: the loaded conversation and what the flow needs."""

    session: AsyncSession
    conversation: Conversation
    incoming: Incoming
    t: Translator
    actor: Actor
    memo: dict[str, Any] = field(default_factory=dict)


class Engine:
    def __init__(
        self,
        services: Context,
        flows: Mapping[str, Flow],
        *,
        support_staff: frozenset[str] = frozenset(),
        idle_expiry: timedelta = IDLE_EXPIRY,
        help: Callable[[Translator], str] | None = None,
        command_prefix: str = "/",
    ) -> None:
        self.services = services
        self.flows = dict(flows)
        self.support_staff = support_staff
        self.idle_expiry = idle_expiry
        self.help = help or help_text
        self.command_prefix = command_prefix
        """How a command is typed on the platform: "/" then the name, or "/plans " in Slack."""

    async def handle(self, incoming: Incoming) -> list[Reply]:
        """Answer one update; a lost race with another process answers as a stale menu."""
        try:
            async with self.services.db.unit_of_work() as session:
                update = await self._load(session, incoming)
                replies = await self._dispatch(update)
                await session.flush()
        except StaleDataError:
            t = Translator(language_of(incoming.locale))
            return [
                Text(
                    t(
                        "That was already handled. Send {help} to see where you are.",
                        help=f"{self.command_prefix}help",
                    )
                )
            ]
        return replies

    def actor(self, incoming: Incoming) -> Actor:
        key = f"{incoming.platform}:{incoming.user}"
        return Actor(incoming.platform, incoming.user, is_support=key in self.support_staff)

    async def _load(self, session: AsyncSession, incoming: Incoming) -> _Update:
        row = (
            await session.execute(
                _LOAD,
                {"platform": incoming.platform, "chat": incoming.chat, "user": incoming.user},
            )
        ).first()
        if row is None:
            conversation = await self._create(session, incoming)
            locale, zone = None, "UTC"
        else:
            conversation, locale, zone, role = row
            if conversation.workspace_id is not None:
                remember_role(session, conversation.workspace_id, self.actor(incoming), role)
            if (
                incoming.workspace_id is not None
                and incoming.workspace_id != conversation.workspace_id
            ):
                conversation.workspace_id = incoming.workspace_id
                locale, zone = None, "UTC"
        language = conversation.language or locale or language_of(incoming.locale)
        t = Translator(language, zone or "UTC")
        return _Update(session, conversation, incoming, t, self.actor(incoming))

    async def _create(self, session: AsyncSession, incoming: Incoming) -> Conversation:
        workspace_id = incoming.workspace_id
        if workspace_id is None and incoming.workspace is not None:
            workspace_id = await session.scalar(
                select(Workspace.id).where(
                    Workspace.platform == incoming.platform,
                    Workspace.external_id == incoming.workspace,
                )
            )
        conversation = Conversation(
            platform=incoming.platform,
            chat_id=incoming.chat,
            user_id=incoming.user,
            workspace_id=workspace_id,
            data={},
            history=[],
            updated_at=self.services.clock.now(),
        )
        session.add(conversation)
        await session.flush()
        return conversation

    def _turn(self, update: _Update) -> Turn:
        conversation = update.conversation
        return Turn(
            services=self.services,
            actor=update.actor,
            workspace_id=conversation.workspace_id,
            data=dict(conversation.data or {}),
            t=update.t,
            version=conversation.version,
            chat=(update.incoming.platform, update.incoming.chat),
            conversation_key=f"{conversation.id}:{conversation.version}",
            memo=update.memo,
        )

    async def _dispatch(self, update: _Update) -> list[Reply]:
        conversation, incoming, t = update.conversation, update.incoming, update.t
        notes: list[Reply] = []
        now = self.services.clock.now()
        if conversation.flow is not None and now - conversation.updated_at > self.idle_expiry:
            self._reset(update)
            notes.append(Text(t("Your previous conversation expired, so we start afresh.")))
        if incoming.command is not None:
            return notes + await self._command(update, incoming.command, incoming.argument)
        if incoming.tap is not None:
            if incoming.tap.version != conversation.version:
                return [
                    Text(t("This menu is out of date; here is the current one.")),
                    *await self._current(update),
                ]
            return notes + await self._answer(update, incoming.tap.value)
        text = (incoming.text or "").strip()
        if conversation.flow is None:
            return notes + await self._idle_text(update, text)
        return notes + await self._answer(update, text)

    async def _idle_text(self, update: _Update, text: str) -> list[Reply]:
        if text.startswith("/"):
            name, _, argument = text[1:].partition(" ")
            return await self._command(update, name, argument)
        return [Text(update.t("I can only respond to commands and buttons.")), *self.menu(update)]

    async def _answer(self, update: _Update, answer: str) -> list[Reply]:
        value = answer.strip()
        if value in (BACK, CANCEL, HELP):
            return await self._command(update, value, "")
        if value.startswith("cmd:"):
            name, _, argument = value[4:].partition(":")
            return await self._command(update, name, argument)
        conversation = update.conversation
        if conversation.flow is None or conversation.step is None:
            return [
                Text(update.t("I can only respond to commands and buttons.")),
                *self.menu(update),
            ]
        flow = self.flows[conversation.flow]
        step = flow.steps[conversation.step]
        if len(value) > 500:
            return await self._apply(update, flow, Stay(update.t("That answer is too long.")))
        turn = self._turn(update)
        try:
            move = await step.answer(turn, value)
        except DomainError as exc:
            move = Stay(self._refusal(update, exc))
        self._keep(update, turn)
        return await self._apply(update, flow, move)

    async def _command(self, update: _Update, name: str, argument: str) -> list[Reply]:
        t = update.t
        name = name.strip().lower()
        if name == CANCEL:
            self._reset(update)
            return [Text(t("Cancelled.")), *self.menu(update)]
        if name == BACK:
            return await self._back(update)
        if name in (HELP, "start"):
            return [Text(self.help(t)), *self.menu(update)]
        if name == "language":
            return self._language(update, argument)
        flow_name = COMMAND_FLOWS.get(name)
        if flow_name is None or flow_name not in self.flows:
            prefix = self.command_prefix
            return [
                Text(
                    t(
                        "Unknown command {name}. Send {help} for the list.",
                        name=f"{prefix}{name[:40]}",
                        help=f"{prefix}help",
                    )
                )
            ]
        data: dict[str, Any] = {"argument": argument.strip()} if argument.strip() else {}
        return await self._start(update, flow_name, data)

    async def _start(self, update: _Update, flow_name: str, data: dict[str, Any]) -> list[Reply]:
        self._reset(update)
        conversation = update.conversation
        conversation.flow = flow_name
        conversation.data = data
        flow = self.flows[flow_name]
        turn = self._turn(update)
        try:
            move = await flow.begin(turn)
        except DomainError as exc:
            self._reset(update)
            return [Text(self._refusal(update, exc))]
        self._keep(update, turn)
        return await self._apply(update, flow, move)

    async def _apply(self, update: _Update, flow: Flow, move: Move) -> list[Reply]:
        conversation = update.conversation
        flow.check(conversation.step, move)
        if isinstance(move, Stay):
            return [Text(move.message), *await self._current(update)]
        if isinstance(move, Start):
            return await self._start(update, move.flow, move.data)
        if isinstance(move, Done):
            self._reset(update)
            await update.session.flush()
            return [_stamped(reply, conversation.version) for reply in move.replies]
        if conversation.step is not None:
            conversation.history = [*conversation.history, conversation.step]
        conversation.step = move.step
        return await self._ask(update)

    async def _ask(self, update: _Update) -> list[Reply]:
        """Save the new state (bumping the version), then ask with menus that carry it."""
        conversation = update.conversation
        conversation.updated_at = self.services.clock.now()
        await update.session.flush()
        assert conversation.flow is not None and conversation.step is not None
        step = self.flows[conversation.flow].steps[conversation.step]
        return await step.ask(self._turn(update))

    async def _current(self, update: _Update) -> list[Reply]:
        """The question the conversation is waiting on, without changing anything."""
        conversation = update.conversation
        if conversation.flow is None or conversation.step is None:
            return self.menu(update)
        step = self.flows[conversation.flow].steps[conversation.step]
        return await step.ask(self._turn(update))

    async def _back(self, update: _Update) -> list[Reply]:
        conversation = update.conversation
        if not conversation.history:
            if conversation.flow is None:
                return [Text(update.t("There is nothing to go back to.")), *self.menu(update)]
            self._reset(update)
            return [Text(update.t("Back at the start.")), *self.menu(update)]
        *rest, previous = conversation.history
        conversation.history = rest
        conversation.step = previous
        return await self._ask(update)

    def _language(self, update: _Update, argument: str) -> list[Reply]:
        wanted = argument.strip().lower()
        if wanted not in LANGUAGES:
            options = (
                Option("English", "cmd:language:en"),
                Option("Tiếng Việt", "cmd:language:vi"),
            )
            return [Choices(update.t("Choose a language."), options, update.conversation.version)]
        update.conversation.language = wanted
        update.t = Translator(wanted, update.t.timezone)
        return [Text(update.t("From now on I will answer in English."))]

    def _reset(self, update: _Update) -> None:
        conversation = update.conversation
        if conversation.flow is None and not conversation.history and not conversation.data:
            return
        conversation.flow = None
        conversation.step = None
        conversation.data = {}
        conversation.history = []
        conversation.updated_at = self.services.clock.now()

    def _keep(self, update: _Update, turn: Turn) -> None:
        """Store what the step learned, if anything."""
        if turn.data != (update.conversation.data or {}):
            update.conversation.data = dict(turn.data)
            update.conversation.updated_at = self.services.clock.now()

    def _refusal(self, update: _Update, error: DomainError) -> str:
        return update.t(error.template, **error.params)

    def menu(self, update: _Update) -> list[Reply]:
        t = update.t
        options = (
            Option(t("Plans"), "cmd:plans"),
            Option(t("My subscription"), "cmd:subscription"),
            Option(t("Upgrade or buy"), "cmd:upgrade"),
            Option(t("Start a trial"), "cmd:trial"),
            Option(t("Unsubscribe"), "cmd:unsubscribe"),
        )
        return [Choices(t("What would you like to do?"), options, update.conversation.version)]


def _stamped(reply: Reply, version: int) -> Reply:
    """Menus carry the version the conversation has once this update is saved."""
    if isinstance(reply, Choices | NumberPrompt | Confirmation):
        return replace(reply, version=version)
    return reply


def help_text(t: Translator) -> str:
    return "\n".join(
        [
            t("planbot manages this workspace's service packages."),
            t("/plans - the packages on offer and what this workspace holds"),
            t("/subscription - details of each subscription"),
            t("/upgrade - upgrade, buy more accounts or change the billing cycle"),
            t("/unsubscribe - unsubscribe at the end of the period"),
            t("/resume - take an unsubscribe back before it takes effect"),
            t("/trial - try a package for free"),
            t("/language - English or Vietnamese"),
            t("/back - the previous step; /cancel - stop what you are doing"),
        ]
    )

"""The conversation engine: load the conversation, dispatch the update, save, reply.

The flow's use cases each own their unit of work; the conversation is then saved in one
commit of its own with an optimistic version check, and the replies leave after it.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from bot.flow import (
    BACK,
    CANCEL,
    HELP,
    STANDING,
    Done,
    Flow,
    Move,
    Start,
    Stay,
    Step,
    Turn,
    pick_label,
)
from bot.i18n import LANGUAGES, N_, Translator, language_of
from bot.vocabulary import Choices, Confirmation, Incoming, NumberPrompt, Option, Reply, Text
from core.access import Action, Actor
from core.errors import DomainError
from core.services.context import Context, remember_role, roles_known
from core.services.conversations import ConversationState, ConversationStore, StaleConversation
from core.services.queries import permitted

log = logging.getLogger("planbot.engine")

IDLE_EXPIRY = timedelta(minutes=30)
REPEAT_IN_FLIGHT = timedelta(seconds=10)
"""How long after an update moved the conversation a copy of it is taken as still in flight."""
COMMAND_FLOWS = {
    "plans": "plans",
    "subscription": "details",
    "details": "details",
    "upgrade": "upgrade",
    "unsubscribe": "unsubscribe",
    "resume": "resume",
    "trial": "trial",
    "withdraw": "withdraw",
    "notify": "notify",
    "timezone": "timezone",
    # Registered only by platforms whose users join workspaces (bot.flows.workspace).
    "workspace": "workspace",
    "workspaces": "workspaces",
    "join": "join",
    "invite": "invite",
    # Registered only by platforms whose own admins are billing admins (bot.flows.admins).
    "admins": "admins",
    "staff": "staff",
}


@dataclass
class _Update:
    """One update in progress: the conversation as loaded, as the flow leaves it, and what
    the flow needs."""

    loaded: ConversationState
    state: ConversationState
    incoming: Incoming
    t: Translator
    actor: Actor
    memo: dict[str, Any] = field(default_factory=dict)


class Engine:
    """Answers updates. Each update reads its conversation, runs the flow (whose use cases
    each own their unit of work) and saves the conversation once, in a commit of its own
    with a version check; the replies leave after that commit."""

    def __init__(
        self,
        services: Context,
        flows: Mapping[str, Flow],
        *,
        idle_expiry: timedelta = IDLE_EXPIRY,
        help: Callable[[Translator], str] | None = None,
        command_prefix: str = "/",
        command: Callable[[str], str] | None = None,
    ) -> None:
        self.services = services
        self.store = ConversationStore(services.db)
        self.flows = dict(flows)
        self.idle_expiry = idle_expiry
        self.help = help or help_text
        self.command_prefix = command_prefix
        """How a command is typed on the platform: "/" then the name, or "/plans " in Slack."""
        self.command = command or (lambda name: f"{command_prefix}{name}")
        """How the command a flow names is typed there ("/plans details" for "subscription")."""

    async def handle(self, incoming: Incoming) -> list[Reply]:
        """Answer one update; the loser of a race with another process is shown where the
        conversation now is, and a failure is an apology, never an escaped exception."""
        where: dict[str, str | None] = {"flow": None, "step": None}
        try:
            with roles_known():
                update = await self._load(incoming)
                where.update(flow=update.state.flow, step=update.state.step)
                if _repeated(incoming, update.loaded):
                    return await self._repeat(update)
                replies = await self._dispatch(update)
                try:
                    await self._save_conversation(update)
                except StaleConversation:
                    return await self._lost_race(incoming)
        except Exception:
            log.exception(
                "a chat step failed: %s chat %s user %s, flow %s step %s, %s",
                incoming.platform,
                incoming.chat,
                incoming.user,
                where["flow"],
                where["step"],
                _kind(incoming),
            )
            return await self._failed(incoming)
        return [_stamped(reply, update.state.version) for reply in replies]

    async def _failed(self, incoming: Incoming) -> list[Reply]:
        """Sorry, and the question the conversation (unchanged) is still waiting on."""
        t = Translator(language_of(incoming.locale))
        apology: list[Reply] = [
            Text(t("Sorry, something went wrong on my side. Please try again."))
        ]
        with contextlib.suppress(Exception):  # the failure was logged; this is best effort
            with roles_known():
                update = await self._load(incoming)
                apology = [
                    Text(update.t("Sorry, something went wrong on my side. Please try again."))
                ]
                current = await self._current(update)
            return [_stamped(reply, update.state.version) for reply in [*apology, *current]]
        return apology

    async def _save_conversation(self, update: _Update) -> None:
        """The update's one commit of the conversation (none when nothing moved)."""
        if update.state.id is not None and update.state.same_as(update.loaded):
            return
        update.state.last_update = update.incoming.update_id
        update.state = await self.store.save(update.state)

    async def _repeat(self, update: _Update) -> list[Reply]:
        """A copy that comes while the first is being answered says nothing; one that comes
        later means that answer may have been lost, so the waiting question is asked again."""
        if self.services.clock.now() - update.loaded.updated_at < REPEAT_IN_FLIGHT:
            return []
        current = await self._current(update)
        return [_stamped(reply, update.state.version) for reply in current]

    async def _lost_race(self, incoming: Incoming) -> list[Reply]:
        """Another process saved first: a copy of this very update is answered by that one,
        so this says nothing; after another update, the current question is asked again."""
        update = await self._load(incoming)
        if _repeated(incoming, update.loaded):
            return []
        replies = [
            Text(update.t("That was already handled; here is where you are now.")),
            *await self._current(update),
        ]
        return [_stamped(reply, update.state.version) for reply in replies]

    def actor(self, incoming: Incoming) -> Actor:
        return self.services.staff.actor(incoming.platform, incoming.user)

    async def _load(self, incoming: Incoming) -> _Update:
        loaded = await self.store.load(
            incoming.platform,
            incoming.chat,
            incoming.user,
            now=self.services.clock.now(),
            workspace_key=incoming.workspace,
        )
        state, actor = loaded.state.copy(), self.actor(incoming)
        locale, zone = loaded.workspace_locale, loaded.workspace_zone
        if state.id is not None and state.workspace_id is not None:
            remember_role(state.workspace_id, actor, loaded.role)
        if incoming.workspace_id is not None and incoming.workspace_id != state.workspace_id:
            state.workspace_id = incoming.workspace_id
            locale, zone = None, "UTC"
        language = state.language or locale or language_of(incoming.locale)
        return _Update(loaded.state, state, incoming, Translator(language, zone), actor)

    def _turn(self, update: _Update) -> Turn:
        state = update.state
        key = f"{state.id}:{state.version}" if state.id is not None else None
        return Turn(
            services=self.services,
            actor=update.actor,
            workspace_id=state.workspace_id,
            data=state.data,
            t=update.t,
            version=state.version,
            chat=(update.incoming.platform, update.incoming.chat),
            conversation_key=key or f"new:{secrets.token_hex(8)}",
            memo=update.memo,
            command=self.command,
            in_group=update.incoming.is_group,
        )

    async def _dispatch(self, update: _Update) -> list[Reply]:
        state, incoming, t = update.state, update.incoming, update.t
        notes: list[Reply] = []
        now = self.services.clock.now()
        if state.flow is not None and now - state.updated_at > self.idle_expiry:
            self._reset(update)
            notes.append(Text(t("Your previous conversation expired, so we start afresh.")))
        if incoming.command is not None:
            return notes + await self._command(update, incoming.command, incoming.argument)
        if incoming.tap is not None and incoming.tap.value.startswith(STANDING):
            name, _, argument = incoming.tap.value[len(STANDING) :].partition(":")
            return notes + await self._command(update, name, argument)
        if incoming.tap is not None:
            if incoming.tap.version != state.version:
                return [
                    Text(t("This menu is out of date; here is the current one.")),
                    *await self._current(update),
                ]
            return notes + await self._tapped(update, incoming.tap.value)
        return notes + await self._typed(update, (incoming.text or "").strip())

    async def _tapped(self, update: _Update, value: str) -> list[Reply]:
        """A shown option's value: navigation and commands here, the rest to the step."""
        if value in (BACK, CANCEL, HELP):
            return await self._command(update, value, "")
        if value.startswith("cmd:"):
            name, _, argument = value[4:].partition(":")
            return await self._command(update, name, argument)
        if update.state.flow is None or update.state.step is None:
            return [
                Text(update.t("I can only respond to commands and buttons.")),
                *await self.menu(update),
            ]
        return await self._run_step(update, value)

    async def _typed(self, update: _Update, text: str) -> list[Reply]:
        """Typed text names a shown option by its label, or is the answer a step types."""
        t = update.t
        if text.startswith("/"):
            name, _, argument = text[1:].partition(" ")
            return await self._command(update, name, argument)
        flow, step = self._step(update)
        if flow is None or step is None:
            picked = pick_label(_options(await self.menu(update)), text[:500])
            if picked is not None:
                return await self._tapped(update, picked.value)
            return [
                Text(t("I can only respond to commands and buttons.")),
                *await self.menu(update),
            ]
        if len(text) > 500:
            return [Text(t("That answer is too long.")), *await self._current(update)]
        asked = await step.ask(self._turn(update))
        options = _options(asked)
        picked = pick_label(options, text)
        if picked is not None:
            return await self._tapped(update, picked.value)
        if step.typed:
            return await self._run_step(update, text)
        labels = ", ".join(option.label for option in options)
        return [Text(t("Choose one of the options: {options}.", options=labels)), *asked]

    def _step(self, update: _Update) -> tuple[Flow | None, Step | None]:
        state = update.state
        if state.flow is None or state.step is None:
            return None, None
        flow = self.flows[state.flow]
        return flow, flow.steps[state.step]

    async def _run_step(self, update: _Update, answer: str) -> list[Reply]:
        """The step answers; a refusal puts everything back as it was."""
        flow, step = self._step(update)
        assert flow is not None and step is not None
        before = update.state.copy()
        try:
            move = await step.answer(self._turn(update), answer)
        except DomainError as exc:
            update.state = before
            return [Text(self._refusal(update, exc)), *await self._current(update)]
        return await self._apply(update, flow, move)

    async def _command(self, update: _Update, name: str, argument: str) -> list[Reply]:
        t = update.t
        name = name.strip().lower()
        if name == CANCEL:
            self._reset(update)
            return [Text(t("Cancelled.")), *await self.menu(update)]
        if name == BACK:
            return await self._back(update)
        if name in (HELP, "start"):
            text = self.help(t)
            if update.actor.is_support:
                text += "\n" + t(
                    "{command} - support staff: look up and fix a customer's billing",
                    command=self.command("staff"),
                )
            return [Text(text), *await self._current(update)]
        if name == "language":
            return self._language(update, argument)
        flow_name = COMMAND_FLOWS.get(name)
        if flow_name is None or flow_name not in self.flows:
            prefix = self.command_prefix
            unknown = t(
                "Unknown command {name}. Send {help} for the list.",
                name=f"{prefix}{name[:40]}",
                help=f"{prefix}help",
            )
            if update.state.flow is None:
                return [Text(unknown)]
            return [Text(unknown), *await self._current(update)]  # the question still waits
        data: dict[str, Any] = {"argument": argument.strip()} if argument.strip() else {}
        return await self._start(update, flow_name, data)

    async def _start(self, update: _Update, flow_name: str, data: dict[str, Any]) -> list[Reply]:
        before = update.state.copy()
        self._reset(update)
        state = update.state
        state.flow, state.data = flow_name, data
        state.updated_at = self.services.clock.now()
        flow = self.flows[flow_name]
        try:
            move = await flow.begin(self._turn(update))
        except DomainError as exc:
            update.state = before
            refusal = Text(self._refusal(update, exc))
            return [refusal, *await self._current(update)] if before.flow else [refusal]
        return await self._apply(update, flow, move)

    async def _apply(self, update: _Update, flow: Flow, move: Move) -> list[Reply]:
        state = update.state
        flow.check(state.step, move)
        if isinstance(move, Stay):
            return [Text(move.message), *await self._current(update)]
        if isinstance(move, Start):
            return await self._start(update, move.flow, move.data)
        if isinstance(move, Done):
            self._reset(update)
            return list(move.replies)
        notes: list[Reply] = [] if move.note is None else [Text(move.note)]
        if move.step in state.history:
            # Back to an earlier step (a review shown again): Back then goes where it did.
            state.history = state.history[: state.history.index(move.step)]
        elif state.step is not None:
            state.history = [*state.history, state.step]
        state.step = move.step
        state.updated_at = self.services.clock.now()
        return notes + await self._current(update)

    async def _current(self, update: _Update) -> list[Reply]:
        """The question the conversation is waiting on."""
        _, step = self._step(update)
        if step is None:
            return await self.menu(update)
        return await step.ask(self._turn(update))

    async def _back(self, update: _Update) -> list[Reply]:
        state = update.state
        if not state.history:
            if state.flow is None:
                return [Text(update.t("There is nothing to go back to.")), *await self.menu(update)]
            self._reset(update)
            return [Text(update.t("Back at the start.")), *await self.menu(update)]
        *rest, previous = state.history
        state.history, state.step = rest, previous
        state.updated_at = self.services.clock.now()
        return await self._current(update)

    def _language(self, update: _Update, argument: str) -> list[Reply]:
        wanted = argument.strip().lower()
        if wanted not in LANGUAGES:
            options = (
                Option("English", "cmd:language:en"),
                Option("Tiếng Việt", "cmd:language:vi"),
            )
            return [Choices(update.t("Choose a language."), options, update.state.version)]
        update.state.language = wanted
        update.t = Translator(wanted, update.t.timezone)
        return [Text(update.t("From now on I will answer in English."))]

    def _reset(self, update: _Update) -> None:
        state = update.state
        if state.flow is None and not state.history and not state.data:
            return
        state.flow = state.step = None
        state.data, state.history = {}, []
        state.updated_at = self.services.clock.now()

    def _refusal(self, update: _Update, error: DomainError) -> str:
        return update.t(error.template, **error.params)

    async def menu(self, update: _Update) -> list[Reply]:
        """The commands this person may use here, and nothing they may not (DESIGN 4)."""
        t = update.t
        offered = (
            (N_("My subscription"), "cmd:subscription", Action.VIEW_DETAILS),
            (N_("Upgrade or buy"), "cmd:upgrade", Action.BUY),
            (N_("Start a trial"), "cmd:trial", Action.START_TRIAL),
            (N_("Unsubscribe"), "cmd:unsubscribe", Action.UNSUBSCRIBE),
        )
        may = await permitted(
            self.services, update.actor, update.state.workspace_id, [a for *_, a in offered]
        )
        options: tuple[Option, ...] = (
            Option(t("Plans"), "cmd:plans"),
            *(Option(t(label), value) for label, value, action in offered if action in may),
        )
        if update.actor.is_support:
            options = (*options, Option(t("Support staff"), "cmd:staff"))
        return [Choices(t("What would you like to do?"), options, update.state.version)]


def _repeated(incoming: Incoming, state: ConversationState) -> bool:
    """This update, or an older one, already moved the conversation (platforms whose update
    ids grow, as Telegram's do, compare as numbers)."""
    seen, this = state.last_update, incoming.update_id
    if seen is None or this is None:
        return False
    if seen.isascii() and seen.isdigit() and this.isascii() and this.isdigit():
        return int(this) <= int(seen)
    return this == seen


def _kind(incoming: Incoming) -> str:
    """What the update was, for the log: never the text itself (it may be anything)."""
    if incoming.command is not None:
        return f"command /{incoming.command[:40]}"
    if incoming.tap is not None:
        return f"tap {incoming.tap.value[:60]!r}"
    return f"text of {len(incoming.text or '')} characters"


def _options(replies: list[Reply]) -> tuple[Option, ...]:
    """The options of the last menu among `replies` (the one a typed answer answers)."""
    for reply in reversed(replies):
        if isinstance(reply, Choices | NumberPrompt | Confirmation):
            return reply.options
    return ()


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
            t("/notify - reminders, receipts and quiet hours (billing admins)"),
            t("/timezone - the time zone dates are shown in (billing admins)"),
            t("/back - the previous step; /cancel - stop what you are doing"),
        ]
    )

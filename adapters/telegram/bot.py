"""Updates in, engine calls, replies out: one conversation per person per chat, any process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from telegram import BotCommand, BotCommandScopeChat, Update
from telegram.constants import ChatType
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import Application, ContextTypes, TypeHandler

from adapters.telegram import texts
from adapters.telegram.delivery import edit, remove_keyboard, send, send_photo, with_retry
from adapters.telegram.notices import NO_OWNER, TelegramNotices
from adapters.telegram.render import Outbound, compose, decode_tap
from bot.engine import Engine
from bot.flow import STANDING
from bot.flows import all_flows
from bot.flows.workspace import workspace_flows
from bot.i18n import LANGUAGES, Translator, language_of
from bot.vocabulary import Incoming, Tap, Text
from core.access import Actor
from core.pacing import TELEGRAM_NOTICE_PACE
from core.services.context import Context
from core.services.invites import current_workspace
from core.services.notice_sender import Sender, sender_name

PLATFORM = "telegram"
log = logging.getLogger("planbot.telegram")
GROUPS = (ChatType.GROUP, ChatType.SUPERGROUP)


@dataclass(frozen=True, slots=True)
class Where:
    """Where an update came from, and the menu message a tap was made on."""

    chat_id: int
    user_id: int
    is_group: bool
    message_id: int | None = None


class TelegramBot:
    """planbot on Telegram over a PTB Application (no ConversationHandler, no persistence)."""

    def __init__(
        self,
        ctx: Context,
        application: Application[Any, Any, Any, Any, Any, Any],
    ) -> None:
        self.ctx = ctx
        self.application = application
        flows = {**all_flows(), **workspace_flows(self.deep_link)}
        self.engine = Engine(ctx, flows)
        application.add_handler(TypeHandler(Update, self._on_update))
        application.add_error_handler(self._on_error)
        self._started = False
        self._start_lock = asyncio.Lock()
        self.notices = Sender(
            ctx,
            PLATFORM,
            TelegramNotices(ctx, application.bot),
            TELEGRAM_NOTICE_PACE,
            name=sender_name(PLATFORM, application.bot.token),
        )
        """The bot's one notice sender across all workers (DESIGN 14)."""
        self._staff_menus_missing: set[int] = set()
        """Staff chats whose command menu Telegram refused (a person who had not started the
        bot yet): registered again when they next write privately."""

    @property
    def username(self) -> str:
        return str(self.application.bot.username)

    def deep_link(self, payload: str = "") -> str:
        return f"https://t.me/{self.username}" + (f"?start={payload}" if payload else "")

    async def initialize(self) -> None:
        """Connect once (getMe) and register the command menu in every language."""
        async with self._start_lock:
            if self._started:
                return
            await self.application.initialize()
            await self.register_commands()
            self._started = True

    async def register_commands(self) -> None:
        """Everyone's menu, then /staff added only in staff members' private chats and the
        staff groups, so customers never see it."""
        bot = self.application.bot
        for language in (None, *LANGUAGES):
            t = Translator(language or "en")
            commands = [BotCommand(name, text) for name, text in texts.command_menu(t)]
            await with_retry(partial(bot.set_my_commands, commands, language_code=language))
        for chat_id in self._staff_chat_ids():
            await self._register_staff_menu(chat_id)

    def _staff_chat_ids(self) -> list[int]:
        """Each staff member's private chat (their user id) and each Telegram staff group."""
        staff = self.ctx.staff
        ids = [*staff.user_ids(PLATFORM), *(c.chat_id for c in staff.chats_on(PLATFORM))]
        found: list[int] = []
        for text in ids:
            try:
                found.append(int(text))
            except ValueError:
                log.warning("staff chat %r is not a Telegram chat id: no /staff menu", text)
        return list(dict.fromkeys(found))

    async def _register_staff_menu(self, chat_id: int) -> None:
        bot = self.application.bot
        scope = BotCommandScopeChat(chat_id)
        try:
            for language in (None, *LANGUAGES):
                t = Translator(language or "en")
                commands = [BotCommand(name, text) for name, text in texts.staff_command_menu(t)]
                await with_retry(
                    partial(bot.set_my_commands, commands, scope=scope, language_code=language)
                )
        except (BadRequest, Forbidden) as exc:
            log.warning("no /staff menu in chat %s yet: %s", chat_id, exc.message)
            self._staff_menus_missing.add(chat_id)
        else:
            self._staff_menus_missing.discard(chat_id)

    # --- updates --------------------------------------------------------------------------

    async def _on_update(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        if isinstance(update, Update):
            await self.handle(update)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("update failed: %r", context.error, exc_info=context.error)

    async def handle(self, update: Update) -> None:
        query = update.callback_query
        if query is not None:
            tap, owner = decode_tap(query.data)
            user = update.effective_user
            if user is not None and not _may_tap(tap, owner, user.id):
                # Someone else's menu in a group: say so, and leave their menu alone.
                t = Translator(language_of(user.language_code))
                with contextlib.suppress(TelegramError):
                    await with_retry(partial(query.answer, texts.not_your_menu(t)))
                return
            # Answer at once: the button stops spinning whatever happens next.
            with contextlib.suppress(TelegramError):
                await with_retry(query.answer)
        incoming, where = await self.incoming(update)
        if incoming is None or where is None:
            return
        t = Translator(language_of(incoming.locale))
        try:
            replies = await self.engine.handle(incoming)
        except Exception:
            log.exception("the engine failed on update %s", update.update_id)
            await self.deliver(where, t, _texts(texts.failed(t)))
            return
        await self.deliver(where, t, compose(replies, where.user_id))
        if not where.is_group and where.chat_id in self._staff_menus_missing:
            await self._register_staff_menu(where.chat_id)

    async def incoming(self, update: Update) -> tuple[Incoming | None, Where | None]:
        """The neutral update, or None for what planbot does not answer."""
        user, chat = update.effective_user, update.effective_chat
        if user is None or chat is None or user.is_bot:
            return None, None
        is_group = chat.type in GROUPS
        actor = Actor(PLATFORM, str(user.id))
        base = Incoming(
            PLATFORM,
            None,
            str(chat.id),
            str(user.id),
            locale=user.language_code or "en",
            display_name=user.full_name,
            workspace_id=await current_workspace(self.ctx, actor),
            update_id=str(update.update_id),
            is_group=is_group,
        )
        query = update.callback_query
        if query is not None:
            tap, owner = decode_tap(query.data)
            # A notice (its buttons have no owner) stays as it was for the others in the
            # chat: the answer follows it instead of replacing it.
            menu = query.message if owner != NO_OWNER else None
            where = Where(chat.id, user.id, is_group, menu.message_id if menu else None)
            return replace(base, tap=tap), where
        message = update.message
        where = Where(chat.id, user.id, is_group)
        if message is None or message.text is None:
            if message is not None and not is_group:
                t = Translator(language_of(base.locale))
                await self.deliver(where, t, _texts(texts.not_understood(t)))
            return None, None
        text = message.text.strip()
        if not text.startswith("/"):
            if is_group and not self._addressed(update):
                return None, None
            return replace(base, text=text[:4096]), where
        head, _, argument = text[1:].partition(" ")
        name, _, addressee = head.partition("@")
        if addressee and addressee.lower() != (self.username or "").lower():
            return None, None  # a command for another bot in the group
        name = name.lower()
        if name == "start":
            if argument.strip():
                return replace(base, command="join", argument=argument.strip()), where
            if base.workspace_id is None:
                return replace(base, command="workspace"), where
        return replace(base, command=name, argument=argument), where

    def _addressed(self, update: Update) -> bool:
        """In a group, plain text is for planbot only as a reply to one of its messages."""
        message = update.message
        replied = message.reply_to_message if message is not None else None
        author = replied.from_user if replied is not None else None
        return author is not None and author.id == self.application.bot.id

    # --- replies --------------------------------------------------------------------------

    async def deliver(self, where: Where, t: Translator, messages: list[Outbound]) -> None:
        """Edit the tapped menu with the first message, send the rest; links go privately,
        photos where the update came from."""
        bot = self.application.bot
        for n, message in enumerate(messages):
            if message.photo is not None:
                if n == 0 and where.message_id is not None:
                    await remove_keyboard(bot, where.chat_id, where.message_id)
                if not await self._photo(where, message):
                    return
                continue
            if message.link and where.is_group:
                await self._private_link(where, t, message)
                if n == 0 and where.message_id is not None:
                    await remove_keyboard(bot, where.chat_id, where.message_id)
                continue
            if (
                n == 0
                and where.message_id is not None
                and await edit(bot, where.chat_id, where.message_id, message)
            ):
                continue
            try:
                await send(bot, where.chat_id, message)
            except Forbidden:
                log.info("chat %s does not accept messages from the bot", where.chat_id)
                return

    async def _photo(self, where: Where, message: Outbound) -> bool:
        """Send a picture; one Telegram refuses is replaced by its caption, so the numbers
        still arrive. False: the chat takes nothing from the bot."""
        bot = self.application.bot
        try:
            await send_photo(bot, where.chat_id, message)
        except Forbidden:
            log.info("chat %s does not accept messages from the bot", where.chat_id)
            return False
        except BadRequest as exc:
            log.warning("photo to %s refused: %s", where.chat_id, exc.message)
            try:
                await send(bot, where.chat_id, Outbound(message.html))
            except Forbidden:
                return False
        return True

    async def _private_link(self, where: Where, t: Translator, message: Outbound) -> None:
        bot = self.application.bot
        try:
            await send(bot, where.user_id, message)
        except Forbidden:
            note = texts.open_private_chat(t, self.deep_link())
        else:
            note = texts.link_sent_privately(t)
        with contextlib.suppress(Forbidden):
            await send(bot, where.chat_id, _texts(note)[0])

    # --- notices --------------------------------------------------------------------------

    async def deliver_notices(self) -> int:
        """Send the Telegram notices due (payments confirmed, renewals, and flagged payments
        and approvals to the staff groups) if this process holds the bot's sender lease; the
        buttons have no owner, so anyone in the chat may tap (the engine checks who)."""
        return await self.notices.drain()

    async def notices_forever(self, every: float) -> None:
        await self.notices.forever(every)

    async def let_go_of_notices(self) -> None:
        """At shutdown: another worker's sender takes over at once."""
        await self.notices.let_go()


def _texts(text: str) -> list[Outbound]:
    return compose([Text(text)], NO_OWNER)


def _may_tap(tap: Tap, owner: int | None, user_id: int) -> bool:
    """A menu is its owner's; buttons with no owner (a notice's) and standing ones (which
    run a command, checked by the engine like a typed one) are anyone's to tap."""
    return owner is None or owner in (NO_OWNER, user_id) or tap.value.startswith(STANDING)

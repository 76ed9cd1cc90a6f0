"""Slack requests in, engine calls, replies out (Bolt's AsyncApp, lazy listeners: every
request is acknowledged first and the engine runs after the ack)."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from dataclasses import dataclass, replace
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import select

from adapters.slack.render import (
    NUMBER_ACTION,
    QUANTITY_BLOCK,
    QUANTITY_INPUT,
    QUANTITY_MODAL,
    SELECT_ACTION,
    TAP_ACTION,
    Block,
    Outbound,
    compose,
    decode_tap,
    mrkdwn_escape,
    quantity_modal,
)
from bot import slack_texts as texts
from bot.engine import Engine
from bot.flows import all_flows
from bot.i18n import Translator, language_of
from bot.notices import notice_text
from bot.vocabulary import Incoming, Reply, Text
from core.access import Actor
from core.model import Member, Role, Workspace
from core.services.context import Context
from core.services.outbox import take_platform_notices
from core.services.workspaces import ensure_member, ensure_workspace

PLATFORM = "slack"
DEFAULT_COMMAND = "/plans"
ROLE_TTL_SECONDS = 60.0
HOME = "home"
log = logging.getLogger("planbot.slack")


def build_app(
    *,
    signing_secret: str,
    token: str | None,
    api_url: str = "https://slack.com/api/",
    process_before_response: bool = False,
    request_verification: bool = True,
    oauth: AsyncOAuthSettings | None = None,
) -> AsyncApp:
    """A Bolt app for one workspace (its bot token) or for every workspace that installs it
    (`oauth`), talking to the Web API at `api_url`."""
    client = AsyncWebClient(token=None if oauth is not None else token, base_url=api_url)
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=2))
    return AsyncApp(
        signing_secret=signing_secret,
        client=client,
        process_before_response=process_before_response,
        request_verification_enabled=request_verification,
        oauth_settings=oauth,
    )


@dataclass(frozen=True, slots=True)
class Where:
    """Where replies go: a channel (ephemeral unless a DM), a message to update, or Home."""

    team: str
    channel: str
    user: str
    ts: str | None = None

    @property
    def chat(self) -> str:
        return f"{self.channel}:{self.user}"

    @property
    def is_home(self) -> bool:
        return self.channel == HOME

    @property
    def is_direct(self) -> bool:
        return self.channel.startswith("D")


@dataclass(frozen=True, slots=True)
class Person:
    admin: bool
    locale: str
    name: str | None


def _team(body: dict[str, Any]) -> tuple[str, str]:
    """The team id and a name for it, from any kind of request."""
    team = body.get("team")
    if isinstance(team, dict):
        return str(team.get("id") or ""), str(team.get("domain") or team.get("id") or "")
    team_id = str(body.get("team_id") or team or "")
    return team_id, str(body.get("team_domain") or team_id)


def _user(body: dict[str, Any]) -> str:
    user = body.get("user")
    if isinstance(user, dict):
        return str(user.get("id") or "")
    return str(body.get("user_id") or user or "")


class SlackBot:
    """planbot on a Bolt AsyncApp: slash command, buttons, selects, the quantity modal, Home."""

    def __init__(
        self,
        ctx: Context,
        app: AsyncApp,
        *,
        command: str = DEFAULT_COMMAND,
        support_staff: frozenset[str] = frozenset(),
        role_ttl: float = ROLE_TTL_SECONDS,
        installations: AsyncInstallationStore | None = None,
    ) -> None:
        self.ctx = ctx
        self.installations = installations
        self.app = app
        self.command = command if command.startswith("/") else f"/{command}"
        self.engine = Engine(ctx, all_flows(), support_staff=support_staff)
        self.role_ttl = role_ttl
        self._workspaces: dict[str, int] = {}
        self._people: dict[tuple[str, str], tuple[float, Person]] = {}
        self._members: set[tuple[int, str, bool]] = set()
        app.command(self.command)(ack=self._ack, lazy=[self._on_command])
        app.action(re.compile(f"^{TAP_ACTION}"))(ack=self._ack, lazy=[self._on_tap])
        app.action(SELECT_ACTION)(ack=self._ack, lazy=[self._on_tap])
        app.action(NUMBER_ACTION)(ack=self._ack, lazy=[self._on_number])
        app.action("planbot_link")(self._ack)
        app.view(QUANTITY_MODAL)(ack=self._ack_quantity, lazy=[self._on_quantity])
        app.event("app_home_opened")(ack=self._ack, lazy=[self._on_home])
        app.event("message")(ack=self._ack, lazy=[self._on_message])
        app.error(self._on_error)

    # --- acks -----------------------------------------------------------------------------

    async def _ack(self, ack: AsyncAck) -> None:
        await ack()

    async def _ack_quantity(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        """Validation errors go back in the ack, keyed by the input's block_id."""
        language = str(_metadata(body).get("l") or "en")
        error = _quantity_error(Translator(language_of(language)), body)
        if error is None:
            await ack()
        else:
            await ack(response_action="errors", errors={QUANTITY_BLOCK: error})

    async def _on_error(self, error: Exception, body: dict[str, Any]) -> None:
        log.error("request failed: %r", error, exc_info=error)

    # --- listeners (after the ack) --------------------------------------------------------

    async def _on_command(self, body: dict[str, Any], client: AsyncWebClient) -> None:
        text = str(body.get("text") or "").strip()
        name, _, argument = text.partition(" ")
        name = name.lower().lstrip("/") or "plans"
        where = Where(_team(body)[0], str(body.get("channel_id") or ""), _user(body))
        await self.step(body, client, where, command=name, argument=argument.strip())

    async def _on_tap(self, body: dict[str, Any], client: AsyncWebClient) -> None:
        action = (body.get("actions") or [{}])[0]
        if action.get("type") == "static_select":
            value = (action.get("selected_option") or {}).get("value")
        else:
            value = action.get("value")
        await self.step(body, client, self._where_of_action(body), tap=decode_tap(value))

    def _where_of_action(self, body: dict[str, Any]) -> Where:
        team, user = _team(body)[0], _user(body)
        container = body.get("container") or {}
        if container.get("type") == "view":
            return Where(team, HOME, user)
        channel = str((body.get("channel") or {}).get("id") or container.get("channel_id") or "")
        ts = container.get("message_ts") if not container.get("is_ephemeral") else None
        return Where(team, channel, user, str(ts) if ts else None)

    async def _on_number(self, body: dict[str, Any], client: AsyncWebClient) -> None:
        """Open the quantity modal (the trigger lives 3 s: this is the first thing done)."""
        action = (body.get("actions") or [{}])[0]
        try:
            given = json.loads(str(action.get("value")))
            version, low, high = int(given["v"]), int(given["min"]), int(given["max"])
        except (ValueError, TypeError, KeyError):
            return
        where = self._where_of_action(body)
        person = await self.person(client, where.team, where.user)
        language = language_of(person.locale)
        t = Translator(language)
        meta = json.dumps(
            {
                "v": version,
                "min": low,
                "max": high,
                "c": where.channel,
                "ts": where.ts,
                "l": language,
            }
        )
        view = quantity_modal(
            texts.quantity_title(t),
            texts.quantity_label(t, low, high),
            texts.submit(t),
            texts.close(t),
            low,
            high,
            meta,
        )
        try:
            await client.views_open(trigger_id=str(body.get("trigger_id")), view=view)
        except SlackApiError as exc:
            log.warning("could not open the quantity modal: %s", exc.response.get("error"))

    async def _on_quantity(self, body: dict[str, Any], client: AsyncWebClient) -> None:
        value, meta = _quantity(body), _metadata(body)
        if value is None or not meta.get("c") or _quantity_error(Translator("en"), body):
            return  # refused in the ack already
        ts = meta.get("ts")
        where = Where(_team(body)[0], str(meta["c"]), _user(body), str(ts) if ts else None)
        await self.step(body, client, where, text=str(value))

    async def _on_home(
        self, body: dict[str, Any], event: dict[str, Any], client: AsyncWebClient
    ) -> None:
        if event.get("tab", "home") != "home":
            return
        where = Where(_team(body)[0], HOME, str(event.get("user") or ""))
        await self.step(body, client, where, command="details", home_intro=True)

    async def _on_message(
        self, body: dict[str, Any], event: dict[str, Any], client: AsyncWebClient
    ) -> None:
        """Plain text in the app's direct messages (answers to text questions)."""
        if event.get("channel_type") != "im" or event.get("bot_id") or event.get("subtype"):
            return
        text = str(event.get("text") or "").strip()
        if not text:
            return
        where = Where(_team(body)[0], str(event.get("channel") or ""), str(event.get("user") or ""))
        await self.step(body, client, where, text=text[:4000])

    # --- the engine -----------------------------------------------------------------------

    async def step(
        self,
        body: dict[str, Any],
        client: AsyncWebClient,
        where: Where,
        *,
        home_intro: bool = False,
        **update: Any,
    ) -> None:
        """One update through the engine, with the workspace and the member made first."""
        if not where.team or not where.user or not where.channel:
            return
        person = await self.person(client, where.team, where.user)
        t = Translator(language_of(person.locale))
        try:
            workspace_id = await self.workspace(where.team, _team(body)[1])
            await self.membership(workspace_id, where.user, person.admin)
            incoming = replace(
                Incoming(
                    PLATFORM,
                    where.team,
                    where.chat,
                    where.user,
                    locale=person.locale,
                    display_name=person.name,
                    workspace_id=workspace_id,
                ),
                **update,
            )
            replies: list[Reply] = await self.engine.handle(incoming)
        except Exception:
            log.exception("the engine failed on a Slack request")
            replies = [Text(texts.failed(t))]
        if home_intro:
            replies = [Text(texts.home_intro(t)), *replies]
        await self.deliver(client, where, compose(replies, texts.enter_number(t)))

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
        self._people[(team, user)] = (now + self.role_ttl, person)
        return person

    async def membership(self, workspace_id: int, user: str, admin: bool) -> None:
        """Admins get Role.ADMIN; everyone else is a member unless granted more."""
        key = (workspace_id, user, admin)
        if key in self._members:
            return
        async with self.ctx.db.unit_of_work() as session:
            role = await session.scalar(
                select(Member.role).where(
                    Member.workspace_id == workspace_id,
                    Member.platform == PLATFORM,
                    Member.user_id == user,
                )
            )
        if admin and role not in (Role.ADMIN.value, Role.OWNER.value):
            await ensure_member(self.ctx, workspace_id, Actor(PLATFORM, user), Role.ADMIN)
        elif not admin and role is None:
            await ensure_member(self.ctx, workspace_id, Actor(PLATFORM, user), Role.MEMBER)
        self._members.add(key)

    # --- replies --------------------------------------------------------------------------

    async def deliver(self, client: AsyncWebClient, where: Where, messages: list[Outbound]) -> None:
        """Home: publish the view. A DM: update the tapped message, post the rest. A channel:
        ephemeral messages only the caller sees."""
        try:
            if where.is_home:
                blocks: list[Block] = [b for m in messages for b in m.blocks][:100]
                await client.views_publish(
                    user_id=where.user, view={"type": "home", "blocks": blocks}
                )
                return
            for n, message in enumerate(messages):
                if where.is_direct:
                    if n == 0 and where.ts is not None:
                        await client.chat_update(
                            channel=where.channel,
                            ts=where.ts,
                            text=mrkdwn_escape(message.text),
                            blocks=message.blocks,
                        )
                    else:
                        await client.chat_postMessage(
                            channel=where.channel,
                            text=mrkdwn_escape(message.text),
                            blocks=message.blocks,
                        )
                else:
                    await client.chat_postEphemeral(
                        channel=where.channel,
                        user=where.user,
                        text=mrkdwn_escape(message.text),
                        blocks=message.blocks,
                    )
        except SlackApiError as exc:
            log.warning("reply to %s not delivered: %s", where.chat, exc.response.get("error"))

    async def client_for(self, workspace_id: int) -> AsyncWebClient | None:
        """The Web API client with the bot token of the workspace's installation."""
        if self.installations is None:
            return self.app.client
        async with self.ctx.db.unit_of_work() as session:
            team = await session.scalar(
                select(Workspace.external_id).where(
                    Workspace.id == workspace_id, Workspace.platform == PLATFORM
                )
            )
        if team is None:
            return None
        bot = await self.installations.async_find_bot(enterprise_id=None, team_id=team)
        if bot is None or not bot.bot_token:
            return None
        return AsyncWebClient(
            token=bot.bot_token,
            base_url=self.app.client.base_url,
            retry_handlers=list(self.app.client.retry_handlers),
        )

    async def notices_forever(self, every: float) -> None:
        while True:
            try:
                await self.deliver_notices()
            except Exception:
                log.exception("notice delivery failed; trying again")
            await asyncio.sleep(every)

    # --- notices --------------------------------------------------------------------------

    async def deliver_notices(self) -> int:
        """Post what the outbox holds for Slack to each person directly."""
        pending = await take_platform_notices(self.ctx.db, self.ctx.clock, PLATFORM)
        for item in pending:
            notice = item.notice
            if notice.chat_id is None:
                continue
            user = notice.chat_id.rpartition(":")[2]
            t = Translator(item.locale or "en", item.timezone)
            text = notice_text(t, self.ctx.catalog, notice)
            client = await self.client_for(notice.workspace_id)
            if client is None:
                log.warning(
                    "notice %s: workspace %s has no installation", notice.kind, notice.workspace_id
                )
                continue
            try:
                await client.chat_postMessage(
                    channel=user,
                    text=mrkdwn_escape(text),
                    blocks=[
                        {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn_escape(text)}}
                    ],
                )
            except SlackApiError as exc:
                log.warning(
                    "notice %s to %s not delivered: %s",
                    notice.kind,
                    user,
                    exc.response.get("error"),
                )
        return len(pending)


def _metadata(body: dict[str, Any]) -> dict[str, Any]:
    try:
        meta = json.loads(str((body.get("view") or {}).get("private_metadata") or "{}"))
    except ValueError:
        return {}
    return meta if isinstance(meta, dict) else {}


def _quantity(body: dict[str, Any]) -> int | None:
    """The whole number typed in the modal, or None."""
    values = ((body.get("view") or {}).get("state") or {}).get("values") or {}
    raw = ((values.get(QUANTITY_BLOCK) or {}).get(QUANTITY_INPUT) or {}).get("value")
    text = str(raw or "").strip()
    if not text.isascii() or not text.isdigit() or len(text) > 12:
        return None
    return int(text)


def _quantity_error(t: Translator, body: dict[str, Any]) -> str | None:
    """Why the modal's number cannot be taken, or None when it is within the bounds."""
    meta = _metadata(body)
    value = _quantity(body)
    try:
        minimum, maximum = int(meta.get("min", 1)), int(meta.get("max", 10**9))
    except (TypeError, ValueError):
        minimum, maximum = 1, 10**9
    if value is None:
        return texts.not_a_whole_number(t)
    if not minimum <= value <= maximum:
        return texts.out_of_range(t, minimum, maximum)
    return None

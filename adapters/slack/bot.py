"""Slack requests in, engine calls, replies out (Bolt's AsyncApp: every request is
acknowledged first, and the engine runs after the ack in a task of its own)."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import replace
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import texts
from adapters.slack.delivery import Delivery
from adapters.slack.payloads import (
    HOME,
    Where,
    mentions_as_ids,
    metadata,
    quantity,
    quantity_error,
    team_of,
    where_of_action,
    where_of_command,
    where_of_submission,
)
from adapters.slack.people import PLATFORM, ROLE_TTL_SECONDS, People
from adapters.slack.render import (
    NUMBER_ACTION,
    QUANTITY_BLOCK,
    QUANTITY_MODAL,
    SELECT_ACTION,
    TAP_ACTION,
    Wording,
    compose,
    decode_tap,
    quantity_modal,
)
from bot.engine import Engine
from bot.flows import all_flows
from bot.flows.admins import admins_flow
from bot.i18n import Translator, language_of
from bot.vocabulary import Incoming, Reply, Text
from core.services.context import Context

__all__ = ["PLATFORM", "SlackBot", "build_app"]

DEFAULT_COMMAND = "/plans"
DEFAULT_STAFF_COMMAND = "/staff"
CLOSE_WAIT_SECONDS = 10.0
Work = Callable[[dict[str, Any], AsyncWebClient], Coroutine[Any, Any, None]]
log = logging.getLogger("planbot.slack")


def build_app(
    *,
    signing_secret: str,
    token: str | None,
    api_url: str = "https://slack.com/api/",
    process_before_response: bool = True,
    request_verification: bool = True,
    oauth: AsyncOAuthSettings | None = None,
) -> AsyncApp:
    """A Bolt app for one workspace (its bot token) or for every workspace that installs it
    (`oauth`), talking to the Web API at `api_url`. Every listener acks at once and leaves
    the slow work to a task, so Bolt answers as soon as the ack is made
    (`process_before_response`) instead of polling for it every 10 ms."""
    client = AsyncWebClient(token=None if oauth is not None else token, base_url=api_url)
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=2))
    return AsyncApp(
        signing_secret=signing_secret,
        client=client,
        process_before_response=process_before_response,
        request_verification_enabled=request_verification,
        oauth_settings=oauth,
    )


class SlackBot:
    """planbot on a Bolt AsyncApp: slash command, buttons, selects, the quantity modal, Home."""

    def __init__(
        self,
        ctx: Context,
        app: AsyncApp,
        *,
        command: str = DEFAULT_COMMAND,
        staff_command: str = DEFAULT_STAFF_COMMAND,
        role_ttl: float = ROLE_TTL_SECONDS,
        installations: AsyncInstallationStore | None = None,
    ) -> None:
        self.ctx = ctx
        self.app = app
        self.installations = installations
        self.command = command if command.startswith("/") else f"/{command}"
        self.staff_command = staff_command if staff_command.startswith("/") else f"/{staff_command}"
        flows = {**all_flows(), "admins": admins_flow(texts.add_admin_hint(self.command))}
        self.engine = Engine(
            ctx,
            flows,
            help=lambda t: texts.help_text(t, self.command),
            command_prefix=f"{self.command} ",
            command=self.typed_command,
        )
        self.people = People(ctx, role_ttl)
        oauth = app.oauth_flow
        app_key = app.client.token or (oauth.client_id if oauth is not None else "") or ""
        self.delivery = Delivery(
            ctx, app.client, installations, self.typed_command, app_key=app_key
        )
        self._tasks: set[asyncio.Task[None]] = set()
        app.command(self.command)(self._after_ack(self._on_command))
        app.command(self.staff_command)(self._after_ack(self._on_staff_command))
        app.action(re.compile(f"^{TAP_ACTION}"))(self._after_ack(self._on_tap))
        app.action(SELECT_ACTION)(self._after_ack(self._on_tap))
        app.action(NUMBER_ACTION)(self._after_ack(self._on_number))
        app.action("planbot_link")(self._ack)
        app.view(QUANTITY_MODAL)(self._ack_quantity)
        app.event("app_home_opened")(self._after_ack(self._on_home))
        app.event("message")(self._after_ack(self._on_message))
        if installations is not None:
            app.enable_token_revocation_listeners()  # an uninstall deletes the bot token
        app.error(self._on_error)

    def typed_command(self, name: str) -> str:
        """A command a flow names, as Slack users type it: a subcommand of the app's own."""
        return texts.typed_command(self.command, name)

    async def open(self) -> None:
        """One pooled HTTP session for every Web API call and response_url post, instead of
        slack-sdk's default of a new connection per call (Bolt's per-request clients share
        the app client's session)."""
        if self.app.client.session is None:
            timeout = aiohttp.ClientTimeout(total=self.app.client.timeout)
            self.app.client.session = aiohttp.ClientSession(timeout=timeout)

    async def close(self) -> None:
        """Let the updates already acknowledged finish (a while at most), give up the notice
        sender's lease, then close."""
        await self.let_go_of_notices()
        if self._tasks:
            _, late = await asyncio.wait(set(self._tasks), timeout=CLOSE_WAIT_SECONDS)
            for task in late:
                task.cancel()
        session, self.app.client.session = self.app.client.session, None
        if session is not None:
            await session.close()

    async def deliver_notices(self) -> int:
        return await self.delivery.deliver_notices()

    async def notices_forever(self, every: float) -> None:
        await self.delivery.notices_forever(every)

    async def let_go_of_notices(self) -> None:
        """At shutdown: another worker's sender takes over at once."""
        await self.delivery.notices.let_go()

    # --- acks -----------------------------------------------------------------------------

    async def _ack(self, ack: AsyncAck) -> None:
        await ack()

    def _after_ack(self, work: Work) -> Callable[..., Awaitable[None]]:
        """A listener that acks, then leaves the slow work to a task of its own (Bolt's lazy
        listeners would deep-copy the whole request first)."""

        async def listener(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
            await ack()
            self._spawn(work(body, client))

        return listener

    async def _ack_quantity(
        self, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        """Validation errors go back in the ack, keyed by the input's block_id."""
        language = str(metadata(body).get("l") or "en")
        error = quantity_error(Translator(language_of(language)), body)
        if error is not None:
            await ack(response_action="errors", errors={QUANTITY_BLOCK: error})
            return
        await ack()
        self._spawn(self._on_quantity(body, client))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            log.error("a Slack update failed after its ack: %r", error, exc_info=error)

    async def _on_error(self, error: Exception, body: dict[str, Any]) -> None:
        log.error("request failed: %r", error, exc_info=error)

    # --- listeners (after the ack) --------------------------------------------------------

    async def _on_command(self, body: dict[str, Any], client: AsyncWebClient) -> None:
        text = mentions_as_ids(str(body.get("text") or "")).strip()
        name, _, argument = text.partition(" ")
        name = name.lower().lstrip("/") or "plans"
        await self.step(
            body, client, where_of_command(body), command=name, argument=argument.strip()
        )

    async def _on_staff_command(self, body: dict[str, Any], client: AsyncWebClient) -> None:
        """The support staff's own command: `/staff <verb> [args]`, answered only to them."""
        text = mentions_as_ids(str(body.get("text") or "")).strip()
        await self.step(body, client, where_of_command(body), command="staff", argument=text)

    async def _on_tap(self, body: dict[str, Any], client: AsyncWebClient) -> None:
        action = (body.get("actions") or [{}])[0]
        if action.get("type") == "static_select":
            value = (action.get("selected_option") or {}).get("value")
        else:
            value = action.get("value")
        await self.step(body, client, where_of_action(body), tap=decode_tap(value))

    async def _on_number(self, body: dict[str, Any], client: AsyncWebClient) -> None:
        """Open the quantity modal (the trigger lives 3 s: this is the first thing done)."""
        action = (body.get("actions") or [{}])[0]
        try:
            given = json.loads(str(action.get("value")))
            version, low, high = int(given["v"]), int(given["min"]), int(given["max"])
        except (ValueError, TypeError, KeyError):
            return
        where = where_of_action(body)
        person = await self.people.person(client, where.team, where.user)
        language = language_of(person.locale)
        t = Translator(language)
        meta = {"v": version, "min": low, "max": high, "c": where.channel, "ts": where.ts}
        meta.update({"r": where.response_url, "l": language})
        view = quantity_modal(
            texts.quantity_title(t),
            texts.quantity_label(t, low, high),
            texts.submit(t),
            texts.close(t),
            low,
            high,
            json.dumps(meta),
        )
        try:
            await client.views_open(trigger_id=str(body.get("trigger_id")), view=view)
        except SlackApiError as exc:
            log.warning("could not open the quantity modal: %s", exc.response.get("error"))

    async def _on_quantity(self, body: dict[str, Any], client: AsyncWebClient) -> None:
        value, where = quantity(body), where_of_submission(body)
        if value is None or where is None:
            return
        await self.step(body, client, where, text=str(value))

    async def _on_home(self, body: dict[str, Any], client: AsyncWebClient) -> None:
        event = body.get("event") or {}
        if event.get("tab", "home") != "home":
            return
        where = Where(team_of(body)[0], HOME, str(event.get("user") or ""))
        await self.step(body, client, where, command="details", home_intro=True)

    async def _on_message(self, body: dict[str, Any], client: AsyncWebClient) -> None:
        """Plain text in the app's direct messages (answers to text questions)."""
        event = body.get("event") or {}
        if event.get("channel_type") != "im" or event.get("bot_id") or event.get("subtype"):
            return
        text = str(event.get("text") or "").strip()
        if not text:
            return
        channel, user = str(event.get("channel") or ""), str(event.get("user") or "")
        where = Where(team_of(body)[0], channel, user)
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
        person = await self.people.person(client, where.team, where.user)
        t = Translator(language_of(person.locale))
        try:
            workspace_id = await self.people.workspace(where.team, team_of(body)[1])
            await self.people.membership(workspace_id, where.user, person.admin)
            incoming = Incoming(
                PLATFORM,
                where.team,
                where.chat,
                where.user,
                locale=person.locale,
                display_name=person.name,
                workspace_id=workspace_id,
            )
            replies: list[Reply] = await self.engine.handle(replace(incoming, **update))
        except Exception:
            log.exception("the engine failed on a Slack request")
            replies = [Text(texts.failed(t))]
        if home_intro:
            replies = [Text(texts.home_intro(t)), *replies]
        wording = Wording(texts.enter_number(t), texts.choose(t), texts.no_chart(t))
        await self.delivery.deliver(client, where, compose(replies, wording))

"""Replies out: Home views, messages updated in place in the app's DM, answers only the
caller sees in channels (by response_url, which needs no channel membership), notices
posted to each person with their workspace's bot token, and staff-chat notices posted to
the vendor's channel with the vendor team's token."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

import aiohttp
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from adapters.repeat import one_line
from adapters.slack import texts
from adapters.slack.payloads import Where
from adapters.slack.people import PLATFORM
from adapters.slack.render import (
    Block,
    FileUpload,
    Outbound,
    Wording,
    compose,
    mrkdwn_escape,
)
from bot.flow import slash
from bot.notices import notice_replies, notice_translator
from core.pacing import SLACK_NOTICE_PACE
from core.ports import Notice
from core.services.context import Context
from core.services.notice_checks import Ready
from core.services.notice_sender import BeforeRequest, Sender, sender_name
from core.services.outbox import Failed, Outcome, RetryLater, Sent, Unknown
from core.services.workspaces import platform_id

HOME_BLOCKS = 100
NOT_A_MEMBER = {"channel_not_found", "not_in_channel"}
NOT_SENT_WAIT = timedelta(seconds=5)
"""How long a notice whose request never left waits before it is tried again."""
log = logging.getLogger("planbot.slack")


def _mrkdwn(text: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": mrkdwn_escape(text)[:3000]}


class Delivery:
    """Puts rendered messages where the request came from, and the outbox's notices in DMs."""

    def __init__(
        self,
        ctx: Context,
        client: AsyncWebClient,
        installations: AsyncInstallationStore | None = None,
        command: Callable[[str], str] = slash,
        app_key: str = "",
    ) -> None:
        self.ctx = ctx
        self.client = client
        self.installations = installations
        self.command = command
        """How a command named in a notice is typed in Slack ("/plans details")."""
        self.notices = Sender(
            ctx, PLATFORM, self, SLACK_NOTICE_PACE, name=sender_name(PLATFORM, app_key)
        )
        """The app's one notice sender across all workers (DESIGN 14); `app_key` names the
        app (its bot token, or its OAuth client id)."""

    async def deliver(self, client: AsyncWebClient, where: Where, messages: list[Outbound]) -> None:
        """Home: publish the view. Otherwise the first message replaces the one tapped (in
        place in a DM, through response_url when it was ephemeral); the rest follow it."""
        try:
            if where.is_home:
                blocks: list[Block] = [b for m in messages for b in m.blocks][:HOME_BLOCKS]
                await client.views_publish(
                    user_id=where.user, view={"type": "home", "blocks": blocks}
                )
                return
            for n, message in enumerate(messages):
                await self._one(client, where, message, first=n == 0)
        except SlackApiError as exc:
            log.warning("reply to %s not delivered: %s", where.chat, exc.response.get("error"))

    async def _one(
        self, client: AsyncWebClient, where: Where, message: Outbound, *, first: bool
    ) -> None:
        if message.upload is not None:
            await self._upload(client, where, message, message.upload, first=first)
            return
        text = mrkdwn_escape(message.text)
        if first and where.is_direct and where.ts is not None:
            await client.chat_update(
                channel=where.channel, ts=where.ts, text=text, blocks=message.blocks
            )
            return
        if first and where.replace and await self._hook(where, message, replace=True):
            return
        if where.is_direct:
            try:
                await client.chat_postMessage(
                    channel=where.channel, text=text, blocks=message.blocks
                )
                return
            except SlackApiError as exc:
                if exc.response.get("error") not in NOT_A_MEMBER or not where.response_url:
                    raise
        if where.response_url and await self._hook(where, message, replace=False):
            return
        await client.chat_postEphemeral(
            channel=where.channel, user=where.user, text=text, blocks=message.blocks
        )

    async def _upload(
        self,
        client: AsyncWebClient,
        where: Where,
        message: Outbound,
        upload: FileUpload,
        *,
        first: bool,
    ) -> None:
        """Upload the picture into the channel the request came from (the app's DM channel
        in a DM), its text as the comment; a menu it was asked from keeps only its title.
        Where Slack refuses the file (the app is not in the channel), the text goes as a
        reply with a note instead."""
        replaces = where.replace or (where.is_direct and where.ts is not None)
        if first and replaces:
            title = Outbound(upload.title, [{"type": "section", "text": _mrkdwn(upload.title)}])
            await self._one(client, where, title, first=True)
        try:
            await client.files_upload_v2(
                channel=where.channel,
                file=upload.png,
                filename=upload.filename,
                title=upload.title,
                initial_comment=mrkdwn_escape(message.text),
            )
        except (SlackApiError, SlackRequestError) as exc:
            error = exc.response.get("error") if isinstance(exc, SlackApiError) else str(exc)
            log.info("chart not uploaded to %s: %s", where.chat, error)
            await self._one(client, where, message.without_upload(), first=first)

    async def _hook(self, where: Where, message: Outbound, *, replace: bool) -> bool:
        """Post through the request's response_url; False when Slack refuses it (used five
        times, older than 30 minutes) so the Web API can be tried instead."""
        assert where.response_url is not None
        hook = AsyncWebhookClient(
            where.response_url,
            session=self.client.session,
            retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=2)],
        )
        try:
            answer = await hook.send(
                text=mrkdwn_escape(message.text),
                blocks=message.blocks,
                response_type="ephemeral",
                replace_original=replace,
            )
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("response_url for %s failed: %r", where.chat, exc)
            return False
        if answer.status_code != 200:
            log.info("response_url for %s refused: %s", where.chat, answer.body)
            return False
        return True

    async def client_for(self, workspace_id: int) -> AsyncWebClient | None:
        """The Web API client with the bot token of the workspace's installation."""
        if self.installations is None:
            return self.client
        team = await platform_id(self.ctx, workspace_id, PLATFORM)
        return None if team is None else await self.client_for_team(team)

    async def client_for_team(self, team: str) -> AsyncWebClient | None:
        """The Web API client with the bot token a team installed the app with."""
        if self.installations is None:
            return self.client
        bot = await self.installations.async_find_bot(enterprise_id=None, team_id=team)
        if bot is None or not bot.bot_token:
            return None
        return AsyncWebClient(
            token=bot.bot_token,
            base_url=self.client.base_url,
            session=self.client.session,
            retry_handlers=list(self.client.retry_handlers),
        )

    async def notices_forever(self, every: float) -> None:
        await self.notices.forever(every)

    async def deliver_notices(self) -> int:
        """Post the Slack notices due, to each person directly and to the staff channels,
        with the notice's buttons, if this process holds the app's sender lease."""
        return await self.notices.drain()

    async def send(self, ready: Ready, before_request: BeforeRequest) -> Outcome:
        """The notice sender's Transport: one notice posted, Slack's answer as an outcome."""
        if ready.notice.chat_id is None:
            return Failed("no recipient")
        return await self._post_notice(ready, ready.notice.chat_id, before_request)

    async def _post_notice(
        self, ready: Ready, chat_id: str, before_request: BeforeRequest
    ) -> Outcome:
        notice = ready.notice
        t = notice_translator(self.ctx.staff, notice, ready.locale, ready.timezone)
        replies = notice_replies(t, self.ctx.catalog, notice, self.command)
        messages = compose(replies, Wording(texts.enter_number(t), texts.choose(t)))
        channel, found = await self._destination(notice, chat_id)
        if found is None:
            return Failed("no bot token for this chat")
        # Outcomes are the sender's to decide: slack-sdk's own retries could post twice.
        client = AsyncWebClient(
            token=found.token, base_url=found.base_url, session=found.session, retry_handlers=[]
        )
        for n, message in enumerate(messages):
            await before_request()
            try:
                await client.chat_postMessage(
                    channel=channel, text=mrkdwn_escape(message.text), blocks=message.blocks
                )
            except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
                outcome = outcome_of(exc)
                if n and isinstance(outcome, RetryLater):
                    return Unknown(f"sent in part ({n} of {len(messages)}): {outcome.error}")
                return outcome
        return Sent()

    async def _destination(self, notice: Notice, chat_id: str) -> tuple[str, AsyncWebClient | None]:
        """A staff channel with its team's token; a person (the user of `channel:user`) with
        the token of the workspace the notice is about."""
        staff_chat = self.ctx.staff.chat(PLATFORM, chat_id)
        if staff_chat is None:
            client = await self.client_for(notice.workspace_id)
            if client is None:
                log.warning(
                    "notice %s: workspace %s has no installation", notice.kind, notice.workspace_id
                )
            return chat_id.rpartition(":")[2], client
        if self.installations is None:
            return staff_chat.chat_id, self.client
        if staff_chat.team is None:
            log.warning(
                "notice %s: staff channel %s names no team (slack:TEAM:%s), so no bot token",
                notice.kind,
                staff_chat.chat_id,
                staff_chat.chat_id,
            )
            return staff_chat.chat_id, None
        client = await self.client_for_team(staff_chat.team)
        if client is None:
            log.warning(
                "notice %s: team %s has not installed the app", notice.kind, staff_chat.team
            )
        return staff_chat.chat_id, client


def outcome_of(error: SlackApiError | aiohttp.ClientError | TimeoutError) -> Outcome:
    """What a failed chat.postMessage means for the notice: rate limited (429, with its
    Retry-After) or refused connection is retried; Slack's refusal (not in the channel, the
    channel archived, the account inactive) is failed; a request cut off after it left is
    unknown."""
    if isinstance(error, SlackApiError):
        code = str(error.response.get("error"))
        status = error.response.status_code
        if status == 429 or code == "ratelimited":
            return RetryLater(timedelta(seconds=_retry_after(error)), f"{status} {code}")
        if status >= 500:
            return Unknown(f"{status} {code}")
        return Failed(code)
    if isinstance(error, aiohttp.ClientConnectorError):
        return RetryLater(NOT_SENT_WAIT, f"{one_line(error)} (before the request left)")
    return Unknown(one_line(error))


def _retry_after(error: SlackApiError) -> float:
    headers = error.response.headers or {}
    value = headers.get("Retry-After") or headers.get("retry-after") or 1
    try:
        return max(1.0, float(value[0] if isinstance(value, list) else value))
    except ValueError:
        return 1.0

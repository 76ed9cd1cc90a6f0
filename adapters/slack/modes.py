"""Starting Slack: HTTP mode (/slack/events in the web app) or Socket Mode (SLACK_APP_TOKEN),
for the one workspace whose bot token is SLACK_BOT_TOKEN or for every workspace that
installs the app through OAuth (SLACK_CLIENT_ID and SLACK_CLIENT_SECRET)."""

from __future__ import annotations

import logging

from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler

from adapters.launch import Launch
from adapters.settings import Settings
from adapters.slack.bot import SlackBot, build_app
from adapters.slack.http import EVENTS_PATH, oauth_routes, slack_routes
from adapters.slack.oauth import INSTALL_PATH, oauth_settings
from core.services.context import Context

log = logging.getLogger("planbot.slack")
NOTICE_POLL_SECONDS = 1.0


class SlackSetupError(ValueError):
    """Slack is configured in a way that cannot work; the message says what to set."""


def slack_configured(settings: Settings) -> bool:
    return any(
        (
            settings.SLACK_BOT_TOKEN,
            settings.SLACK_APP_TOKEN,
            settings.SLACK_CLIENT_ID,
            settings.SLACK_CLIENT_SECRET,
        )
    )


def check_slack(settings: Settings, *, socket: bool) -> None:
    """A bot token (one workspace) or the client id and secret (OAuth install); the signing
    secret for HTTP mode, the app token for Socket Mode."""
    oauth = bool(settings.SLACK_CLIENT_ID or settings.SLACK_CLIENT_SECRET)
    if oauth and not (settings.SLACK_CLIENT_ID and settings.SLACK_CLIENT_SECRET):
        raise SlackSetupError("SLACK_CLIENT_ID and SLACK_CLIENT_SECRET go together (OAuth)")
    if not settings.SLACK_BOT_TOKEN and not oauth:
        raise SlackSetupError(
            "SLACK_BOT_TOKEN (xoxb-..., one workspace) or SLACK_CLIENT_ID and "
            "SLACK_CLIENT_SECRET (installation through OAuth) is required"
        )
    if oauth:
        _staff_channels_name_their_team(settings)
    if socket and not settings.SLACK_APP_TOKEN:
        raise SlackSetupError("SLACK_APP_TOKEN (xapp-...) is required for Socket Mode")
    if not socket and not settings.SLACK_SIGNING_SECRET:
        raise SlackSetupError(
            "SLACK_SIGNING_SECRET is required to serve /slack/events (or set SLACK_APP_TOKEN "
            "for Socket Mode)"
        )


def _staff_channels_name_their_team(settings: Settings) -> None:
    """Installed in several teams, a staff channel's notices need the vendor team's token."""
    for chat in settings.staff().chats_on("slack"):
        if chat.team is None:
            raise SlackSetupError(
                f"PLANBOT_STAFF_CHATS: slack:{chat.chat_id} must name the vendor's team when "
                f"the app is installed through OAuth: slack:TEAM_ID:{chat.chat_id}"
            )


async def build_bot(ctx: Context, settings: Settings, *, socket: bool) -> SlackBot:
    """One workspace by its bot token, or every installing workspace when OAuth is set."""
    check_slack(settings, socket=socket)
    oauth, installations = None, None
    if not settings.SLACK_BOT_TOKEN:
        assert settings.SLACK_CLIENT_ID and settings.SLACK_CLIENT_SECRET
        oauth, installations = await oauth_settings(
            ctx.db.engine, settings.SLACK_CLIENT_ID, settings.SLACK_CLIENT_SECRET
        )
    app = build_app(
        signing_secret=settings.SLACK_SIGNING_SECRET or "",
        token=settings.SLACK_BOT_TOKEN,
        api_url=settings.SLACK_API_URL,
        request_verification=not socket,
        oauth=oauth,
    )
    return SlackBot(
        ctx,
        app,
        command=settings.SLACK_COMMAND,
        staff_command=settings.SLACK_STAFF_COMMAND,
        installations=installations,
    )


async def signed_in(bot: SlackBot) -> None:
    """auth.test with the bot token: Slack answers and the token is good (one workspace)."""
    answer = await bot.app.client.auth_test()
    log.info("Slack: signed in to %s as %s", answer.get("team"), answer.get("user"))


async def open_socket(handler: AsyncSocketModeHandler) -> None:
    """Fetch the socket's URL (apps.connections.open) first, where a failure is retried by
    start-up with backoff, then connect (slack-sdk reconnects on its own from there)."""
    client = handler.client
    if client.wss_uri is None:
        client.wss_uri = await client.issue_new_wss_url()
    await handler.connect_async()  # type: ignore[no-untyped-call]


async def slack_launch(ctx: Context, settings: Settings, *, socket: bool) -> Launch:
    """Socket Mode (no public URL needed) or HTTP mode at /slack/events; with OAuth the
    install pages are served in both."""
    bot = await build_bot(ctx, settings, socket=socket)
    install = f", install at {settings.public_url}{INSTALL_PATH}" if bot.installations else ""
    launch = Launch(
        "Slack",
        start=[bot.open],
        stop=[bot.close],
        jobs=[(bot.deliver_notices, NOTICE_POLL_SECONDS)],
        secrets=tuple(s for s in (settings.SLACK_BOT_TOKEN, settings.SLACK_APP_TOKEN) if s),
    )
    if settings.SLACK_BOT_TOKEN:
        launch.start.append(lambda: signed_in(bot))
    if socket:
        assert settings.SLACK_APP_TOKEN is not None
        handler = AsyncSocketModeHandler(bot.app, settings.SLACK_APP_TOKEN)
        launch.routes = oauth_routes(bot)
        launch.start.append(lambda: open_socket(handler))
        launch.stop.insert(0, handler.close_async)
        launch.banner = f"planbot on Slack (Socket Mode), command {bot.command}{install}."
    else:
        assert settings.SLACK_SIGNING_SECRET is not None
        launch.routes = slack_routes(bot, settings.SLACK_SIGNING_SECRET)
        launch.banner = (
            f"planbot on Slack (HTTP mode): request URL {settings.public_url}{EVENTS_PATH}, "
            f"command {bot.command}{install}."
        )
    return launch

"""planbot on Slack through slack-bolt (AsyncApp): HTTP mode at /slack/events."""

from adapters.slack.bot import PLATFORM, SlackBot, build_app
from adapters.slack.http import EVENTS_PATH, slack_routes

__all__ = ["EVENTS_PATH", "PLATFORM", "SlackBot", "build_app", "slack_routes"]

"""Flows and notices name commands the way Slack users type them: subcommands of /plans."""

from __future__ import annotations

from pathlib import Path

from adapters.slack.texts import typed_command
from bot.i18n import Translator
from bot.notices import notice_text
from core.catalog import load_catalog
from core.ports import Notice


def test_the_flows_commands_are_typed_as_subcommands_of_the_apps_own() -> None:
    assert typed_command("/plans", "subscription") == "/plans details"
    assert typed_command("/plans", "upgrade") == "/plans upgrade"
    assert typed_command("/billing", "unsubscribe") == "/billing unsubscribe"
    assert typed_command("/plans", "plans") == "/plans"


def test_a_failed_payment_notice_in_slack_names_the_slack_command() -> None:
    notice = Notice("payment.failed", 1, "slack", "T1:U1", {"order": "ord_1", "package": "cc2"})
    text = notice_text(
        Translator("en"), load_catalog(), notice, lambda name: typed_command("/plans", name)
    )
    assert "try again with /plans upgrade." in text
    assert "/upgrade" not in text.replace("/plans upgrade", "")


def test_elsewhere_the_notice_names_the_slash_command() -> None:
    notice = Notice("something.else", 1, "telegram", "42", {})
    assert "Send /subscription for the details." in notice_text(
        Translator("en"), load_catalog(), notice
    )


def test_the_settings_commands_are_subcommands_and_the_manifest_names_them() -> None:
    assert typed_command("/plans", "notify") == "/plans notify"
    assert typed_command("/plans", "timezone") == "/plans timezone"
    manifest = (Path(__file__).parents[2] / "slack" / "manifest.yaml").read_text()
    hint = next(line for line in manifest.splitlines() if "details | upgrade" in line)
    assert "notify" in hint and "timezone" in hint

"""Every misconfiguration `planbot run` can meet is one line naming what to fix, exit status 2,
and nothing changed: no database made, no migration run."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from adapters.cli import main

CLEARED = ("DATABASE_URL", "STRIPE_", "SLACK_", "TELEGRAM_", "PLANBOT_")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# name: (settings, where "{tmp}" is the test's folder and "{closed}" a port nobody listens on;
# what the line must name)
MISCONFIGURED: dict[str, tuple[dict[str, str], str]] = {
    "a Stripe key without its webhook secret": (
        {"STRIPE_SECRET_KEY": "sk_test_1"},
        "STRIPE_WEBHOOK_SECRET",
    ),
    "Slack without its signing secret": ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET"),
    "an unsupported database": ({"DATABASE_URL": "mysql://db/planbot"}, "DATABASE_URL"),
    "a database URL that is no URL": ({"DATABASE_URL": "not a url"}, "DATABASE_URL"),
    "a database nobody answers at": (
        {"DATABASE_URL": "postgresql://planbot@127.0.0.1:{closed}/planbot"},
        "DATABASE_URL",
    ),
    "a SQLite file in a missing folder": (
        {"DATABASE_URL": "sqlite:///{tmp}/missing/planbot.db"},
        "DATABASE_URL",
    ),
    "a missing catalog": ({"PLANBOT_CATALOG": "{tmp}/none.toml"}, "none.toml"),
    "a catalog that is a folder": ({"PLANBOT_CATALOG": "{tmp}"}, "cannot be read"),
    "a malformed catalog": ({"PLANBOT_CATALOG": "{tmp}/broken.toml"}, "broken.toml"),
    "a public URL without its scheme": (
        {"PLANBOT_PUBLIC_URL": "billing.example.com"},
        "PLANBOT_PUBLIC_URL",
    ),
    "a Telegram API URL that is no URL": (
        {"TELEGRAM_BOT_TOKEN": "1:a", "TELEGRAM_API_BASE_URL": "api.telegram.org"},
        "TELEGRAM_API_BASE_URL",
    ),
    "a port that is no number": ({"PLANBOT_PORT": "eighty"}, "PLANBOT_PORT"),
    "a host that is not this machine's": ({"PLANBOT_HOST": "192.0.2.1"}, "PLANBOT_HOST"),
    "a frozen clock that is no time": ({"PLANBOT_CLOCK": "soon"}, "PLANBOT_CLOCK"),
    "a support person without a platform": (
        {"PLANBOT_SUPPORT_STAFF": "42"},
        "PLANBOT_SUPPORT_STAFF",
    ),
    "a support tier that does not exist": (
        {"PLANBOT_SUPPORT_STAFF": "telegram:42=boss"},
        "'boss'",
    ),
    "a staff chat without a platform": ({"PLANBOT_STAFF_CHATS": "-100123"}, "PLANBOT_STAFF_CHATS"),
    "an approval threshold that is no amount": (
        {"PLANBOT_APPROVAL_OVER": "lots"},
        "PLANBOT_APPROVAL_OVER",
    ),
}


@pytest.mark.parametrize(("settings", "named"), MISCONFIGURED.values(), ids=list(MISCONFIGURED))
def test_a_misconfiguration_is_one_line_and_exit_status_2_and_changes_nothing(
    settings: dict[str, str],
    named: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.startswith(CLEARED)]:
        monkeypatch.delenv(name)
    (tmp_path / "broken.toml").write_text('currency = "USD"\n[packages\n', encoding="utf-8")
    database = tmp_path / "planbot.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{database}")
    monkeypatch.setenv("PLANBOT_HOST", "127.0.0.1")
    monkeypatch.setenv("PLANBOT_PORT", str(free_port()))
    for name, value in settings.items():
        monkeypatch.setenv(name, value.format(tmp=tmp_path, closed=free_port()))
    status = main(["run"])
    out, err = capsys.readouterr()
    assert (status, out) == (2, "")
    assert len(err.splitlines()) == 1, err
    assert err.startswith("planbot: error: ")
    assert named in err
    assert not database.exists()

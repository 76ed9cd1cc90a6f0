"""`planbot chat` as a person runs it: from a pipe, in a fresh directory, ending at EOF."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

PLANBOT = str(Path(sys.executable).with_name("planbot"))


def chat(
    tmp_path: Path, lines: list[str], *args: str, clock: str = "2026-01-15T10:00:00Z"
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PLANBOT_", "DATABASE_URL"))}
    env.update(PLANBOT_CLOCK=clock, DATABASE_URL=f"sqlite:///{tmp_path / 'planbot.db'}")
    return subprocess.run(
        [PLANBOT, "chat", *args],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
        check=False,
    )


def sandbox_pay(tmp_path: Path, order: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLANBOT_")}
    env.update(
        PLANBOT_CLOCK="2026-01-15T10:05:00Z", DATABASE_URL=f"sqlite:///{tmp_path / 'planbot.db'}"
    )
    return subprocess.run(
        [PLANBOT, "sandbox", "pay", order],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
        check=False,
    )


def test_a_piped_conversation_buys_and_the_next_one_is_told_of_the_payment(
    tmp_path: Path,
) -> None:
    first = chat(
        tmp_path,
        [
            "/upgrade",
            "Contact Center 2",
            "12 months (-15%): $255.00 per account",
            "100",
            "Next",
            "Card",
        ],
        "--workspace",
        "acme",
        "--user",
        "alice",
    )
    assert first.returncode == 0, first.stderr
    assert "Total: $25,500.00" in first.stdout
    link = next(line for line in first.stdout.splitlines() if line.startswith("Link: "))
    assert "PLANBOT_CLOCK is set" in first.stderr
    paid = sandbox_pay(tmp_path, link.removeprefix("Link: "))
    assert paid.returncode == 0, paid.stderr
    second = chat(
        tmp_path,
        ["/subscription"],
        "--workspace",
        "acme",
        "--user",
        "alice",
        clock="2026-01-15T10:06:00Z",
    )
    assert "Payment received for order" in second.stdout
    assert "Contact Center 2 (cc2) - Active" in second.stdout
    assert "Next payment: Jan 15, 2027 10:05 UTC" in second.stdout


def test_a_transcript_in_vietnamese(tmp_path: Path) -> None:
    result = chat(
        tmp_path, ["/plans", "/trial", "1"], "--workspace", "cty", "--user", "an", "--lang", "vi"
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "15,00\xa0US$" in out
    assert "Contact Center 1" in out
    assert "Upgrade or buy" not in out
    assert "Đã bắt đầu dùng thử gói Contact Center 1: 10 tài khoản" in out


def test_a_member_chat_is_refused_buying(tmp_path: Path) -> None:
    result = chat(
        tmp_path, ["/upgrade"], "--workspace", "acme", "--user", "bob", "--role", "member"
    )
    assert result.returncode == 0
    assert "Only the workspace's billing admins (owners and admins)" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--workspace", "acme"], "the following arguments are required: --user"),
        (["--workspace", "acme", "--user", "u", "--role", "king"], "invalid choice: 'king'"),
        (["--workspace", "acme", "--user", "u", "--lang", "fr"], "invalid choice: 'fr'"),
        (["--workspace", " ", "--user", "u"], "--workspace needs 1 to 60 characters"),
    ],
)
def test_bad_chat_flags_get_one_line_and_exit_status_2(
    tmp_path: Path, args: list[str], message: str
) -> None:
    result = chat(tmp_path, [], *args)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0]


def test_staff_name_an_existing_workspace_and_a_typo_creates_none(tmp_path: Path) -> None:
    made = chat(tmp_path, ["/plans"], "--workspace", "acme", "--user", "alice")
    assert made.returncode == 0, made.stderr
    typo = chat(tmp_path, ["/plans"], "--workspace", "acmee", "--user", "sam", "--role", "staff")
    assert typo.returncode == 2
    assert typo.stderr.splitlines()[-1] == "planbot: error: There is no workspace 'acmee'."
    found = chat(
        tmp_path, ["/subscription"], "--workspace", "ACME", "--user", "sam", "--role", "staff"
    )
    assert found.returncode == 0, found.stderr
    assert "There is no workspace" not in found.stdout
    again = chat(tmp_path, ["/plans"], "--workspace", "acmee", "--user", "sam", "--role", "staff")
    assert again.returncode == 2, "the typo made no workspace the first time"


def test_staff_need_no_workspace_to_open_the_staff_menu(tmp_path: Path) -> None:
    done = chat(tmp_path, ["/staff"], "--user", "sam", "--role", "staff")
    assert done.returncode == 0, done.stderr
    assert "Support staff: what would you like to do?" in done.stdout


def test_customers_must_name_their_workspace(tmp_path: Path) -> None:
    done = chat(tmp_path, ["/plans"], "--user", "alice")
    assert done.returncode == 2
    assert "--workspace is required" in done.stderr

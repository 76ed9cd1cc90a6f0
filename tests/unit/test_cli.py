"""The `planbot` command line: `quote --json` (section 8), one-line errors, db upgrade, tick."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from adapters.cli import main
from core.catalog import builtin_catalog_path

FIELDS = [
    "kind",
    "currency",
    "price_per_account",
    "quantity",
    "total",
    "proration",
    "credit",
    "balance_applied",
    "due_now",
    "balance_after",
    "period_start",
    "period_end",
]

# worked example 1 once paid: cc2, 12 months, 100 accounts from 2026-01-15T10:00Z
CURRENT_CC2 = [
    "--current-package",
    "cc2",
    "--current-quantity",
    "100",
    "--current-cycle",
    "12",
    "--current-start",
    "2026-01-15T10:00:00Z",
]
MID_YEAR = ["--at", "2026-07-15T10:00:00Z"]

EXAMPLE_1: dict[str, Any] = {
    "kind": "new",
    "currency": "USD",
    "price_per_account": 25_500,
    "quantity": 100,
    "total": 2_550_000,
    "proration": 0,
    "credit": 0,
    "balance_applied": 0,
    "due_now": 2_550_000,
    "balance_after": 0,
    "period_start": "2026-01-15T10:00:00Z",
    "period_end": "2027-01-15T10:00:00Z",
}


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run each command from an empty directory with no planbot settings in the environment."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("PLANBOT_") or name == "DATABASE_URL":
            monkeypatch.delenv(name)
    return tmp_path


def quote_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    """Run `planbot quote ... --json` and return the one JSON object it prints."""
    status = main(["quote", *args, "--json"])
    out, err = capsys.readouterr()
    assert (status, err) == (0, "")
    assert out.endswith("\n")
    assert out.count("\n") == 1
    data = json.loads(out)
    assert isinstance(data, dict)
    assert list(data) == FIELDS
    return data


def refused(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    """Run a command that must fail with status 2 and exactly one line on stderr."""
    status = main(argv)
    out, err = capsys.readouterr()
    assert status == 2
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert err == lines[0] + "\n"
    assert "Traceback" not in err
    return lines[0]


def terms(package: str = "cc1", cycle: str = "1", quantity: str = "1") -> list[str]:
    return ["--package", package, "--cycle", cycle, "--quantity", quantity]


def quote_args(package: str = "cc1", cycle: str = "1", quantity: str = "1") -> list[str]:
    return ["quote", *terms(package, cycle, quantity)]


# --- the worked examples --------------------------------------------------------------------


def test_example_1_new_purchase_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    data = quote_json(
        capsys,
        *["--package", "cc2", "--cycle", "12", "--quantity", "100"],
        *["--at", "2026-01-15T10:00:00Z"],
    )
    assert data == EXAMPLE_1


def test_example_2_adding_accounts_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    data = quote_json(
        capsys, "--package", "cc2", "--cycle", "12", "--quantity", "120", *CURRENT_CC2, *MID_YEAR
    )
    assert data == {
        "kind": "add_accounts",
        "currency": "USD",
        "price_per_account": 25_500,
        "quantity": 20,
        "total": 510_000,
        "proration": 510_000 - 257_096,
        "credit": 0,
        "balance_applied": 0,
        "due_now": 257_096,
        "balance_after": 0,
        "period_start": "2026-01-15T10:00:00Z",
        "period_end": "2027-01-15T10:00:00Z",
    }


def test_example_3_change_to_cc3_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    data = quote_json(
        capsys, "--package", "cc3", "--cycle", "12", "--quantity", "100", *CURRENT_CC2, *MID_YEAR
    )
    assert data == {
        "kind": "change",
        "currency": "USD",
        "price_per_account": 40_800,
        "quantity": 100,
        "total": 4_080_000,
        "proration": 0,
        "credit": 1_285_479,
        "balance_applied": 0,
        "due_now": 2_794_521,
        "balance_after": 0,
        "period_start": "2026-07-15T10:00:00Z",
        "period_end": "2027-07-15T10:00:00Z",
    }


def test_example_4_a_month_from_january_31_ends_february_28(
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = quote_json(
        capsys, "--package", "cc1", "--cycle", "1", "--quantity", "1", "--at", "2026-01-31T09:00Z"
    )
    assert (data["kind"], data["total"], data["due_now"]) == ("new", 1_500, 1_500)
    assert (data["period_start"], data["period_end"]) == (
        "2026-01-31T09:00:00Z",
        "2026-02-28T09:00:00Z",
    )


def test_example_4_the_renewal_after_ends_march_31(capsys: pytest.CaptureFixture[str]) -> None:
    # a downgrade quoted in the clamped month shows the period the renewal pays for
    data = quote_json(
        capsys,
        *["--package", "cc1", "--cycle", "1", "--quantity", "1"],
        *["--current-package", "cc2", "--current-quantity", "1", "--current-cycle", "1"],
        *["--current-start", "2026-01-31T09:00:00Z", "--at", "2026-02-10T00:00:00Z"],
    )
    assert data["kind"] == "downgrade"
    assert (data["period_start"], data["period_end"]) == (
        "2026-02-28T09:00:00Z",
        "2026-03-31T09:00:00Z",
    )


def test_example_5_vnd_catalog_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    data = quote_json(
        capsys,
        *["--package", "cc2", "--cycle", "3", "--quantity", "7"],
        *["--at", "2026-01-15T10:00:00Z", "--catalog", str(builtin_catalog_path("vnd.toml"))],
    )
    assert data == {
        "kind": "new",
        "currency": "VND",
        "price_per_account": 712_500,
        "quantity": 7,
        "total": 4_987_500,
        "proration": 0,
        "credit": 0,
        "balance_applied": 0,
        "due_now": 4_987_500,
        "balance_after": 0,
        "period_start": "2026-01-15T10:00:00Z",
        "period_end": "2026-04-15T10:00:00Z",
    }


# --- downgrade, no change, balance ----------------------------------------------------------


def test_a_downgrade_is_due_nothing_now_and_totals_the_next_renewal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = quote_json(
        capsys,
        *["--package", "cc1", "--cycle", "12", "--quantity", "100"],
        *CURRENT_CC2,
        *MID_YEAR,
        *["--balance", "5000"],
    )
    assert data == {
        "kind": "downgrade",
        "currency": "USD",
        "price_per_account": 15_300,
        "quantity": 100,
        "total": 1_530_000,
        "proration": 0,
        "credit": 0,
        "balance_applied": 0,
        "due_now": 0,
        "balance_after": 5_000,
        "period_start": "2027-01-15T10:00:00Z",
        "period_end": "2028-01-15T10:00:00Z",
    }


def test_no_change_is_due_nothing_and_totals_zero(capsys: pytest.CaptureFixture[str]) -> None:
    data = quote_json(
        capsys,
        *["--package", "cc2", "--cycle", "12", "--quantity", "100"],
        *CURRENT_CC2,
        *MID_YEAR,
        *["--balance", "5000"],
    )
    assert data == {
        "kind": "no_change",
        "currency": "USD",
        "price_per_account": 25_500,
        "quantity": 100,
        "total": 0,
        "proration": 0,
        "credit": 0,
        "balance_applied": 0,
        "due_now": 0,
        "balance_after": 5_000,
        "period_start": "2026-01-15T10:00:00Z",
        "period_end": "2027-01-15T10:00:00Z",
    }


def test_balance_is_applied_to_the_amount_due(capsys: pytest.CaptureFixture[str]) -> None:
    data = quote_json(
        capsys,
        *["--package", "cc2", "--cycle", "12", "--quantity", "100"],
        *["--at", "2026-01-15T10:00:00Z", "--balance", "500000"],
    )
    assert data == {**EXAMPLE_1, "balance_applied": 500_000, "due_now": 2_050_000}


def test_balance_beyond_the_amount_due_is_kept(capsys: pytest.CaptureFixture[str]) -> None:
    data = quote_json(
        capsys, *terms("cc1", "1", "2"), "--at", "2026-01-15T10:00Z", "--balance", "10000"
    )
    assert (data["total"], data["balance_applied"], data["due_now"], data["balance_after"]) == (
        3_000,
        3_000,
        0,
        7_000,
    )


def test_credit_beyond_the_total_is_added_to_the_balance(
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = quote_json(
        capsys,
        *["--package", "cc3", "--cycle", "1", "--quantity", "100"],
        *["--current-package", "cc2", "--current-quantity", "100", "--current-cycle", "24"],
        *["--current-start", "2026-01-15T10:00:00Z", "--at", "2026-01-16T10:00:00Z"],
        *["--balance", "12345"],
    )
    assert (data["kind"], data["total"], data["credit"]) == ("change", 400_000, 4_793_425)
    assert (data["balance_applied"], data["due_now"]) == (0, 0)
    assert data["balance_after"] == 12_345 + 4_793_425 - 400_000


# --- times and catalogs ---------------------------------------------------------------------


def test_times_with_an_offset_are_printed_in_utc_with_z(capsys: pytest.CaptureFixture[str]) -> None:
    data = quote_json(capsys, *terms(), "--at", "2026-01-15T17:00:00+07:00")
    assert (data["period_start"], data["period_end"]) == (
        "2026-01-15T10:00:00Z",
        "2026-02-15T10:00:00Z",
    )


def test_at_defaults_to_the_frozen_clock_setting(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLANBOT_CLOCK", "2026-03-01T08:30:00Z")
    data = quote_json(capsys, *terms())
    assert (data["period_start"], data["period_end"]) == (
        "2026-03-01T08:30:00Z",
        "2026-04-01T08:30:00Z",
    )


def test_at_defaults_to_now(capsys: pytest.CaptureFixture[str]) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    data = quote_json(capsys, *terms())
    after = datetime.now(UTC)
    start = datetime.fromisoformat(data["period_start"])
    assert data["period_start"].endswith("Z")
    assert before <= start <= after


def test_the_catalog_setting_is_used_without_catalog_flag(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLANBOT_CATALOG", str(builtin_catalog_path("vnd.toml")))
    data = quote_json(capsys, *terms("cc2", "3", "7"), "--at", "2026-01-15T10:00Z")
    assert (data["currency"], data["total"]) == ("VND", 4_987_500)


def test_without_json_each_field_prints_on_its_own_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status = main(
        [
            *["quote", "--package", "cc2", "--cycle", "12", "--quantity", "100"],
            *["--at", "2026-01-15T10:00:00Z"],
        ]
    )
    out, err = capsys.readouterr()
    assert (status, err) == (0, "")
    rows = [line.split() for line in out.splitlines()]
    assert [row[0] for row in rows] == FIELDS
    assert dict((row[0], row[1]) for row in rows)["total"] == "2550000"


def test_the_installed_command_works_from_any_directory(tmp_path: Path) -> None:
    command = Path(sys.executable).with_name("planbot")
    result = subprocess.run(
        [
            str(command),
            *["quote", "--package", "cc2", "--cycle", "12", "--quantity", "100"],
            *["--at", "2026-01-15T10:00:00Z", "--json"],
        ],
        cwd=tmp_path,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (result.returncode, result.stderr) == (0, "")
    assert json.loads(result.stdout) == EXAMPLE_1


# --- refusals: status 2 and one line on stderr ----------------------------------------------


def test_an_unknown_package_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    line = refused(capsys, quote_args(package="cc9"))
    assert "unknown package 'cc9'" in line
    assert "cc1, cc2, cc3" in line


def test_an_unknown_cycle_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    line = refused(capsys, quote_args(cycle="5"))
    assert "unknown cycle 5 months" in line
    assert "1, 3, 6, 12, 24" in line


def test_an_unknown_flag_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    line = refused(capsys, [*quote_args(), "--colour", "red"])
    assert "unrecognized arguments: --colour red" in line


def test_a_missing_required_flag_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    line = refused(capsys, ["quote", "--cycle", "1", "--quantity", "1"])
    assert "--package" in line


def test_no_command_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    line = refused(capsys, [])
    assert "command" in line


@pytest.mark.parametrize("quantity", ["0", "1001"])
def test_a_quantity_out_of_range_is_refused(
    capsys: pytest.CaptureFixture[str], quantity: str
) -> None:
    line = refused(capsys, quote_args(quantity=quantity))
    assert "from 1 to 1000" in line


@pytest.mark.parametrize("quantity", ["abc", "1.5", ""])
def test_a_quantity_that_is_not_a_whole_number_is_refused(
    capsys: pytest.CaptureFixture[str], quantity: str
) -> None:
    line = refused(capsys, quote_args(quantity=quantity))
    assert "--quantity" in line
    assert "not a whole number" in line


@pytest.mark.parametrize("when", ["yesterday", "2026-13-01T00:00Z", "15/01/2026"])
def test_a_malformed_at_is_refused(capsys: pytest.CaptureFixture[str], when: str) -> None:
    line = refused(capsys, [*quote_args(), "--at", when])
    assert "--at" in line
    assert "not an ISO 8601 time" in line


@pytest.mark.parametrize(
    "given",
    [
        ["--current-package", "cc2"],
        ["--current-start", "2026-01-15T10:00:00Z"],
        CURRENT_CC2[:6],
        [*CURRENT_CC2[:2], *CURRENT_CC2[4:]],
    ],
    ids=["package only", "start only", "no start", "no quantity"],
)
def test_current_terms_given_in_part_are_refused(
    capsys: pytest.CaptureFixture[str], given: list[str]
) -> None:
    line = refused(capsys, [*quote_args(), *given, *MID_YEAR])
    assert "go together" in line


def test_current_terms_the_catalog_does_not_sell_are_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    current = ["--current-package", "cc2", "--current-quantity", "0", "--current-cycle", "12"]
    line = refused(
        capsys, [*quote_args(), *current, "--current-start", "2026-01-15T10:00Z", *MID_YEAR]
    )
    assert "current terms" in line
    assert "from 1 to 1000" in line


def test_a_current_period_not_running_at_the_quote_time_is_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    line = refused(capsys, [*quote_args("cc2", "12", "120"), *CURRENT_CC2, "--at", "2025-12-31"])
    assert "not running" in line


def test_a_negative_balance_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    line = refused(capsys, [*quote_args(), "--balance", "-1"])
    assert "--balance" in line


def test_a_malformed_catalog_file_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    catalog = tmp_path / "bad.toml"
    catalog.write_text(
        builtin_catalog_path("default.toml")
        .read_text(encoding="utf-8")
        .replace('monthly_price = "15.00"', "monthly_price = 15.0"),
        encoding="utf-8",
    )
    line = refused(capsys, [*quote_args(), "--catalog", str(catalog)])
    assert str(catalog) in line
    assert "packages.cc1.monthly_price" in line
    assert "not a float" in line


def test_a_catalog_with_a_syntax_error_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    catalog = tmp_path / "broken.toml"
    catalog.write_text('currency = "USD\n', encoding="utf-8")
    line = refused(capsys, [*quote_args(), "--catalog", str(catalog)])
    assert str(catalog) in line
    assert "(syntax)" in line


def test_a_missing_catalog_file_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    line = refused(capsys, [*quote_args(), "--catalog", str(tmp_path / "missing.toml")])
    assert "missing.toml" in line
    assert "cannot be read" in line


def test_a_catalog_file_that_is_not_utf8_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    catalog = tmp_path / "latin1.toml"
    catalog.write_bytes(b'currency = "USD"\n# caf\xe9\n')
    line = refused(capsys, [*quote_args(), "--catalog", str(catalog)])
    assert str(catalog) in line


def test_a_malformed_setting_is_refused(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLANBOT_CLOCK", "soon")
    line = refused(capsys, quote_args())
    assert "PLANBOT_CLOCK" in line


# --- db upgrade and tick --------------------------------------------------------------------


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "x.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{path}")
    return path


def tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as connection:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {name for (name,) in rows}


def test_db_upgrade_creates_the_schema(capsys: pytest.CaptureFixture[str], database: Path) -> None:
    assert main(["db", "upgrade"]) == 0
    out, err = capsys.readouterr()
    assert (out, err) == ("database is up to date\n", "")
    assert {"alembic_version", "workspaces", "subscriptions", "orders"} <= tables(database)


def test_db_upgrade_twice_changes_nothing(
    capsys: pytest.CaptureFixture[str], database: Path
) -> None:
    assert main(["db", "upgrade"]) == 0
    schema = tables(database)
    assert main(["db", "upgrade"]) == 0
    assert tables(database) == schema
    assert capsys.readouterr().out == "database is up to date\n" * 2


def test_db_without_a_subcommand_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    line = refused(capsys, ["db"])
    assert "planbot db: error: the following arguments are required" in line


def test_tick_prints_a_summary_and_exits_0(
    capsys: pytest.CaptureFixture[str], database: Path
) -> None:
    assert main(["db", "upgrade"]) == 0
    capsys.readouterr()
    assert main(["tick", "--at", "2026-01-15T10:00:00Z"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out.startswith("sweep done: ")
    assert out.count("\n") == 1


def test_tick_migrates_a_new_database_first(
    capsys: pytest.CaptureFixture[str], database: Path
) -> None:
    assert not database.exists()
    assert main(["tick", "--at", "2026-01-15T10:00:00Z"]) == 0
    assert capsys.readouterr().out.startswith("sweep done: ")
    assert "subscriptions" in tables(database)


def test_tick_refuses_a_malformed_at(capsys: pytest.CaptureFixture[str], database: Path) -> None:
    line = refused(capsys, ["tick", "--at", "tomorrow"])
    assert "not an ISO 8601 time" in line
    assert not database.exists()


def test_an_unsupported_database_url_is_refused(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", "mysql://db/planbot")
    line = refused(capsys, ["tick", "--at", "2026-01-15T10:00:00Z"])
    assert "DATABASE_URL" in line
    assert "mysql" in line

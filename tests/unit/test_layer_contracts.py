"""The layer contracts (DESIGN 7) catch what they forbid: a copy of the sources passes them,
and the same copy with one planted import per contract breaks exactly those contracts."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("core", "bot", "adapters")
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"

LAYERS = "Layers point one way: adapters -> bot -> core"
NO_SDK = "core and bot never import a platform SDK"
PURE = "The pure rules import no ORM and no database"
ADAPTERS = "Adapters reach the database only through use cases"
BOT = "bot writes no SQL: conversations are kept through core's store"

PLANTED = {
    LAYERS: ("core/ports.py", "import bot.i18n"),
    NO_SDK: ("core/states.py", "import telegram"),
    PURE: ("core/pricing.py", "import sqlalchemy"),
    ADAPTERS: ("adapters/web.py", "from core.model import Order"),
    BOT: ("bot/engine.py", "from sqlalchemy import update"),
}

SESSION_ATTRIBUTES = {"unit_of_work", "read", "connection", "engine"}
"""What a Database hands out: `db.unit_of_work()` and `db.read()` open a session,
`db.connection()` and `db.engine` connect."""
# Adapters that reach the database themselves, each for the reason its contract names.
SESSION_EXCEPTIONS = {
    # slack-sdk's SQLAlchemy installation store is built on the engine.
    "adapters/slack/modes.py",
}


def contract_names() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return [c["name"] for c in config["tool"]["importlinter"]["contracts"]]


def copy_sources(into: Path) -> Path:
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, into / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", into / "pyproject.toml")
    return into


def plant(root: Path, module: str, line: str) -> None:
    path = root / module
    path.write_text(path.read_text(encoding="utf-8") + f"\n{line}  # planted\n", "utf-8")


def contract_results(root: Path) -> dict[str, str]:
    """Each contract's verdict (KEPT or BROKEN) from lint-imports run on `root`."""
    run = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "pyproject.toml"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    verdicts = {}
    for name in contract_names():
        for line in run.stdout.splitlines():
            if line.startswith(f"{name} ") and ("KEPT" in line or "BROKEN" in line):
                verdicts[name] = "KEPT" if "KEPT" in line else "BROKEN"
    assert len(verdicts) == len(contract_names()), run.stdout + run.stderr
    assert (run.returncode == 0) == all(v == "KEPT" for v in verdicts.values())
    return verdicts


def test_every_contract_is_planted_against() -> None:
    assert set(PLANTED) <= set(contract_names())
    assert {LAYERS, NO_SDK, PURE, ADAPTERS, BOT} == set(PLANTED)


def test_the_sources_keep_every_contract(tmp_path: Path) -> None:
    root = copy_sources(tmp_path)
    assert contract_results(root) == dict.fromkeys(contract_names(), "KEPT")


def test_each_planted_import_breaks_exactly_its_contract(tmp_path: Path) -> None:
    root = copy_sources(tmp_path)
    for module, line in PLANTED.values():
        plant(root, module, line)
    expected = {name: "BROKEN" if name in PLANTED else "KEPT" for name in contract_names()}
    assert contract_results(root) == expected


def reaches_database(node: ast.AST) -> bool:
    """`db.unit_of_work` or `<anything>.db.engine` and the like: a Database's session or engine."""
    if not isinstance(node, ast.Attribute) or node.attr not in SESSION_ATTRIBUTES:
        return False
    owner = node.value
    return (isinstance(owner, ast.Name) and owner.id == "db") or (
        isinstance(owner, ast.Attribute) and owner.attr == "db"
    )


def session_users(root: Path) -> set[str]:
    """Adapter and bot modules that open a unit of work or use the engine themselves."""
    return {
        path.relative_to(root).as_posix()
        for package in ("adapters", "bot")
        for path in sorted((root / package).rglob("*.py"))
        if any(map(reaches_database, ast.walk(ast.parse(path.read_text(encoding="utf-8")))))
    }


def test_adapters_and_bot_open_no_unit_of_work_outside_the_named_exceptions() -> None:
    assert session_users(ROOT) == SESSION_EXCEPTIONS


def test_a_planted_unit_of_work_in_an_adapter_is_caught(tmp_path: Path) -> None:
    root = copy_sources(tmp_path)
    plant(root, "adapters/web.py", "USE = lambda ctx: ctx.db.unit_of_work()")
    plant(root, "bot/engine.py", "USE = lambda ctx: ctx.db.read()")
    assert session_users(root) == SESSION_EXCEPTIONS | {"adapters/web.py", "bot/engine.py"}

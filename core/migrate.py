"""Alembic migrations, shipped inside the package so `planbot db upgrade` works anywhere."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from core.db import normalize_url

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# Made by migration 0005 for the Slack adapter's OAuth stores; core.model does not describe them.
SLACK_TABLES = frozenset({"slack_installations", "slack_bots", "slack_oauth_states"})


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at `url` up to `revision` (synchronous: call outside an event loop)."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)

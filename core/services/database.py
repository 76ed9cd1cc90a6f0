"""The database as adapters meet it without touching the ORM: a readiness ping, the URL as it
may be printed, and the errors they answer (a 503, a duplicate delivery)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from core.db import Database, normalize_url

StorageError = SQLAlchemyError
"""The database failed or did not answer: the request may be tried again later."""

ConcurrentWrite = IntegrityError
"""A concurrent request committed the same unique row first."""


async def ping(db: Database) -> None:
    """SELECT 1 on a connection of its own, so a probe does not queue behind the writers."""
    async with db.engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


def printable_url(url: str) -> str:
    """The database URL with its password hidden, for start-up lines and logs."""
    return make_url(normalize_url(url)).render_as_string(hide_password=True)

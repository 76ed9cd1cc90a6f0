"""Builds the core's Context from settings: database, catalog, clock and ports."""

from __future__ import annotations

from adapters.settings import Settings
from core.catalog import load_catalog
from core.db import Database
from core.services.context import Context


def build_context(settings: Settings) -> Context:
    return Context(
        db=Database.from_url(settings.DATABASE_URL),
        catalog=load_catalog(settings.PLANBOT_CATALOG),
        clock=settings.clock(),
    )

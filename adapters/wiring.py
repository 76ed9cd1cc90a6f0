"""Builds the core's Context from settings: database, catalog, clock and ports."""

from __future__ import annotations

from adapters.sandbox import SandboxGateway
from adapters.settings import Settings
from core.catalog import load_catalog
from core.db import Database
from core.services.context import Context
from core.services.outbox import OutboxNotifier


def build_context(settings: Settings) -> Context:
    db = Database.from_url(settings.DATABASE_URL)
    clock = settings.clock()
    return Context(
        db=db,
        catalog=load_catalog(settings.PLANBOT_CATALOG),
        clock=clock,
        # The sandbox is the payment provider unless a real one is configured.
        gateway=SandboxGateway(settings.public_url),
        notifier=OutboxNotifier(db, clock),
    )

"""Builds the core's Context from settings: database, catalog, clock and ports."""

from __future__ import annotations

import logging

from starlette.routing import BaseRoute

from adapters.sandbox import SandboxGateway
from adapters.settings import Settings, SettingsError
from core.catalog import load_catalog
from core.db import Database
from core.ports import PaymentGateway
from core.services.context import Context
from core.services.outbox import OutboxNotifier
from core.staff import StaffDirectory

log = logging.getLogger("planbot")


def check_stripe(settings: Settings) -> None:
    """Stripe is enabled by its secret key; its webhook secret must come with it."""
    if settings.STRIPE_SECRET_KEY and not settings.STRIPE_WEBHOOK_SECRET:
        raise SettingsError(
            "setting STRIPE_WEBHOOK_SECRET: required when STRIPE_SECRET_KEY is set "
            "(the signing secret of the /stripe/webhook endpoint, whsec_...)"
        )


def build_gateway(settings: Settings, db: Database) -> PaymentGateway:
    """Stripe when STRIPE_SECRET_KEY is set, the sandbox otherwise."""
    if not settings.STRIPE_SECRET_KEY:
        return SandboxGateway(settings.public_url)
    check_stripe(settings)
    from adapters.stripe import StripeGateway, build_client

    return StripeGateway(
        build_client(settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE),
        db,
        settings.clock(),
        settings.public_url,
    )


def warn_if_no_staff_chat(staff: StaffDirectory) -> None:
    """Flagged payments are posted to the staff chats: with staff but no chat, say so once at
    start (a setup without support staff hears nothing of it)."""
    if staff.members and not staff.chats:
        log.warning(
            "PLANBOT_STAFF_CHATS is empty: flagged payments and approvals reach no staff chat "
            "(support finds them with /staff flagged)"
        )


def build_context(settings: Settings) -> Context:
    db = Database.from_url(settings.DATABASE_URL)
    clock = settings.clock()
    return Context(
        db=db,
        catalog=load_catalog(settings.PLANBOT_CATALOG),
        clock=clock,
        # The sandbox is the payment provider unless a real one is configured.
        gateway=build_gateway(settings, db),
        notifier=OutboxNotifier(db, clock),
        staff=settings.staff(),
    )


def payment_routes(ctx: Context, settings: Settings) -> list[BaseRoute]:
    """The payment provider's web endpoints (the Stripe webhook) for create_app(routes=...)."""
    if not settings.STRIPE_SECRET_KEY:
        return []
    check_stripe(settings)
    assert settings.STRIPE_WEBHOOK_SECRET is not None
    from adapters.stripe import stripe_routes

    return stripe_routes(ctx, settings.STRIPE_WEBHOOK_SECRET)

"""Stripe is chosen when its secret key is set; its webhook secret must come with it."""

from __future__ import annotations

import pytest

from adapters.sandbox import SandboxGateway
from adapters.settings import Settings, SettingsError
from adapters.stripe import StripeGateway
from adapters.wiring import build_context, payment_routes


def _settings(**values: str) -> Settings:
    return Settings(_env_file=None, DATABASE_URL="sqlite+aiosqlite://", **values)  # type: ignore[call-arg]


async def test_the_sandbox_without_keys_and_stripe_with_them() -> None:
    plain = build_context(_settings())
    assert isinstance(plain.gateway, SandboxGateway)
    assert payment_routes(plain, _settings()) == []
    configured = _settings(STRIPE_SECRET_KEY="sk_test_x", STRIPE_WEBHOOK_SECRET="whsec_x")
    ctx = build_context(configured)
    assert isinstance(ctx.gateway, StripeGateway)
    paths = [getattr(r, "path", "") for r in payment_routes(ctx, configured)]
    assert "/stripe/webhook" in paths
    await plain.db.dispose()
    await ctx.db.dispose()


def test_a_secret_key_without_the_webhook_secret_is_refused() -> None:
    with pytest.raises(SettingsError, match="STRIPE_WEBHOOK_SECRET"):
        build_context(_settings(STRIPE_SECRET_KEY="sk_test_x"))

"""The outbox is transactional: a payment's notice is stored exactly when the payment
commits, so a crash between them can neither lose the notice nor tell of a payment that
never happened."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import func, select

from core.access import Actor
from core.model import OutboxNotice, Payment
from core.ports import Notice
from core.pricing import Terms
from core.services.context import Context
from core.services.orders import place_order
from core.services.outbox import OutboxNotifier
from core.services.payments import apply_payment


@pytest.fixture
def outbox_ctx(ctx: Context) -> Context:
    return replace(ctx, notifier=OutboxNotifier(ctx.db, ctx.clock))


async def count(ctx: Context, model: type[object]) -> int:
    async with ctx.db.unit_of_work() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_a_payment_and_its_notice_commit_together(
    outbox_ctx: Context, owner: Actor, workspace_id: int
) -> None:
    placed = await place_order(outbox_ctx, owner, workspace_id, Terms("cc1", 1, 2))
    await apply_payment(
        outbox_ctx,
        provider="fake",
        provider_payment_id="p1",
        order_reference=placed.reference,
        amount=placed.quote.due_now,
        currency="USD",
    )
    assert (await count(outbox_ctx, Payment), await count(outbox_ctx, OutboxNotice)) == (1, 1)


class FailingOnce(OutboxNotifier):
    """An outbox whose first write fails, as when the database connection drops."""

    failed = False

    async def notify(self, notice: Notice) -> None:
        if not self.failed:
            self.failed = True
            raise ConnectionError("the database went away")
        await super().notify(notice)


async def test_a_notice_that_cannot_be_stored_undoes_the_payment_until_redelivered(
    ctx: Context, owner: Actor, workspace_id: int
) -> None:
    flaky = replace(ctx, notifier=FailingOnce(ctx.db, ctx.clock))
    placed = await place_order(flaky, owner, workspace_id, Terms("cc1", 1, 2))
    payment = {
        "provider": "fake",
        "provider_payment_id": "p1",
        "order_reference": placed.reference,
        "amount": placed.quote.due_now,
        "currency": "USD",
        "event_id": "evt_1",
    }
    with pytest.raises(ConnectionError):
        await apply_payment(flaky, **payment)  # type: ignore[arg-type]
    assert (await count(flaky, Payment), await count(flaky, OutboxNotice)) == (0, 0)
    redelivered = await apply_payment(flaky, **payment)  # type: ignore[arg-type]
    assert redelivered.outcome == "applied" and not redelivered.duplicate
    assert (await count(flaky, Payment), await count(flaky, OutboxNotice)) == (1, 1)

"""`planbot serve` that kills itself with SIGKILL at one named step of a checkout.

For the fault tests only: `python -m tests.integration.killable_worker` runs exactly what
`planbot serve` runs (settings from the environment, migrations, the web app with the
Telegram and Stripe routes), with one hook installed first when PLANBOT_TEST_KILL_AT names
a step:

- `order-committed`: the order row has committed; the provider is about to be asked for
  its checkout (the after-commit effect has started, nothing has left yet);
- `checkout-created`: the provider made the checkout; its link is not stored yet;
- `payment-claimed`: a webhook's event is claimed and the fulfilment written (flushed), in
  a transaction still open;
- `payment-committed`: the webhook's transaction has committed; the answer is not sent.

The process says where it dies on stderr, then dies at once: no `finally`, no rollback, no
answer, as with `kill -9` or a lost machine.
"""

from __future__ import annotations

import os
import signal
import sys
from functools import wraps
from typing import Any

KILL_AT = "PLANBOT_TEST_KILL_AT"
ORDER_COMMITTED = "order-committed"
CHECKOUT_CREATED = "checkout-created"
PAYMENT_CLAIMED = "payment-claimed"
PAYMENT_COMMITTED = "payment-committed"
POINTS = (ORDER_COMMITTED, CHECKOUT_CREATED, PAYMENT_CLAIMED, PAYMENT_COMMITTED)


def die(point: str) -> None:
    print(f"killed at {point}", file=sys.stderr, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)


def install(point: str) -> None:
    """Wrap the one place where `point` is reached."""
    if point in (ORDER_COMMITTED, CHECKOUT_CREATED):
        from adapters.stripe.gateway import StripeGateway

        create_checkout = StripeGateway.create_checkout

        @wraps(create_checkout)
        async def dying_checkout(self: StripeGateway, request: Any) -> Any:
            if point == ORDER_COMMITTED:
                die(point)
            checkout = await create_checkout(self, request)
            die(point)
            return checkout

        StripeGateway.create_checkout = dying_checkout  # type: ignore[method-assign]
    elif point == PAYMENT_CLAIMED:
        from core.services import payments

        fulfil = payments.fulfil

        @wraps(fulfil)
        async def dying_fulfil(session: Any, *args: Any, **kwargs: Any) -> Any:
            applied = await fulfil(session, *args, **kwargs)
            await session.flush()  # the claim, the payment and the fulfilment sent, uncommitted
            die(point)
            return applied

        payments.fulfil = dying_fulfil  # type: ignore[assignment]
    elif point == PAYMENT_COMMITTED:
        from adapters.stripe import webhook

        handle_event = webhook.handle_event

        @wraps(handle_event)
        async def dying_handler(ctx: Any, event: Any) -> str:
            outcome = await handle_event(ctx, event)
            die(point)
            return outcome

        webhook.handle_event = dying_handler
    else:
        raise SystemExit(f"{KILL_AT}: unknown step {point!r}; one of {', '.join(POINTS)}")


def main() -> int:
    point = os.environ.get(KILL_AT)
    if point:
        install(point)
    from adapters import cli

    return cli.main(["serve"])


if __name__ == "__main__":
    sys.exit(main())

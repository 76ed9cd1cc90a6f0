"""Every kind of customer notice, as a platform test enqueues it: the state it is about
(still true when it is sent), the words it must say in English and Vietnamese, and the
one-tap action that resolves it (DESIGN 14)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from core.access import Actor
from core.clock import FixedClock
from core.model import Order, Subscription
from core.notice_kinds import (
    CancellationEffective,
    CancellationRequested,
    ChangeApplied,
    ChangeScheduled,
    GraceReminder,
    OrderExpired,
    OrderReplaced,
    PaymentFailed,
    PaymentNeedsSupport,
    PaymentSucceeded,
    RenewalCharged,
    RenewalChargeFailed,
    RenewalDue,
    RenewalReminder,
    SubscriptionSuspended,
    TrialEnded,
    TrialReminder,
)
from core.ports import Checkout, CheckoutRequest, Notice
from core.pricing import Terms
from core.services.context import Context
from core.services.orders import place_order
from core.services.payments import apply_payment
from core.services.subscriptions import start_trial
from core.services.sweep import sweep
from tests.integration.helpers import pending_renewal, subscription

ZONE = "Asia/Ho_Chi_Minh"
"""The workspace's zone: 10:00 UTC, when every state here is made, reads 17:00 +07."""
LOCAL_TIME = "17:00 +07"
NEW_ORDER_LINK = "https://pay.example.com/new-order"


class PublicLinks:
    """A gateway handing out public https links, which Telegram shows as URL buttons."""

    name = "public"

    async def create_checkout(self, request: CheckoutRequest) -> Checkout:
        reference = f"cs_{request.order_reference}"
        return Checkout(
            self.name, f"https://pay.example.com/{reference}", reference, request.expires_at
        )

    async def cancel_checkout(self, provider_reference: str) -> None:
        return None


@dataclass(frozen=True, slots=True)
class State:
    """What the notices are about, made through the use cases."""

    workspace_id: int
    active: Subscription | None = None
    trial: Subscription | None = None
    renewal: Order | None = None

    @property
    def sub(self) -> Subscription:
        assert self.active is not None
        return self.active

    @property
    def bill(self) -> Order:
        assert self.renewal is not None
        return self.renewal

    @property
    def tried(self) -> Subscription:
        assert self.trial is not None
        return self.trial


@dataclass(frozen=True, slots=True)
class Button:
    en: str
    vi: str
    value: Callable[[State], str]


@dataclass(frozen=True, slots=True)
class PayLink:
    url: Callable[[State], str]
    en: str = "Pay"
    vi: str = "Thanh toán"


@dataclass(frozen=True, slots=True)
class Case:
    kind: str
    needs: str
    """"", "active" (a paid cc2, 12 months), "trial" (cc1) or "renewal" (cc3's, pending)."""
    notice: Callable[[State], object]
    """A typed payload, or a Notice as stored by an earlier version."""
    en: tuple[str, ...]
    vi: tuple[str, ...]
    action: Button | PayLink | None = None
    dated: bool = False
    """Says a date, which must read in the workspace's zone."""

    @property
    def id(self) -> str:
        return self.kind


def _end(sub: Subscription) -> Any:
    assert sub.period_end is not None
    return sub.period_end


BUY = Button("Upgrade or buy", "Nâng cấp hoặc mua", lambda s: "run:upgrade:")
CASES = [
    Case(
        "payment.succeeded",
        "active",
        lambda s: PaymentSucceeded(
            "ord_case", "cc2", 5, _end(s.sub), s.sub.id, 12, amount=25500, currency="USD"
        ),
        ("Payment received for order ord_case", "5 accounts", "$255.00"),
        ("Đã nhận thanh toán cho đơn hàng ord_case", "255,00\xa0US$"),
        dated=True,
    ),
    Case(
        "payment.failed",
        "",
        lambda s: PaymentFailed("ord_case", "cc2", reason="card declined"),
        ("The payment for order ord_case failed",),
        ("Thanh toán cho đơn hàng ord_case không thành công",),
        Button("Upgrade", "Nâng cấp", lambda s: "run:upgrade:"),
    ),
    Case(
        "payment.needs_support",
        "",
        lambda s: PaymentNeedsSupport("ord_case", "cc2", outcome="credited"),
        ("its amount was kept as credit and support has been told",),
        ("số tiền đã được cộng vào số dư tín dụng",),
    ),
    Case(
        "order.replaced",
        "",
        lambda s: OrderReplaced("ord_old", "cc2", replaced_by="ord_new", link=NEW_ORDER_LINK),
        ("The payment link of order ord_old (Contact Center 2) no longer works", "ord_new"),
        ("Liên kết thanh toán của đơn hàng ord_old (Contact Center 2)", "ord_new"),
        PayLink(lambda s: NEW_ORDER_LINK),
    ),
    Case(
        "order.expired",
        "",
        lambda s: OrderExpired("ord_case", "cc1"),
        ("Order ord_case for Contact Center 1 expired unpaid",),
        ("Đơn hàng ord_case cho gói Contact Center 1 đã hết hạn",),
        BUY,
    ),
    Case(
        "renewal.reminder",
        "active",
        lambda s: RenewalReminder(
            s.sub.id, "cc2", _end(s.sub), 5, 12, amount=25500, currency="USD"
        ),
        ("Contact Center 2 renews on", "for $255.00", "5 accounts, every 12 months"),
        ("Gói Contact Center 2 sẽ gia hạn vào", "255,00\xa0US$", "5 tài khoản"),
        dated=True,
    ),
    Case(
        "renewal.due",
        "renewal",
        lambda s: RenewalDue(
            s.sub.id,
            "cc3",
            order=s.bill.reference,
            amount=s.bill.due_now,
            currency="USD",
            deadline=s.bill.created_at + timedelta(days=3),
            link=s.bill.payment_link,
        ),
        ("The renewal of Contact Center 3 is due", "Amount: $", "Due by"),
        ("Gói Contact Center 3 đã đến hạn gia hạn", "Số tiền: ", "US$", "Hạn thanh toán:"),
        PayLink(lambda s: str(s.bill.payment_link)),
        dated=True,
    ),
    Case(
        "renewal.charged",
        "active",
        lambda s: RenewalCharged(s.sub.id, "cc2", _end(s.sub)),
        ("Contact Center 2 was renewed from your credit balance.", "Next payment:"),
        ("Gói Contact Center 2 đã được gia hạn bằng số dư tín dụng", "Kỳ thanh toán tiếp theo"),
        dated=True,
    ),
    Case(
        "renewal.charge_failed",
        "renewal",
        lambda s: RenewalChargeFailed(
            s.sub.id, "cc3", order=s.bill.reference, link=s.bill.payment_link
        ),
        ("The renewal of Contact Center 3 could not be charged",),
        ("Không thể trừ tiền gia hạn Contact Center 3",),
        PayLink(lambda s: str(s.bill.payment_link)),
    ),
    Case(
        "grace.reminder",
        "renewal",
        lambda s: GraceReminder(
            s.sub.id,
            "cc3",
            s.bill.created_at + timedelta(days=2),
            order=s.bill.reference,
            link=s.bill.payment_link,
        ),
        ("The renewal of Contact Center 3 is still unpaid", "or it will be suspended"),
        ("Kỳ gia hạn gói Contact Center 3 vẫn chưa được thanh toán", "tạm ngưng"),
        PayLink(lambda s: str(s.bill.payment_link)),
        dated=True,
    ),
    Case(
        "subscription.suspended",
        "active",
        lambda s: SubscriptionSuspended(s.sub.id, "cc2"),
        ("Contact Center 2 was suspended",),
        ("Gói Contact Center 2 đã bị tạm ngưng",),
        Button("Renew", "Gia hạn", lambda s: f"run:upgrade:{s.sub.id}"),
    ),
    Case(
        "trial.reminder",
        "trial",
        lambda s: TrialReminder(s.tried.id, "cc1", s.tried.trial_ends_at or s.tried.registered_at),
        ("The trial of Contact Center 1 ends on",),
        ("Thời gian dùng thử gói Contact Center 1 kết thúc vào",),
        BUY,
        dated=True,
    ),
    Case(
        "trial.ended",
        "trial",
        lambda s: TrialEnded(s.tried.id, "cc1"),
        ("The trial of Contact Center 1 has ended.",),
        ("Thời gian dùng thử gói Contact Center 1 đã kết thúc.",),
        BUY,
    ),
    Case(
        "cancellation.requested",
        "active",
        lambda s: CancellationRequested(s.sub.id, "cc2", ends_at=_end(s.sub)),
        ("Contact Center 2 will end on", "You can resume it until then."),
        ("Gói Contact Center 2 sẽ kết thúc vào", "Bạn có thể tiếp tục gia hạn"),
        Button("Resume", "Tiếp tục gia hạn", lambda s: f"run:resume:{s.sub.id}"),
        dated=True,
    ),
    Case(
        "cancellation.effective",
        "active",
        lambda s: CancellationEffective(s.sub.id, "cc2"),
        ("Contact Center 2 has ended as you asked.",),
        ("Gói Contact Center 2 đã kết thúc theo yêu cầu của bạn.",),
        Button("Renew", "Gia hạn", lambda s: f"run:upgrade:{s.sub.id}"),
    ),
    Case(
        "subscription.ended",
        "active",
        lambda s: Notice(
            "subscription.ended",
            s.workspace_id,
            None,
            None,
            {"subscription_id": s.sub.id, "package": "cc2"},
        ),
        ("Contact Center 2 has ended as you asked.",),
        ("Gói Contact Center 2 đã kết thúc theo yêu cầu của bạn.",),
        Button("Renew", "Gia hạn", lambda s: f"run:upgrade:{s.sub.id}"),
    ),
    Case(
        "change.scheduled",
        "active",
        lambda s: ChangeScheduled(s.sub.id, "cc2", "cc1", 3, 12, at=_end(s.sub)),
        ("Contact Center 2 changes to Contact Center 1, 3 accounts, 12 months on",),
        ("Gói Contact Center 2 sẽ chuyển sang Contact Center 1, 3 tài khoản",),
        Button("Withdraw the change", "Rút lại thay đổi", lambda s: f"run:withdraw:{s.sub.id}"),
        dated=True,
    ),
    Case(
        "change.applied",
        "active",
        lambda s: ChangeApplied(s.sub.id, "cc2", 3, 12, period_end=_end(s.sub)),
        ("Contact Center 2 now has 3 accounts, every 12 months.", "Next payment:"),
        ("Gói Contact Center 2 hiện có 3 tài khoản", "Kỳ thanh toán tiếp theo"),
        dated=True,
    ),
    Case(
        "damaged",
        "",
        lambda s: Notice("renewal.due", s.workspace_id, None, None, {"package": "cc2"}),
        ("Something changed in your subscriptions.",),
        ("Thuê bao của bạn vừa có thay đổi.",),
    ),
]


async def _bought(ctx: Context, actor: Actor, workspace_id: int, terms: Terms) -> Subscription:
    placed = await place_order(ctx, actor, workspace_id, terms)
    await apply_payment(
        ctx,
        provider="public",
        provider_payment_id=f"pay_{placed.reference}",
        order_reference=placed.reference,
        amount=placed.quote.due_now,
        currency=placed.quote.currency,
    )
    return await subscription(ctx, workspace_id, terms.package)


async def arrange(ctx: Context, actor: Actor, workspace_id: int, needs: str) -> State:
    """The state a case's notice is about, so the send-time check finds it still true."""
    if needs == "active":
        return State(
            workspace_id, active=await _bought(ctx, actor, workspace_id, Terms("cc2", 12, 5))
        )
    if needs == "trial":
        await start_trial(ctx, actor, workspace_id, "cc1")
        return State(workspace_id, trial=await subscription(ctx, workspace_id, "cc1"))
    if needs == "renewal":
        monthly = await _bought(ctx, actor, workspace_id, Terms("cc3", 1, 2))
        assert isinstance(ctx.clock, FixedClock) and monthly.period_end is not None
        ctx.clock.set(monthly.period_end)
        await sweep(ctx)
        return State(workspace_id, active=monthly, renewal=await pending_renewal(ctx, monthly.id))
    return State(workspace_id)


async def enqueue(ctx: Context, case: Case, state: State, chat: tuple[str, str]) -> None:
    """Store the case's notice for `chat`, as its cause would, in a unit of work."""
    made = case.notice(state)
    notice = (
        made.at(chat) if isinstance(made, Notice) else Notice.of(made, state.workspace_id, chat)
    )
    async with ctx.db.unit_of_work():
        await ctx.send([notice])


def words(case: Case, language: str) -> tuple[str, ...]:
    return case.en if language == "en" else case.vi


def label(action: Button | PayLink, language: str) -> str:
    return action.en if language == "en" else action.vi

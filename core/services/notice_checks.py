"""What a notice says at the moment it is sent: still true (else suppressed), not yet ready
(a renewal's link not attached yet), and in which language and zone its chat reads it.

The sender calls `prepare` for each leased batch with no transaction open, then sends.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from core import notice_kinds as k
from core.model import Conversation, Order, OrderKind, OrderStatus, Subscription, Workspace
from core.ports import Notice
from core.services.context import Context
from core.states import SubscriptionState

LINK_WAIT = timedelta(minutes=5)
"""How long a renewal-due notice waits for its order's payment link before it goes without."""
LINK_RETRY = timedelta(seconds=30)
SLACK = "slack"


@dataclass(frozen=True, slots=True)
class QueuedNotice:
    """One leased outbox row as the sender sees it."""

    id: int
    notice: Notice
    attempts: int = 0


@dataclass(frozen=True, slots=True)
class Ready:
    """Send it, as it stands now (its data may have been completed: a link, an amount)."""

    notice: Notice
    locale: str | None
    timezone: str


@dataclass(frozen=True, slots=True)
class Stale:
    """No longer true or no longer wanted: marked suppressed, with why."""

    reason: str


@dataclass(frozen=True, slots=True)
class NotYet:
    """Not ready to say yet: offered again at `until`."""

    until: datetime


Verdict = Ready | Stale | NotYet


@dataclass(frozen=True, slots=True)
class _Place:
    locale: str | None
    timezone: str
    reminders_on: bool
    receipts_on: bool


@dataclass(frozen=True, slots=True)
class _Sub:
    state: SubscriptionState
    cancel_at_period_end: bool
    period_end: datetime | None
    trial_ends_at: datetime | None


@dataclass(frozen=True, slots=True)
class _Order:
    reference: str
    subscription_id: int | None
    status: OrderStatus
    link: str | None


@dataclass
class _Facts:
    """Everything the batch's checks read, in one query per table."""

    places: dict[int, _Place]
    languages: dict[tuple[str, str], str]
    subscriptions: dict[int, _Sub]
    orders: dict[str, _Order]
    renewals: dict[int, _Order]
    """A subscription's newest renewal order, for a notice that names no order."""


RENEWAL_BILLS = (k.RenewalDue, k.RenewalChargeFailed, k.GraceReminder)
WATCHED = (k.RenewalReminder, k.TrialReminder, *RENEWAL_BILLS)


def slack_person(chat_id: str) -> str:
    """The person of a Slack DM notice ("D123:U456" or "U456" → "U456")."""
    return chat_id.rpartition(":")[2]


async def prepare(ctx: Context, queued: list[QueuedNotice]) -> list[Verdict]:
    """One verdict per queued notice, in the same order; reads only."""
    if not queued:
        return []
    payloads = [k.payload_of(q.notice.kind, q.notice.data) for q in queued]
    async with ctx.db.read() as session:
        facts = await _read(session, [q.notice for q in queued], payloads)
    now, waits = ctx.clock.now(), ctx.gateway is not None
    return [_verdict(facts, q.notice, p, now, waits) for q, p in zip(queued, payloads, strict=True)]


async def _read(
    session: AsyncSession, notices: list[Notice], payloads: list[k.CustomerPayload | None]
) -> _Facts:
    subs = {p.subscription_id for p in payloads if isinstance(p, WATCHED)}
    refs = {p.order for p in payloads if isinstance(p, RENEWAL_BILLS) and p.order}
    refs |= {p.replaced_by for p in payloads if isinstance(p, k.OrderReplaced) and p.replaced_by}
    unnamed = {p.subscription_id for p in payloads if isinstance(p, RENEWAL_BILLS) and not p.order}
    orders, renewals = await _orders(session, refs, unnamed)
    return _Facts(
        await _places(session, {n.workspace_id for n in notices}),
        await _languages(session, notices),
        await _subscriptions(session, subs),
        orders,
        renewals,
    )


async def _places(session: AsyncSession, ids: set[int]) -> dict[int, _Place]:
    rows = await session.execute(
        select(
            Workspace.id,
            Workspace.locale,
            Workspace.timezone,
            Workspace.reminders_on,
            Workspace.receipts_on,
        ).where(Workspace.id.in_(ids))
    )
    return {wid: _Place(locale, zone or "UTC", rem, rec) for wid, locale, zone, rem, rec in rows}


async def _languages(session: AsyncSession, notices: list[Notice]) -> dict[tuple[str, str], str]:
    """The `/language` each notice's chat chose: its own conversation's (the newest, in a
    group), else, for a Slack person, the one they chose anywhere in the app (Home, a DM)."""
    chats = {(n.chat_platform, n.chat_id) for n in notices if n.chat_platform and n.chat_id}
    if not chats:
        return {}
    people = {slack_person(chat) for platform, chat in chats if platform == SLACK}
    rows = await session.execute(
        select(
            Conversation.platform, Conversation.chat_id, Conversation.user_id, Conversation.language
        )
        .where(
            Conversation.language.is_not(None),
            or_(
                Conversation.chat_id.in_({chat for _, chat in chats}),
                and_(Conversation.platform == SLACK, Conversation.user_id.in_(people)),
            ),
        )
        .order_by(Conversation.updated_at, Conversation.id)
    )
    exact: dict[tuple[str, str], str] = {}
    anywhere: dict[str, str] = {}
    for platform, chat, user, language in rows:
        assert language is not None
        if (platform, chat) in chats:
            exact[(platform, chat)] = language  # ordered oldest first: the newest stays
        if platform == SLACK:
            anywhere[user] = language
    found = dict(exact)
    for platform, chat in chats:
        if platform == SLACK and (platform, chat) not in found and slack_person(chat) in anywhere:
            found[(platform, chat)] = anywhere[slack_person(chat)]
    return found


async def _subscriptions(session: AsyncSession, ids: set[int]) -> dict[int, _Sub]:
    if not ids:
        return {}
    rows = await session.execute(
        select(
            Subscription.id,
            Subscription.state,
            Subscription.cancel_at_period_end,
            Subscription.period_end,
            Subscription.trial_ends_at,
        ).where(Subscription.id.in_(ids))
    )
    return {sid: _Sub(state, cancel, end, trial) for sid, state, cancel, end, trial in rows}


async def _orders(
    session: AsyncSession, refs: set[str], unnamed: set[int]
) -> tuple[dict[str, _Order], dict[int, _Order]]:
    """The orders named by reference, and each unnamed subscription's newest renewal."""
    if not refs and not unnamed:
        return {}, {}
    rows = await session.execute(
        select(Order.reference, Order.subscription_id, Order.status, Order.payment_link)
        .where(
            or_(
                Order.reference.in_(refs),
                and_(Order.subscription_id.in_(unnamed), Order.kind == OrderKind.RENEWAL),
            )
        )
        .order_by(Order.id)
    )
    orders: dict[str, _Order] = {}
    renewals: dict[int, _Order] = {}
    for reference, sub_id, status, link in rows:
        order = _Order(reference, sub_id, OrderStatus(status), link)
        orders[reference] = order
        if sub_id in unnamed:
            renewals[sub_id] = order  # ordered by id: the newest stays
    return orders, renewals


def _verdict(
    facts: _Facts, notice: Notice, payload: k.CustomerPayload | None, now: datetime, waits: bool
) -> Verdict:
    place = facts.places.get(notice.workspace_id)
    if place is None:
        return Stale("the workspace no longer exists")
    if notice.deadline is not None and now >= notice.deadline:
        return Stale("its deadline passed")
    group = k.group_of(notice.kind)
    if group is k.NoticeGroup.REMINDERS and not place.reminders_on:
        return Stale("reminders are off")
    if group is k.NoticeGroup.RECEIPTS and not place.receipts_on:
        return Stale("receipts are off")
    chat = (notice.chat_platform or "", notice.chat_id or "")
    locale = facts.languages.get(chat, place.locale)
    checked = _still_true(facts, notice, payload, now, waits)
    if isinstance(checked, Notice):
        return Ready(checked, locale, place.timezone)
    return checked


def _still_true(
    facts: _Facts, notice: Notice, payload: k.CustomerPayload | None, now: datetime, waits: bool
) -> Notice | Stale | NotYet:
    """The notice as it should go now (perhaps completed), or why it should not (yet)."""
    if isinstance(payload, k.RenewalReminder):
        sub = facts.subscriptions.get(payload.subscription_id)
        if (
            sub is None
            or sub.state is not SubscriptionState.ACTIVE
            or sub.cancel_at_period_end
            or sub.period_end != payload.period_end
        ):
            return Stale("renewed, cancelled or moved since it was due")
        return notice
    if isinstance(payload, k.TrialReminder):
        sub = facts.subscriptions.get(payload.subscription_id)
        if sub is None or sub.state is not SubscriptionState.TRIAL:
            return Stale("no longer a trial")
        if sub.trial_ends_at != payload.trial_ends_at or now >= payload.trial_ends_at:
            return Stale("the trial's end moved or passed")
        return notice
    if isinstance(payload, RENEWAL_BILLS):
        return _renewal_bill(facts, notice, payload, now, waits)
    if isinstance(payload, k.OrderReplaced) and payload.replaced_by and not payload.link:
        newer = facts.orders.get(payload.replaced_by)
        if newer is not None and newer.status is OrderStatus.PENDING and newer.link:
            return _completed(notice, link=newer.link)
    return notice


def _renewal_bill(
    facts: _Facts,
    notice: Notice,
    payload: k.RenewalDue | k.RenewalChargeFailed | k.GraceReminder,
    now: datetime,
    waits: bool,
) -> Notice | Stale | NotYet:
    """A renewal to pay: only while its order is pending, with the order's current link."""
    order = (
        facts.orders.get(payload.order)
        if payload.order
        else facts.renewals.get(payload.subscription_id)
    )
    if isinstance(payload, k.GraceReminder) and now >= payload.grace_until:
        return Stale("grace ended")
    if order is None:
        return Stale("the renewal order no longer exists")
    if order.status is OrderStatus.PAID:
        return Stale("paid")
    if order.status is not OrderStatus.PENDING:
        return Stale(f"the renewal order is {order.status.value}")
    if order.link:
        return notice if payload.link == order.link else _completed(notice, link=order.link)
    if payload.link:
        return notice
    # Its link is being made (the gateway answers after the order commits): wait a little,
    # then send without, pointing to the details, which show the link once it exists.
    since = notice.send_after or notice.due_at
    if (
        isinstance(payload, k.RenewalDue)
        and waits
        and since is not None
        and now < since + LINK_WAIT
    ):
        return NotYet(min(now + LINK_RETRY, since + LINK_WAIT))
    return notice


def _completed(notice: Notice, **data: object) -> Notice:
    return replace(notice, data={**notice.data, **data})

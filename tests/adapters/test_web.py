"""The web app: probes, the sandbox checkout page, paying from it, and no 5xx for junk."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select

from adapters.sandbox import SandboxGateway
from adapters.web import create_app
from core.access import Actor
from core.catalog import Catalog, builtin_catalog_path, parse_catalog
from core.clock import FixedClock
from core.db import Database
from core.model import OutboxNotice, Payment
from core.pricing import Terms
from core.services.context import Context, get_workspace
from core.services.fulfilment import move_balance
from core.services.orders import PlacedOrder, place_order
from core.services.payments import record_payment_failure
from core.services.workspaces import create_workspace
from tests.conftest import at
from tests.integration.helpers import CHAT, order, subscription

PAGE = "/sandbox/checkout/{}"
# A database server that refuses connections (nothing listens on port 1).
UNREACHABLE = "postgresql://planbot@127.0.0.1:1/planbot"


def page(reference: str, action: str = "") -> str:
    return PAGE.format(reference) + (f"/{action}" if action else "")


def text_of(html: str) -> str:
    """The page's visible text, tags dropped and whitespace collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


async def place(
    ctx: Context, owner: Actor, ws: int, terms: Terms, subscription_id: int | None = None
) -> PlacedOrder:
    return await place_order(ctx, owner, ws, terms, subscription_id=subscription_id, chat=CHAT)


async def paid_payments(ctx: Context) -> int:
    async with ctx.db.unit_of_work() as session:
        return int(await session.scalar(select(func.count()).select_from(Payment)) or 0)


# --- probes ---------------------------------------------------------------------------------


async def test_healthz_and_readyz(client: httpx.AsyncClient) -> None:
    health = await client.get("/healthz")
    assert (health.status_code, health.text) == (200, "ok")
    ready = await client.get("/readyz")
    assert ready.status_code == 200


async def test_readyz_is_503_when_the_database_does_not_answer(
    catalog: Catalog, clock: FixedClock
) -> None:
    broken = Database.from_url(UNREACHABLE)
    ctx = Context(db=broken, catalog=catalog, clock=clock)
    transport = httpx.ASGITransport(app=create_app(ctx))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        assert (await http.get("/healthz")).status_code == 200
        assert (await http.get("/readyz")).status_code == 503
    await broken.dispose()


# --- the checkout page ----------------------------------------------------------------------


async def test_the_page_shows_the_order_lines_and_amounts(
    sandbox_ctx: Context, client: httpx.AsyncClient, owner: Actor, ws: int
) -> None:
    placed = await place(sandbox_ctx, owner, ws, Terms("cc2", 12, 100))
    response = await client.get(page(placed.reference))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-store"
    html = response.text
    shown = text_of(html)
    for expected in (
        "Contact Center 2 for Acme Support",
        "Package Contact Center 2",
        "Cycle 12 months (-15%)",
        "List price per account $300.00",
        "Price per account $255.00",
        "Quantity 100 accounts",
        "Total $25,500.00",
        "Due now $25,500.00",
        "Total = Price per account × Quantity = $255.00 × 100 = $25,500.00",
        f"Order {placed.reference}",
        "What New purchase",
        "Status Waiting for payment",
        "New period from payment until about Jan 15, 2027",
        "Link valid until Jan 15, 2026 10:30 UTC",
    ):
        assert expected in shown, expected
    assert '<html lang="en">' in html
    assert "Proration" not in shown and "Credit" not in shown
    assert f'action="/sandbox/checkout/{placed.reference}/pay"' in html
    assert f'action="/sandbox/checkout/{placed.reference}/fail"' in html
    assert html.count('method="post"') == 2


async def test_a_change_shows_its_credit_and_due_now_worked_example_3(
    sandbox_ctx: Context, client: httpx.AsyncClient, clock: FixedClock, owner: Actor, ws: int
) -> None:
    first = await place(sandbox_ctx, owner, ws, Terms("cc2", 12, 100))
    assert (await client.post(page(first.reference, "pay"))).status_code == 303
    clock.set(at("2026-07-15T10:00:00Z"))
    cc2 = await subscription(sandbox_ctx, ws, "cc2")
    change = await place(sandbox_ctx, owner, ws, Terms("cc3", 12, 100), subscription_id=cc2.id)
    shown = text_of((await client.get(page(change.reference))).text)
    assert "Price per account $408.00 Quantity 100 accounts Total $40,800.00" in shown
    assert "Credit for the unused part of your current terms -$12,854.79" in shown
    assert "Due now $27,945.21" in shown
    assert "What Change of plan" in shown


async def test_added_accounts_show_the_proration_worked_example_2(
    sandbox_ctx: Context, client: httpx.AsyncClient, clock: FixedClock, owner: Actor, ws: int
) -> None:
    first = await place(sandbox_ctx, owner, ws, Terms("cc2", 12, 100))
    await client.post(page(first.reference, "pay"))
    clock.set(at("2026-07-15T10:00:00Z"))
    more = await place(sandbox_ctx, owner, ws, Terms("cc2", 12, 120))
    shown = text_of((await client.get(page(more.reference))).text)
    assert "Quantity 20 more accounts, 120 in all Total $5,100.00" in shown
    assert "Proration: part of the period already passed -$2,529.04" in shown
    assert "Due now $2,570.96" in shown
    assert "Total = Price per account × Quantity = $255.00 × 20 = $5,100.00" in shown
    assert "Renewal date Jan 15, 2027 10:00 UTC" in shown


async def test_the_credit_balance_shows_as_a_discount_line(
    sandbox_ctx: Context, client: httpx.AsyncClient, owner: Actor, ws: int
) -> None:
    async with sandbox_ctx.db.unit_of_work() as session:
        workspace = await get_workspace(session, ws, lock=True)
        move_balance(session, workspace, 1_000, "test credit", sandbox_ctx.clock.now())
    placed = await place(sandbox_ctx, owner, ws, Terms("cc1", 1, 3))
    shown = text_of((await client.get(page(placed.reference))).text)
    assert "Cycle 1 month Price per account $15.00 Quantity 3 accounts Total $45.00" in shown
    assert "List price" not in shown  # no discount on a monthly cycle
    assert "Credit balance used -$10.00" in shown
    assert "Due now $35.00" in shown


async def test_names_are_escaped(
    sandbox_ctx: Context, client: httpx.AsyncClient, owner: Actor
) -> None:
    # The built-in catalog with one package renamed to markup.
    raw = builtin_catalog_path("default.toml").read_text(encoding="utf-8")
    hostile = raw.replace(
        'name = "Contact Center 1"', 'name = "CC <script>alert(1)</script> & \\"Co\\""'
    )
    assert hostile != raw
    catalog = parse_catalog(hostile, "hostile.toml")
    ctx = replace(sandbox_ctx, catalog=catalog)
    ws = await create_workspace(ctx, owner, "<script>alert('ws')</script>")
    placed = await place(ctx, owner, ws, Terms("cc1", 1, 3))
    transport = httpx.ASGITransport(app=create_app(ctx))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        html = (await http.get(page(placed.reference))).text
    assert "<script" not in html
    assert "&lt;script&gt;alert(&#x27;ws&#x27;)&lt;/script&gt;" in html
    assert "CC &lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;Co&quot;" in html


# --- paying from the page -------------------------------------------------------------------


async def test_pay_twice_on_the_page_fulfils_once(
    sandbox_ctx: Context, client: httpx.AsyncClient, owner: Actor, ws: int
) -> None:
    placed = await place(sandbox_ctx, owner, ws, Terms("cc2", 12, 100))
    first = await client.post(page(placed.reference, "pay"))
    assert first.status_code == 303
    assert first.headers["location"] == f"{page(placed.reference)}?result=applied"
    result = await client.get(first.headers["location"])
    shown = text_of(result.text)
    assert "Payment received: the order is paid and applied." in shown
    assert "Status Paid" in shown
    assert "Paid $25,500.00" in shown and "Due now" not in shown
    assert "Period Jan 15, 2026 10:00 UTC to Jan 15, 2027 10:00 UTC" in shown
    assert "Link valid until" not in shown
    assert 'method="post"' not in result.text

    again = await client.post(page(placed.reference, "pay"))
    assert again.status_code == 303
    assert again.headers["location"].endswith("?result=already_paid")
    shown = text_of((await client.get(again.headers["location"])).text)
    assert "This order was already paid: nothing changed." in shown

    assert await paid_payments(sandbox_ctx) == 1
    sub = await subscription(sandbox_ctx, ws, "cc2")
    assert (sub.state, sub.quantity, sub.terms_version) == ("active", 100, 2)
    async with sandbox_ctx.db.unit_of_work() as session:
        notices = list(await session.scalars(select(OutboxNotice)))
    assert [(n.kind, n.chat_platform, n.chat_id) for n in notices] == [
        ("payment.succeeded", CHAT.platform, CHAT.chat_id)
    ]


async def test_a_failed_payment_shows_why_and_is_retried_on_the_same_order(
    sandbox_ctx: Context, client: httpx.AsyncClient, owner: Actor, ws: int
) -> None:
    placed = await place(sandbox_ctx, owner, ws, Terms("cc2", 12, 100))
    response = await client.post(page(placed.reference, "fail"), follow_redirects=True)
    assert response.status_code == 200
    shown = text_of(response.text)
    assert "The last payment attempt failed." in shown
    assert "The sandbox declined the payment" in shown
    assert "Nothing was charged. Press Pay to try again with the same order." in shown
    assert "Status Waiting for payment" in shown
    assert "(sandbox payment failed)" not in shown
    assert html_has_pay_button(response.text, placed.reference)
    assert (await order(sandbox_ctx, placed.reference)).status == "pending"

    retried = await client.post(page(placed.reference, "pay"), follow_redirects=True)
    shown = text_of(retried.text)
    assert "Payment received: the order is paid and applied." in shown
    assert "The last payment attempt failed." not in shown
    assert (await order(sandbox_ctx, placed.reference)).status == "paid"
    assert await paid_payments(sandbox_ctx) == 1
    async with sandbox_ctx.db.unit_of_work() as session:
        kinds = [n.kind for n in await session.scalars(select(OutboxNotice))]
    assert kinds == ["payment.failed", "payment.succeeded"]


def html_has_pay_button(html: str, reference: str) -> bool:
    return f'action="/sandbox/checkout/{reference}/pay"' in html


async def test_an_order_whose_payment_failed_for_good_says_so_and_cannot_be_paid(
    sandbox_ctx: Context, client: httpx.AsyncClient, owner: Actor, ws: int
) -> None:
    placed = await place(sandbox_ctx, owner, ws, Terms("cc2", 12, 100))
    await record_payment_failure(
        sandbox_ctx,
        provider="sandbox",
        order_reference=placed.reference,
        reason="the bank transfer failed",
    )
    shown = text_of((await client.get(page(placed.reference))).text)
    assert "The payment failed, and this order can no longer be paid." in shown
    assert "The bank transfer failed." in shown
    assert "Start again from the chat" in shown and "Status Payment failed" in shown
    refused = await client.post(page(placed.reference, "pay"))
    assert refused.status_code == 409
    assert not html_has_pay_button(refused.text, placed.reference)
    assert "can no longer be paid" in text_of(refused.text)
    assert await paid_payments(sandbox_ctx) == 0


async def test_an_expired_order_shows_why_and_cannot_be_paid(
    sandbox_ctx: Context, client: httpx.AsyncClient, clock: FixedClock, owner: Actor, ws: int
) -> None:
    placed = await place(sandbox_ctx, owner, ws, Terms("cc2", 12, 100))
    clock.advance(timedelta(minutes=45))
    response = await client.get(page(placed.reference))
    shown = text_of(response.text)
    assert response.status_code == 200
    assert "Status Expired" in shown
    assert "This payment link has expired. Nothing was charged." in shown
    assert 'method="post"' not in response.text
    for action in ("pay", "fail"):
        refused = await client.post(page(placed.reference, action))
        assert refused.status_code == 409
        assert "expired" in text_of(refused.text)
    assert await paid_payments(sandbox_ctx) == 0
    assert (await order(sandbox_ctx, placed.reference)).status == "pending"


async def test_a_result_the_order_does_not_bear_out_is_not_shown(
    sandbox_ctx: Context, client: httpx.AsyncClient, owner: Actor, ws: int
) -> None:
    placed = await place(sandbox_ctx, owner, ws, Terms("cc1", 1, 3))
    for result in ("applied", "already_paid", "failed", "<b>x</b>", ""):
        response = await client.get(page(placed.reference), params={"result": result})
        assert response.status_code == 200
        shown = text_of(response.text)
        assert "Payment received" not in shown and "already paid" not in shown
        assert "The payment failed" not in shown
        assert "<b>x</b>" not in response.text


# --- refusals: 4xx, never 5xx ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", page("ord_0000000000000000"), 404),
        ("POST", page("ord_0000000000000000", "pay"), 404),
        ("POST", page("ord_0000000000000000", "fail"), 404),
        ("GET", page("%3Cscript%3E"), 404),
        ("GET", page("x" * 500), 404),
        ("POST", page("%00", "pay"), 404),
        ("GET", page("a%2Fb"), 404),
        ("GET", "/sandbox/checkout/", 404),
        ("GET", page("ord_0000000000000000", "pay"), 405),
        ("PUT", page("ord_0000000000000000"), 405),
        ("GET", "/nowhere", 404),
        ("POST", "/healthz", 405),
    ],
)
async def test_junk_gets_a_4xx(
    client: httpx.AsyncClient, ws: int, method: str, path: str, status: int
) -> None:
    response = await client.request(method, path, content=b"\xff\x00junk")
    assert response.status_code == status
    assert "<script>" not in response.text


async def test_an_unknown_order_gets_a_404_page(client: httpx.AsyncClient, ws: int) -> None:
    response = await client.get(page("ord_0000000000000000"))
    assert response.status_code == 404
    assert "No such order" in text_of(response.text)


async def test_another_providers_order_has_no_sandbox_page(
    ctx: Context, client: httpx.AsyncClient, owner: Actor, ws: int
) -> None:
    elsewhere = await place(ctx, owner, ws, Terms("cc1", 1, 3))  # the fake gateway's order
    assert (await client.get(page(elsewhere.reference))).status_code == 404
    assert (await client.post(page(elsewhere.reference, "pay"))).status_code == 404
    assert (await order(ctx, elsewhere.reference)).status == "pending"


async def test_without_the_sandbox_gateway_there_are_no_sandbox_pages(
    ctx: Context, owner: Actor, ws: int
) -> None:
    placed = await place(ctx, owner, ws, Terms("cc1", 1, 3))
    transport = httpx.ASGITransport(app=create_app(ctx))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        assert (await http.get(page(placed.reference))).status_code == 404
        assert (await http.post(page(placed.reference, "pay"))).status_code == 404
        assert (await http.get("/healthz")).status_code == 200


async def test_a_database_that_does_not_answer_gets_a_503_page(
    catalog: Catalog, clock: FixedClock
) -> None:
    broken = Database.from_url(UNREACHABLE)
    ctx = Context(db=broken, catalog=catalog, clock=clock, gateway=SandboxGateway("http://t"))
    transport = httpx.ASGITransport(app=create_app(ctx))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        assert (await http.get(page("ord_0000000000000000"))).status_code == 503
        assert (await http.post(page("ord_0000000000000000", "pay"))).status_code == 503
    await broken.dispose()

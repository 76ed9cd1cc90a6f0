"""The pages' HTML: the order's language (its conversation's, else its workspace's), dates in
the workspace's zone, the landing page, the Stripe return pages and the error pages."""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest

from adapters.stripe.webhook import stripe_routes
from adapters.web import create_app
from core.access import Actor
from core.catalog import builtin_catalog_path, load_catalog
from core.model import Conversation
from core.pricing import Terms
from core.services.context import Context
from core.services.orders import PlacedOrder, place_order
from core.services.payments import apply_payment, await_async_payment
from core.services.workspaces import create_workspace
from tests.adapters.test_web import page, text_of
from tests.conftest import START
from tests.fakes import StripeNamedGateway
from tests.integration.helpers import CHAT

VI_BROWSER = {"Accept-Language": "vi-VN,vi;q=0.9,en;q=0.5"}


async def talked_in(ctx: Context, owner: Actor, ws: int, language: str | None) -> None:
    """The conversation the orders are placed from, with the language chosen there."""
    async with ctx.db.unit_of_work() as session:
        session.add(
            Conversation(
                platform=CHAT.platform,
                chat_id=CHAT.chat_id,
                user_id=owner.user_id,
                workspace_id=ws,
                language=language,
                data={},
                history=[],
                updated_at=START,
            )
        )


async def buy(ctx: Context, owner: Actor, ws: int, method: str = "card") -> PlacedOrder:
    return await place_order(
        ctx, owner, ws, Terms("cc2", 12, 100), chat=CHAT, payment_method=method
    )


@pytest.mark.parametrize(
    ("conversation", "workspace", "expected"),
    [("vi", None, "vi"), (None, "vi", "vi"), ("en", "vi", "en"), (None, None, "en")],
)
async def test_the_checkout_speaks_the_orders_conversation_else_its_workspace(
    sandbox_ctx: Context,
    client: httpx.AsyncClient,
    owner: Actor,
    conversation: str | None,
    workspace: str | None,
    expected: str,
) -> None:
    ws = await create_workspace(sandbox_ctx, owner, "Công ty An", locale=workspace)
    await talked_in(sandbox_ctx, owner, ws, conversation)
    placed = await buy(sandbox_ctx, owner, ws)
    html = (await client.get(page(placed.reference))).text
    assert f'<html lang="{expected}">' in html
    shown = text_of(html)
    if expected == "vi":
        assert "Đơn giá mỗi tài khoản 255,00 US$" in shown
        assert "Cần thanh toán ngay 25.500,00 US$" in shown
        assert "Liên kết có hiệu lực đến 15 thg 1, 2026 10:30 UTC" in shown
        assert "Thanh toán 25.500,00 US$" in shown
    else:
        assert "Price per account $255.00" in shown


async def test_an_address_may_ask_for_the_other_language_and_the_forms_keep_it(
    sandbox_ctx: Context, client: httpx.AsyncClient, owner: Actor, ws: int
) -> None:
    placed = await buy(sandbox_ctx, owner, ws)
    html = (await client.get(page(placed.reference), params={"lang": "vi"})).text
    assert '<html lang="vi">' in html
    assert f'action="/sandbox/checkout/{placed.reference}/pay?lang=vi"' in html
    assert '<a href="?lang=en" lang="en" hreflang="en">English</a>' in html
    paid = await client.post(page(placed.reference, "pay") + "?lang=vi")
    assert paid.headers["location"] == f"{page(placed.reference)}?result=applied&lang=vi"
    shown = text_of((await client.get(paid.headers["location"])).text)
    assert "Đã nhận thanh toán: đơn hàng đã được thanh toán và áp dụng." in shown
    ignored = await client.get(page(placed.reference), params={"lang": "<fr>"})
    assert '<html lang="en">' in ignored.text


async def test_dates_are_shown_in_the_workspaces_zone(
    sandbox_ctx: Context, client: httpx.AsyncClient, owner: Actor
) -> None:
    ws = await create_workspace(sandbox_ctx, owner, "Acme", timezone="Asia/Ho_Chi_Minh")
    placed = await buy(sandbox_ctx, owner, ws)
    shown = text_of((await client.get(page(placed.reference))).text)
    assert "Link valid until Jan 15, 2026 17:30 +07" in shown


async def test_a_bank_transfer_in_the_sandbox_says_honestly_there_is_none(
    sandbox_ctx: Context, client: httpx.AsyncClient, owner: Actor, ws: int
) -> None:
    placed = await buy(sandbox_ctx, owner, ws, "bank_transfer")
    shown = text_of((await client.get(page(placed.reference))).text)
    assert "Payment method Bank transfer" in shown
    assert "Bank transfers are not in the sandbox: there are no bank details to pay to." in shown
    card = await buy(sandbox_ctx, owner, ws, "card")
    shown = text_of((await client.get(page(card.reference))).text)
    assert "Payment method Card" in shown and "The sandbox charges no card" in shown


async def test_the_landing_page_says_what_planbot_is_in_the_browsers_language(
    client: httpx.AsyncClient,
) -> None:
    english = await client.get("/")
    assert english.status_code == 200 and '<html lang="en">' in english.text
    shown = text_of(english.text)
    assert "planbot: your service packages, managed in the chat" in shown
    assert "In Telegram: open the chat with the bot and send /start." in shown
    vietnamese = await client.get("/", headers=VI_BROWSER)
    assert '<html lang="vi">' in vietnamese.text
    assert "Bắt đầu từ đâu" in text_of(vietnamese.text)
    assert '<html lang="en">' in (await client.get("/", headers={"Accept-Language": "fr"})).text


async def test_the_landing_page_is_served_without_the_sandbox_too(ctx: Context) -> None:
    transport = httpx.ASGITransport(app=create_app(ctx))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        response = await http.get("/")
    assert response.status_code == 200 and "Where to go" in text_of(response.text)


async def test_error_pages_speak_the_browsers_language(client: httpx.AsyncClient) -> None:
    response = await client.get(page("ord_0000000000000000"), headers=VI_BROWSER)
    assert response.status_code == 404
    assert '<html lang="vi">' in response.text
    assert "Không có đơn hàng này" in text_of(response.text)


# --- the pages Stripe Checkout returns to ---------------------------------------------------


@pytest.fixture
def stripe_ctx(sandbox_ctx: Context) -> Context:
    return replace(sandbox_ctx, gateway=StripeNamedGateway())


@pytest.fixture
async def stripe_client(stripe_ctx: Context) -> httpx.AsyncClient:
    app = create_app(stripe_ctx, routes=stripe_routes(stripe_ctx, "whsec_test"))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


async def test_the_success_page_says_it_is_being_confirmed_then_paid(
    stripe_ctx: Context, stripe_client: httpx.AsyncClient, owner: Actor, ws: int
) -> None:
    placed = await buy(stripe_ctx, owner, ws)
    async with stripe_client as http:
        waiting = text_of(
            (await http.get("/stripe/success", params={"order": placed.reference})).text
        )
        assert "Thank you: your payment is being confirmed." in waiting
        assert "Price per account $255.00" in waiting and "Due now $25,500.00" in waiting
        assert "Return to the payment" in waiting
        await apply_payment(
            stripe_ctx,
            provider="stripe",
            provider_payment_id="pi_1",
            order_reference=placed.reference,
            amount=2_550_000,
            currency="USD",
        )
        paid = text_of((await http.get("/stripe/success", params={"order": placed.reference})).text)
    assert "Paid The payment arrived on Jan 15, 2026 10:00 UTC." in paid
    assert "Status Paid" in paid and "Paid $25,500.00" in paid
    assert "Period Jan 15, 2026 10:00 UTC to Jan 15, 2027 10:00 UTC" in paid
    assert "being confirmed" not in paid and "Return to the payment" not in paid


async def test_the_success_page_of_a_bank_transfer_says_where_to_pay(
    stripe_ctx: Context, stripe_client: httpx.AsyncClient, owner: Actor, ws: int
) -> None:
    placed = await buy(stripe_ctx, owner, ws, "bank_transfer")
    await await_async_payment(stripe_ctx, provider="stripe", order_reference=placed.reference)
    async with stripe_client as http:
        shown = text_of(
            (await http.get("/stripe/success", params={"order": placed.reference})).text
        )
    assert "Payment method Bank transfer" in shown
    assert "pay the amount due to the bank details Stripe showed on its payment page" in shown
    assert "Link valid until Jan 22, 2026 10:00 UTC" in shown  # held while the transfer settles


async def test_a_bank_transfer_in_a_currency_without_one_says_a_card_was_asked(
    sandbox_ctx: Context, owner: Actor
) -> None:
    vnd = replace(
        sandbox_ctx,
        catalog=load_catalog(builtin_catalog_path("vnd.toml")),
        gateway=StripeNamedGateway(),
    )
    ws = await create_workspace(vnd, owner, "Công ty An", locale="vi")
    placed = await place_order(
        vnd, owner, ws, Terms("cc2", 3, 7), chat=CHAT, payment_method="bank_transfer"
    )
    app = create_app(vnd, routes=stripe_routes(vnd, "whsec_test"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        shown = text_of(
            (await http.get("/stripe/success", params={"order": placed.reference})).text
        )
    assert "Không hỗ trợ chuyển khoản ngân hàng bằng VND" in shown
    assert "Tổng cộng 4.987.500 ₫" in shown


async def test_the_cancel_page_says_nothing_was_charged_and_leads_back_to_the_payment(
    stripe_ctx: Context, stripe_client: httpx.AsyncClient, owner: Actor, ws: int
) -> None:
    placed = await buy(stripe_ctx, owner, ws)
    async with stripe_client as http:
        html = (await http.get("/stripe/cancel", params={"order": placed.reference})).text
    shown = text_of(html)
    assert "Payment not completed: nothing was charged." in shown
    assert "The payment link stays valid until Jan 15, 2026 10:30 UTC" in shown
    assert f'href="{placed.payment_link}"' in html


@pytest.mark.parametrize("query", [{}, {"order": "ord_0000000000000000"}, {"order": "<x>"}])
async def test_the_return_pages_of_no_order_are_a_404_page(
    stripe_client: httpx.AsyncClient, query: dict[str, str]
) -> None:
    async with stripe_client as http:
        for path in ("/stripe/success", "/stripe/cancel"):
            response = await http.get(path, params=query)
            assert response.status_code == 404
            assert "No such order" in text_of(response.text)
            assert "<x>" not in response.text


async def test_a_sandbox_order_has_no_stripe_return_page(
    sandbox_ctx: Context, stripe_client: httpx.AsyncClient, owner: Actor, ws: int
) -> None:
    placed = await buy(sandbox_ctx, owner, ws)
    async with stripe_client as http:
        response = await http.get("/stripe/success", params={"order": placed.reference})
    assert response.status_code == 404

"""Every page the web app serves, in a real headless Chromium, at 1280, 390 and 320 px, in
English and Vietnamese: nothing scrolls sideways, every required line is there, and Pay,
Fail and the retry after a failure work from the page itself."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from bot.i18n import Translator
from core.access import Actor
from core.clock import parse_iso
from core.periods import add_months
from core.pricing import Terms
from core.services.context import Context
from core.services.orders import PlacedOrder, place_order
from core.services.payments import apply_payment
from core.services.workspaces import create_workspace
from tests.browser.conftest import WIDTHS, Page, Site
from tests.fakes import StripeNamedGateway
from tests.integration.helpers import CHAT, order, subscription

pytestmark = pytest.mark.browser

OWNER = Actor("telegram", "1001")
LANGUAGES = ("en", "vi")
ZONE = "Asia/Ho_Chi_Minh"
WORDS = {
    "en": ("Price per account", "Due now", "Paid", "The last payment attempt failed."),
    "vi": (
        "Đơn giá mỗi tài khoản",
        "Cần thanh toán ngay",
        "Đã thanh toán",
        "Lần thanh toán gần nhất không thành công.",
    ),
}
CYCLE_12 = {"en": "12 months (-15%)", "vi": "12 tháng (-15%)"}
ADDED = {"en": "20 more accounts, 120 in all", "vi": "thêm 20 tài khoản, tổng cộng 120"}


async def workspace(shop: Context, language: str) -> int:
    return await create_workspace(shop, OWNER, "Acme Support", locale=language, timezone=ZONE)


async def buy(shop: Context, ws: int, terms: Terms, method: str = "card") -> PlacedOrder:
    return await place_order(shop, OWNER, ws, terms, chat=CHAT, payment_method=method)


def shows(text: str, expected: str) -> bool:
    """Whether the page's text holds `expected`, white space (Babel's no-break spaces
    included) compared as single spaces."""
    return " ".join(expected.split()) in text


def pay_label(t: Translator, minor: int) -> str:
    return t("Pay {amount}", amount=t.minor(minor, "USD"))


def checkout(site: Site, placed: PlacedOrder) -> str:
    return f"{site.url}/sandbox/checkout/{placed.reference}"


def fits_everywhere(page: Page, url: str, language: str) -> str:
    """Open `url` at every width; each fits and is in `language`. Returns the page's text."""
    text = ""
    for width in WIDTHS:
        page.open(url, width)
        assert page.fits(), f"{url} at {width} px: {page.overflow()}"
        assert page.language == language
        text = page.text
    return text


@pytest.mark.parametrize("language", LANGUAGES)
async def test_a_new_order_shows_every_line_the_chat_reviewed_and_fits_every_width(
    shop: Context, site: Site, page: Page, language: str
) -> None:
    t = Translator(language, ZONE)
    placed = await buy(shop, await workspace(shop, language), Terms("cc2", 12, 100))
    text = fits_everywhere(page, checkout(site, placed), language)
    money = lambda minor: t.minor(minor, "USD")  # noqa: E731
    for label, value in (
        (t("Package"), "Contact Center 2"),
        (t("Cycle"), CYCLE_12[language]),
        (t("List price per account"), money(30_000)),
        (t("Price per account"), money(25_500)),
        (t("Quantity"), t.plural("{n} account", "{n} accounts", 100)),
        (t("Total"), money(2_550_000)),
        (t("Due now"), money(2_550_000)),
        (t("Payment method"), t("Card")),
        (t("Link valid until"), t.when(placed.expires_at)),
    ):
        assert shows(text, f"{label} {value}"), (label, value, text)
    assert shows(text, WORDS[language][0]) and WORDS[language][1] in text
    assert "+07" in t.when(placed.expires_at)  # the workspace's zone, not UTC
    assert shows(text, t("Pay {amount}", amount=money(2_550_000)))


@pytest.mark.parametrize("language", LANGUAGES)
async def test_added_accounts_show_how_many_in_all_and_the_proration(
    shop: Context, site: Site, page: Page, language: str
) -> None:
    t = Translator(language, ZONE)
    ws = await workspace(shop, language)
    first = await buy(shop, ws, Terms("cc2", 12, 100))
    page.open(checkout(site, first), WIDTHS[1]).press(pay_label(t, 2_550_000))
    site.clock.set(parse_iso("2026-07-15T10:00:00Z"))
    more = await buy(shop, ws, Terms("cc2", 12, 120))
    text = fits_everywhere(page, checkout(site, more), language)
    assert shows(text, f"{t('Quantity')} {ADDED[language]}")
    proration = t("Proration: part of the period already passed")
    assert shows(text, f"{proration} -{t.minor(252_904, 'USD')}")
    assert shows(text, f"{t('Due now')} {t.minor(257_096, 'USD')}")


@pytest.mark.parametrize("language", LANGUAGES)
async def test_pay_on_the_page_shows_paid_and_the_real_period(
    shop: Context, site: Site, page: Page, language: str
) -> None:
    t = Translator(language, ZONE)
    ws = await workspace(shop, language)
    placed = await buy(shop, ws, Terms("cc2", 12, 100))
    site.clock.advance(timedelta(minutes=5))  # paid five minutes after the quote
    pay = pay_label(t, 2_550_000)
    page.open(checkout(site, placed), WIDTHS[2]).press(pay)
    text = fits_everywhere(page, page.driver.current_url, language)
    assert shows(text, t("Payment received: the order is paid and applied."))
    assert shows(text, f"{t('Status')} {WORDS[language][2]}")
    paid_at = parse_iso("2026-01-15T10:05:00Z")
    period = t("{start} to {end}", start=t.when(paid_at), end=t.when(add_months(paid_at, 12)))
    assert shows(text, f"{t('Period')} {period}")
    assert not shows(text, WORDS[language][1]) and not shows(text, pay)
    assert (await subscription(shop, ws, "cc2")).state == "active"


@pytest.mark.parametrize("language", LANGUAGES)
async def test_a_failed_payment_is_a_clear_error_and_the_same_order_is_paid_on_retry(
    shop: Context, site: Site, page: Page, language: str
) -> None:
    t = Translator(language, ZONE)
    placed = await buy(shop, await workspace(shop, language), Terms("cc1", 1, 3), "bank_transfer")
    pay = pay_label(t, 4_500)
    text = fits_everywhere(page, checkout(site, placed), language)
    assert shows(text, t("Bank transfer"))
    assert t(
        "Bank transfers are not in the sandbox: there are no bank details to pay to. Pay "
        "stands for the transfer arriving, Fail for one that does not."
    ) in " ".join(text.split())
    page.press(t("Fail the payment"))
    text = fits_everywhere(page, page.driver.current_url, language)
    assert shows(text, WORDS[language][3])
    assert shows(text, t("Press Pay to try again with the same order."))
    assert (await order(shop, placed.reference)).status == "pending"
    page.press(pay)
    text = page.text
    assert shows(text, t("Payment received: the order is paid and applied."))
    assert WORDS[language][3] not in text
    assert (await order(shop, placed.reference)).status == "paid"


@pytest.mark.parametrize("language", LANGUAGES)
async def test_an_expired_link_says_so_and_offers_no_pay(
    shop: Context, site: Site, page: Page, language: str
) -> None:
    t = Translator(language, ZONE)
    placed = await buy(shop, await workspace(shop, language), Terms("cc3", 3, 5))
    site.clock.advance(timedelta(hours=1))
    text = fits_everywhere(page, checkout(site, placed), language)
    assert shows(text, t("This payment link has expired."))
    assert shows(text, f"{t('Status')} {t('Expired')}")
    assert not page.driver.find_elements("tag name", "button")


@pytest.mark.parametrize("language", LANGUAGES)
async def test_the_stripe_return_pages_say_where_the_order_stands(
    shop: Context, site: Site, page: Page, language: str
) -> None:
    t = Translator(language, ZONE)
    stripe = replace(shop, gateway=StripeNamedGateway())
    placed = await buy(stripe, await workspace(shop, language), Terms("cc2", 6, 10))
    cancelled = fits_everywhere(
        page, f"{site.url}/stripe/cancel?order={placed.reference}", language
    )
    assert shows(cancelled, t("Payment not completed: nothing was charged."))
    assert shows(cancelled, f"{t('Price per account')} {t.minor(13_500, 'USD')}")
    assert shows(cancelled, t("Return to the payment"))
    success = f"{site.url}/stripe/success?order={placed.reference}"
    assert t("Thank you: your payment is being confirmed.") in fits_everywhere(
        page, success, language
    )
    await apply_payment(
        shop,
        provider="stripe",
        provider_payment_id="pi_browser",
        order_reference=placed.reference,
        amount=135_000,
        currency="USD",
    )
    text = fits_everywhere(page, success, language)
    assert shows(text, f"{t('Status')} {WORDS[language][2]}")
    assert t("Return to the payment") not in text


@pytest.mark.parametrize("language", LANGUAGES)
async def test_the_landing_page_says_what_planbot_is_and_where_to_go(
    site: Site, page: Page, language: str
) -> None:
    t = Translator(language)
    text = fits_everywhere(page, f"{site.url}/?lang={language}", language)
    assert shows(text, t("planbot: your service packages, managed in the chat"))
    assert shows(text, t("In Telegram: open the chat with the bot and send /start."))
    other = "Tiếng Việt" if language == "en" else "English"
    assert other in text


async def test_an_unknown_order_gets_a_page_that_fits(site: Site, page: Page) -> None:
    text = fits_everywhere(page, f"{site.url}/sandbox/checkout/ord_0000000000000000", "en")
    assert "No such order" in text

"""Money: exact integer minor units per currency, strict parsing, no mixing, locale display."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest

from core.money import (
    Money,
    MoneyError,
    currency_exponent,
    div_round_half_up,
    normalize_currency,
)


@pytest.mark.parametrize(
    ("currency", "exponent"),
    [("USD", 2), ("EUR", 2), ("VND", 0), ("JPY", 0), ("usd", 2), (" vnd ", 0)],
)
def test_currency_exponent_follows_iso_4217(currency: str, exponent: int) -> None:
    assert currency_exponent(currency) == exponent


def test_currency_codes_are_normalised_to_upper_case() -> None:
    assert normalize_currency(" usd ") == "USD"
    assert normalize_currency("vnd") == "VND"


@pytest.mark.parametrize("code", ["XYZ", "DOLLARS", "", "US"])
def test_unknown_currency_is_refused_with_a_hint(code: str) -> None:
    with pytest.raises(MoneyError, match="unknown currency") as info:
        normalize_currency(code)
    assert "ISO-4217" in str(info.value)


def test_money_is_an_integer_count_of_minor_units() -> None:
    amount = Money(2_550_000, "USD")
    assert amount.minor == 2_550_000
    assert amount.as_decimal() == Decimal("25500.00")
    assert Money(4_987_500, "VND").as_decimal() == Decimal("4987500")
    assert Money(100, "JPY").as_decimal() == Decimal("100")


@pytest.mark.parametrize("minor", [1.0, 0.5, Decimal("1"), "100", True, None])
def test_money_refuses_minor_units_that_are_not_integers(minor: object) -> None:
    with pytest.raises(MoneyError, match="must be an integer"):
        Money(minor, "USD")  # type: ignore[arg-type]


def test_zero_is_zero_minor_units_of_the_currency() -> None:
    assert Money.zero("VND") == Money(0, "VND")


def test_money_is_immutable_and_compares_by_value() -> None:
    amount = Money(150, "USD")
    assert amount == Money(150, "USD")
    assert amount != Money(150, "VND")
    assert hash(amount) == hash(Money(150, "USD"))
    with pytest.raises(AttributeError):
        amount.minor = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("25.00", "USD", 2_500),
        ("25", "USD", 2_500),
        ("0.01", "USD", 1),
        ("15.5", "USD", 1_550),
        (" 15.50 ", "USD", 1_550),
        ("25,500.00", "USD", 2_550_000),
        ("-3.25", "USD", -325),
        ("250000", "VND", 250_000),
        ("4,987,500", "VND", 4_987_500),
        ("100", "JPY", 100),
        ("100.0", "JPY", 100),
        (15, "USD", 1_500),
        (250_000, "VND", 250_000),
        ("25.00", "usd", 2_500),
    ],
)
def test_parse_reads_major_units_exactly(text: str | int, currency: str, minor: int) -> None:
    parsed = Money.parse(text, currency)
    assert parsed == Money(minor, currency.upper())


def test_zero_decimal_currencies_are_never_multiplied_by_a_hundred() -> None:
    assert Money.parse("250000", "VND").minor == 250_000
    assert Money.parse("1500", "JPY").minor == 1_500
    assert Money.parse("1500", "USD").minor == 150_000


@pytest.mark.parametrize(
    ("text", "currency", "places"),
    [
        ("25.001", "USD", 2),
        ("0.005", "USD", 2),
        ("250000.5", "VND", 0),
        ("0.1", "VND", 0),
        ("100.01", "JPY", 0),
    ],
)
def test_parse_refuses_more_decimals_than_the_currency_has(
    text: str, currency: str, places: int
) -> None:
    with pytest.raises(MoneyError) as info:
        Money.parse(text, currency)
    message = str(info.value)
    assert f"more than {places} decimal places for {currency}" in message
    assert repr(text) in message


@pytest.mark.parametrize(
    "text", ["", "   ", "abc", "12.3.4", "$25", "25 USD", "NaN", "Infinity", "-inf", "1/2"]
)
def test_parse_refuses_text_that_is_not_an_amount(text: str) -> None:
    with pytest.raises(MoneyError, match="is not an amount"):
        Money.parse(text, "USD")


def test_parse_refuses_an_unknown_currency() -> None:
    with pytest.raises(MoneyError, match="unknown currency 'XYZ'"):
        Money.parse("1.00", "XYZ")


@pytest.mark.parametrize("value", [1.5, 0.1, 25.0])
def test_parse_refuses_floats(value: float) -> None:
    with pytest.raises(MoneyError, match="float"):
        Money.parse(value, "USD")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("1234567890123456789012345678.91", "USD", 123_456_789_012_345_678_901_234_567_891),
        ("12345678901234567890123456789", "VND", 12_345_678_901_234_567_890_123_456_789),
    ],
)
def test_parse_is_exact_for_amounts_longer_than_28_digits(
    text: str, currency: str, minor: int
) -> None:
    assert Money.parse(text, currency).minor == minor


def test_adding_and_subtracting_keep_the_currency() -> None:
    assert Money(1_500, "USD") + Money(2_500, "USD") == Money(4_000, "USD")
    assert Money(1_500, "USD") - Money(2_500, "USD") == Money(-1_000, "USD")


def test_multiplying_by_a_whole_number_from_either_side() -> None:
    assert Money(25_500, "USD") * 100 == Money(2_550_000, "USD")
    assert 7 * Money(712_500, "VND") == Money(4_987_500, "VND")


@pytest.mark.parametrize("factor", [1.5, Decimal("2"), True])
def test_multiplying_by_anything_but_a_whole_number_is_refused(factor: object) -> None:
    with pytest.raises(MoneyError, match="whole numbers"):
        Money(100, "USD") * factor  # type: ignore[operator]


def test_adding_different_currencies_is_refused() -> None:
    with pytest.raises(MoneyError, match="cannot mix USD and VND"):
        Money(100, "USD") + Money(100, "VND")


def test_subtracting_different_currencies_is_refused() -> None:
    with pytest.raises(MoneyError, match="cannot mix JPY and USD"):
        Money(100, "JPY") - Money(100, "USD")


def _plain_spaces(text: str) -> str:
    return text.replace("\u00a0", " ").replace("\u202f", " ")


@pytest.mark.parametrize(
    ("amount", "locale", "shown"),
    [
        (Money(2_550_000, "USD"), "en", "$25,500.00"),
        (Money(1, "USD"), "en", "$0.01"),
        (Money(4_987_500, "VND"), "en", "₫4,987,500"),
        (Money(100, "JPY"), "en", "¥100"),
        (Money(4_987_500, "VND"), "vi", "4.987.500 ₫"),
        (Money(2_550_000, "USD"), "vi", "25.500,00 US$"),
    ],
)
def test_format_follows_the_locale(amount: Money, locale: str, shown: str) -> None:
    assert _plain_spaces(amount.format(locale)) == shown


def test_format_defaults_to_english() -> None:
    assert Money(2_550_000, "USD").format() == "$25,500.00"


@pytest.mark.parametrize("locale", ["zz", "not a locale"])
def test_format_falls_back_to_english_for_an_unknown_locale(locale: str) -> None:
    assert Money(150, "USD").format(locale) == "$1.50"


def test_plain_text_shows_major_units_and_the_code() -> None:
    assert str(Money(150, "USD")) == "1.50 USD"
    assert str(Money(4_987_500, "VND")) == "4987500 VND"


@pytest.mark.parametrize(
    ("numerator", "denominator", "rounded"),
    [
        (1, 2, 1),
        (3, 2, 2),
        (5, 2, 3),
        (7, 2, 4),
        (6, 4, 2),
        (10, 4, 3),
        (-1, 2, -1),
        (-5, 2, -3),
        (1, 3, 0),
        (2, 3, 1),
        (0, 7, 0),
        (49, 100, 0),
        (50, 100, 1),
        (2_550_000 * 15_897_600, 31_536_000, 1_285_479),
    ],
)
def test_div_round_half_up_rounds_halves_away_from_zero(
    numerator: int, denominator: int, rounded: int
) -> None:
    assert div_round_half_up(numerator, denominator) == rounded


def test_div_round_half_up_agrees_with_decimal_round_half_up() -> None:
    for denominator in range(1, 13):
        for numerator in range(-60, 61):
            exact = Decimal(numerator) / Decimal(denominator)
            expected = int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
            assert div_round_half_up(numerator, denominator) == expected, (numerator, denominator)


def test_div_round_half_up_is_exact_beyond_float_precision() -> None:
    big = 10**30 + 1
    assert div_round_half_up(big * 2 + 1, 2) == big + 1
    assert div_round_half_up(big * 2 - 1, 2) == big


@pytest.mark.parametrize("denominator", [0, -1])
def test_div_round_half_up_refuses_a_denominator_that_is_not_positive(denominator: int) -> None:
    with pytest.raises(ZeroDivisionError):
        div_round_half_up(1, denominator)

"""Money as integer minor units plus an ISO-4217 code; never floats."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from babel.core import Locale, UnknownLocaleError
from babel.numbers import format_currency, get_currency_precision, list_currencies


class MoneyError(ValueError):
    """An amount or currency that cannot be represented exactly."""


def currency_exponent(currency: str) -> int:
    """Digits after the decimal point for a currency (USD 2, VND 0, JPY 0)."""
    code = normalize_currency(currency)
    return int(get_currency_precision(code))


def normalize_currency(currency: str) -> str:
    code = currency.strip().upper()
    if code not in list_currencies():
        raise MoneyError(f"unknown currency {currency!r} (expected an ISO-4217 code such as USD)")
    return code


def div_round_half_up(numerator: int, denominator: int) -> int:
    """Exact integer division rounded half up (away from zero for halves), without floats."""
    if denominator <= 0:
        raise ZeroDivisionError("denominator must be positive")
    sign = -1 if numerator < 0 else 1
    magnitude = (2 * abs(numerator) + denominator) // (2 * denominator)
    return sign * magnitude


@lru_cache(maxsize=4096)
def _formatted(minor: int, currency: str, locale: str) -> str:
    """Cached: Babel takes tens of microseconds per amount, and menus show the same prices."""
    try:
        Locale.parse(locale)
    except (UnknownLocaleError, ValueError):
        locale = "en"
    amount = Decimal(minor).scaleb(-currency_exponent(currency))
    return str(format_currency(amount, currency, locale=locale))


@dataclass(frozen=True, slots=True)
class Money:
    """An exact amount: `minor` units of `currency` (cents for USD, dong for VND)."""

    minor: int
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.minor, bool) or not isinstance(self.minor, int):
            raise MoneyError(f"minor units must be an integer, got {self.minor!r}")

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @classmethod
    def parse(cls, text: str | int, currency: str) -> Money:
        """Read a major-unit amount such as "25.00" exactly, refusing sub-minor precision."""
        if isinstance(text, bool) or not isinstance(text, str | int):
            raise MoneyError(
                f'{text!r} is not an amount: write it as text such as "25.00", not a float'
            )
        code = normalize_currency(currency)
        exponent = currency_exponent(code)
        try:
            value = Decimal(str(text).strip().replace(",", ""))
        except InvalidOperation as exc:
            raise MoneyError(f"{text!r} is not an amount") from exc
        if not value.is_finite():
            raise MoneyError(f"{text!r} is not an amount")
        sign, digits, exp = value.as_tuple()
        assert isinstance(exp, int)
        coefficient = int("".join(map(str, digits)))
        shift = exp + exponent
        if shift >= 0:
            minor = coefficient * 10**shift
        else:
            minor, rest = divmod(coefficient, 10**-shift)
            if rest:
                raise MoneyError(f"{text!r} has more than {exponent} decimal places for {code}")
        return cls(-minor if sign else minor, code)

    def _check(self, other: Money) -> None:
        if other.currency != self.currency:
            raise MoneyError(f"cannot mix {self.currency} and {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._check(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._check(other)
        return Money(self.minor - other.minor, self.currency)

    def __mul__(self, factor: int) -> Money:
        if isinstance(factor, bool) or not isinstance(factor, int):
            raise MoneyError("money multiplies only by whole numbers")
        return Money(self.minor * factor, self.currency)

    __rmul__ = __mul__

    def as_decimal(self) -> Decimal:
        """The major-unit value, exact (for display and provider APIs that want decimals)."""
        return Decimal(self.minor).scaleb(-currency_exponent(self.currency))

    def format(self, locale: str = "en") -> str:
        """Locale-aware display, e.g. "$25,500.00" in English or "4.987.500 ₫" in Vietnamese."""
        return _formatted(self.minor, self.currency, locale)

    def __str__(self) -> str:
        return f"{self.as_decimal()} {self.currency}"


_TYPED_AMOUNT = re.compile(
    r"(?P<whole>[0-9]{1,15}|[0-9]{1,3}(?:,[0-9]{3}){1,4})(?:\.(?P<part>[0-9]+))?"
)


def parse_typed_amount(text: str, currency: str) -> Money:
    """An amount a person typed in major units ("12.50", "250000", "1,000.00"): more than
    zero, ASCII digits only, and no more decimals than the currency has."""
    code = normalize_currency(currency)
    exponent = currency_exponent(code)
    match = _TYPED_AMOUNT.fullmatch(text.strip())
    if match is None:
        raise MoneyError(f"{text[:40]!r} is not an amount in {code} such as 12.50")
    part = match["part"] or ""
    if len(part) > exponent:
        raise MoneyError(f"{text[:40]!r} has more than {exponent} decimal places for {code}")
    minor = int(match["whole"].replace(",", "")) * 10**exponent
    minor += int(part.ljust(exponent, "0") or "0")
    if minor == 0:
        raise MoneyError(f"{text[:40]!r} is not more than zero")
    return Money(minor, code)

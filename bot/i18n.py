"""Translations (gettext catalogs kept as .po files) and locale-aware money and dates (Babel)."""

from __future__ import annotations

import gettext
import io
from datetime import datetime
from decimal import Decimal
from functools import cache, lru_cache
from importlib import resources
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.core import Locale
from babel.dates import format_date, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_percent

from core.money import Money

LANGUAGES = ("en", "vi")
DEFAULT_LANGUAGE = "en"
DOMAIN = "planbot"


def language_of(locale: str | None) -> str:
    """The supported language closest to a platform locale such as "vi-VN" or "en_GB"."""
    if not locale:
        return DEFAULT_LANGUAGE
    base = locale.replace("-", "_").split("_")[0].lower()
    return base if base in LANGUAGES else DEFAULT_LANGUAGE


def po_path(language: str) -> str:
    return f"{language}/LC_MESSAGES/{DOMAIN}.po"


@cache
def translations(language: str) -> gettext.NullTranslations:
    """Compile the language's .po catalog in memory, so the sources are the only artefact."""
    if language == DEFAULT_LANGUAGE:
        return gettext.NullTranslations()
    source = resources.files("bot.locale").joinpath(po_path(language))
    with source.open("rb") as handle:
        catalog = read_po(handle, locale=language, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


@cache
def _locale(language: str) -> Locale:
    """One parsed Babel locale per language, not one per update."""
    return Locale.parse(language)


@lru_cache(maxsize=1024)
def _percent(whole: int, language: str) -> str:
    """Cached like money: cycle menus show the same few discounts on every step."""
    return str(format_percent(Decimal(whole) / 100, locale=_locale(language)))


class Translator:
    """Messages, money and dates in one language and one time zone."""

    def __init__(self, language: str = DEFAULT_LANGUAGE, timezone: str = "UTC") -> None:
        self.language = language_of(language)
        self.timezone = timezone
        self._messages = translations(self.language)
        self._locale = _locale(self.language)
        self._zone = _zone(timezone)

    def __call__(self, message: str, **values: object) -> str:
        """Translate, then fill `{name}` placeholders."""
        text = self._messages.gettext(message)
        return text.format(**values) if values else text

    def plural(self, singular: str, plural: str, n: int, **values: object) -> str:
        return self._messages.ngettext(singular, plural, n).format(n=n, **values)

    def percent(self, whole: int) -> str:
        return _percent(whole, self.language)

    def money(self, amount: Money) -> str:
        return amount.format(self.language)

    def minor(self, amount: int, currency: str) -> str:
        return self.money(Money(amount, currency))

    def when(self, at: datetime) -> str:
        """A date and a 24-hour time in the workspace's zone, e.g. "Jan 15, 2027 10:00 UTC"."""
        local = at.astimezone(self._zone)
        day = format_date(local, "medium", locale=self._locale)
        time = format_time(local, "HH:mm", locale=self._locale)
        return f"{day} {time} {local.tzname() or self.timezone}"

    def day(self, at: datetime) -> str:
        return str(format_date(at.astimezone(self._zone), "medium", locale=self._locale))


def N_(message: str) -> str:
    """Mark a message for extraction where it is translated later."""
    return message

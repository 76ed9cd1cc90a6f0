"""Translations: every message of adapters/, bot/ and core/ is translated, placeholders
survive, and messages, money, dates and plurals come out in the user's language."""

from __future__ import annotations

import re
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any, TextIO

import pytest
from babel.messages.catalog import Catalog as MessageCatalog
from babel.messages.catalog import Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_keywords, parse_mapping_cfg
from babel.messages.pofile import read_po

from bot.i18n import DOMAIN, LANGUAGES, Translator, language_of, po_path
from bot.render import accounts, cycle_label, months, status_label, terms_text
from core.catalog import Catalog
from core.lifecycle import Status
from core.money import Money
from core.pricing import Terms

ROOT = Path(__file__).resolve().parents[2]
LOCALE_DIR = ROOT / "bot" / "locale"
NBSP = "\xa0"

MappingParser = Callable[[TextIO, str], tuple[list[tuple[str, str]], dict[str, dict[str, Any]]]]


@dataclass
class Source:
    """One message as the sources use it, and where."""

    singular: str
    plural: str | None
    context: str | None
    places: list[str] = field(default_factory=list)

    def describe(self) -> str:
        text = repr(self.singular)
        if self.plural is not None:
            text += f" / {self.plural!r}"
        return f"{text} (used at {', '.join(self.places[:3])})"


def _make_keywords() -> list[str]:
    """The `-k` keyword specs of the Makefile's `messages` target."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8").replace("\\\n", " ")
    match = re.search(r"^MESSAGE_KEYWORDS\s*:?=(.*)$", makefile, re.MULTILINE)
    assert match is not None, "the Makefile no longer defines MESSAGE_KEYWORDS"
    specs = re.findall(r"-k\s+(\S+)", match.group(1))
    assert specs, "MESSAGE_KEYWORDS lists no keywords"
    return specs


@cache
def extracted() -> dict[tuple[str, str | None], Source]:
    """A fresh extraction with the mapping of babel.cfg and the keywords of `make messages`."""
    parse_mapping: MappingParser = parse_mapping_cfg
    with (ROOT / "babel.cfg").open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping(handle, "babel.cfg")
    keywords = {**DEFAULT_KEYWORDS, **parse_keywords(_make_keywords())}
    found: dict[tuple[str, str | None], Source] = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords
    ):
        if isinstance(message, tuple):
            singular, plural = message[0], message[1] if len(message) > 1 else None
        else:
            singular, plural = message, None
        assert singular, f"{filename}:{lineno} marks an empty message"
        source = found.setdefault((singular, context), Source(singular, plural, context))
        source.places.append(f"{filename}:{lineno}")
    return found


@cache
def load(language: str) -> MessageCatalog:
    with (LOCALE_DIR / po_path(language)).open("rb") as handle:
        return read_po(handle, locale=language, domain=DOMAIN)


def ids_of(message: Message) -> tuple[str, ...]:
    """The msgid, or the msgid and msgid_plural of a plural message."""
    return (message.id,) if isinstance(message.id, str) else tuple(message.id)


def translations_of(message: Message) -> tuple[str, ...]:
    if isinstance(message.string, str):
        return (message.string,)
    return tuple(message.string or ())


def placeholders(text: str) -> set[str]:
    """The `{...}` fields str.format fills; a stray brace raises ValueError."""
    return {
        "{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
        for _literal, name, spec, conversion in string.Formatter().parse(text)
        if name is not None
    }


def messages(catalog: MessageCatalog) -> list[Message]:
    return [message for message in catalog if message.id]


def test_the_sources_have_messages_to_translate() -> None:
    found = extracted()
    assert len(found) > 100
    assert ("Active", None) in found
    assert found[("{n} account", None)].plural == "{n} accounts"


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_of_the_sources_is_translated(language: str) -> None:
    catalog = load(language)
    problems: list[str] = []
    for source in extracted().values():
        entry = catalog.get(source.singular, context=source.context)
        if entry is None:
            problems.append(f"not in the catalog: {source.describe()}")
            continue
        if entry.fuzzy:
            problems.append(f"fuzzy: {source.describe()}")
        if (source.plural is not None) != entry.pluralizable:
            problems.append(f"singular/plural differs from the sources: {source.describe()}")
            continue
        texts = translations_of(entry)
        expected = catalog.num_plurals if entry.pluralizable else 1
        if len(texts) < expected or not all(texts[:expected]):
            problems.append(f"untranslated: {source.describe()}")
    assert not problems, (
        f"{len(problems)} message(s) lack a {language} translation; run `make messages` and "
        "translate them:\n" + "\n".join(problems)
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_catalog_is_not_marked_fuzzy(language: str) -> None:
    assert not load(language).fuzzy


def test_vietnamese_has_one_plural_form() -> None:
    catalog = load("vi")
    assert catalog.num_plurals == 1
    assert catalog.plural_expr == "0"


def test_the_english_catalog_repeats_the_messages_of_the_sources() -> None:
    wrong: list[str] = []
    for message in messages(load("en")):
        texts = translations_of(message)
        if any(texts) and texts != ids_of(message):
            wrong.append(repr(message.id))
    assert not wrong, (
        "English is shown straight from the sources, so the English catalog repeats each "
        "msgid; change the wording in the sources instead:\n" + "\n".join(wrong)
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_exactly_the_placeholders(language: str) -> None:
    problems: list[str] = []
    for message in messages(load(language)):
        ids = ids_of(message)
        expected: set[str] = set()
        for text in ids:
            expected |= placeholders(text)
        for translation in translations_of(message):
            if not translation:
                continue
            try:
                got = placeholders(translation)
            except ValueError as exc:
                problems.append(f"{ids[0]!r}: {translation!r} is not a format string ({exc})")
                continue
            if got != expected:
                problems.append(
                    f"{ids[0]!r}: {translation!r} has {sorted(got)}, expected {sorted(expected)}"
                )
    assert not problems, "\n".join(problems)


def test_vietnamese_messages_come_out_in_vietnamese() -> None:
    t = Translator("vi")
    assert t.language == "vi"
    assert t("Cancel") == "Hủy"
    assert t("Back") == "Quay lại"
    assert t("My subscription") == "Thuê bao của tôi"
    assert t("Credit balance: {amount}", amount="5 ₫") == "Số dư tín dụng: 5 ₫"
    assert (
        t("Unknown command {name}. Send {help} for the list.", name="/foo", help="/help")
        == "Không nhận ra lệnh /foo. Gửi /help để xem danh sách lệnh."
    )
    assert (
        t("From now on I will answer in English.") == "Từ bây giờ tôi sẽ trả lời bằng tiếng Việt."
    )


def test_the_three_statuses_have_vietnamese_labels() -> None:
    t = Translator("vi")
    assert status_label(t, Status.ACTIVE) == "Đang hoạt động"
    assert status_label(t, Status.TRY) == "Dùng thử"
    assert status_label(t, Status.INACTIVE) == "Ngừng hoạt động"
    english = Translator("en")
    assert [status_label(english, s) for s in Status] == ["Active", "Try", "Inactive"]


def test_refusals_from_the_core_are_translated() -> None:
    t = Translator("vi")
    assert t("Only support staff can do that.") == (
        "Chỉ nhân viên hỗ trợ mới có thể thực hiện thao tác này."
    )
    assert t("This workspace already holds {package}.", package="cc1") == (
        "Không gian làm việc này đã có gói cc1."
    )


def test_composed_texts_read_in_vietnamese(catalog: Catalog) -> None:
    t = Translator("vi")
    assert terms_text(t, catalog, Terms("cc1", 12, 5)) == "Contact Center 1, 5 tài khoản, 12 tháng"
    assert cycle_label(t, catalog.cycle(12)) == "12 tháng (-15%)"
    english = Translator("en")
    assert (
        terms_text(english, catalog, Terms("cc1", 1, 1)) == "Contact Center 1, 1 account, 1 month"
    )


@pytest.mark.parametrize("locale", ["vi", "vi-VN", "vi_VN", "VI", "vi-vn"])
def test_vietnamese_platform_locales_pick_vietnamese(locale: str) -> None:
    assert language_of(locale) == "vi"
    t = Translator(locale)
    assert t.language == "vi"
    assert t("Cancel") == "Hủy"


@pytest.mark.parametrize("locale", ["en", "en-GB", "en_US", "fr", "fr-FR", "zh_Hant_TW", "", "x"])
def test_other_locales_fall_back_to_english(locale: str) -> None:
    t = Translator(locale)
    assert t.language == "en"
    assert t("Cancel") == "Cancel"
    assert t("Credit balance: {amount}", amount="$5.00") == "Credit balance: $5.00"


def test_no_locale_means_english() -> None:
    assert language_of(None) == "en"
    assert language_of("") == "en"


def test_money_in_english() -> None:
    t = Translator("en")
    assert t.money(Money(2550000, "USD")) == "$25,500.00"
    assert t.minor(-150, "USD") == "-$1.50"
    assert t.money(Money(250000, "VND")) == "₫250,000"


def test_money_in_vietnamese() -> None:
    t = Translator("vi")
    usd = t.money(Money(2550000, "USD"))
    assert usd == f"25.500,00{NBSP}US$"
    assert "US$" in usd
    assert usd.split(NBSP)[0].endswith(",00")
    assert t.minor(-150, "USD") == f"-1,50{NBSP}US$"
    assert t.money(Money(250000, "VND")) == f"250.000{NBSP}₫"
    assert t.minor(4987500, "VND") == f"4.987.500{NBSP}₫"


def test_dates_in_vietnamese_use_vietnamese_month_words() -> None:
    at = datetime(2026, 3, 5, 9, 30, tzinfo=UTC)
    t = Translator("vi", "Asia/Ho_Chi_Minh")
    assert t.day(at) == "5 thg 3, 2026"
    assert t.when(at) == "5 thg 3, 2026 16:30 +07"
    assert "thg 12" in t.day(datetime(2026, 12, 1, 12, tzinfo=UTC))


def test_dates_in_english_and_time_zones() -> None:
    at = datetime(2026, 3, 5, 9, 30, tzinfo=UTC)
    assert Translator("en").day(at) == "Mar 5, 2026"
    assert Translator("en", "Asia/Ho_Chi_Minh").when(at) == "Mar 5, 2026 16:30 +07"
    late = datetime(2026, 3, 5, 20, 0, tzinfo=UTC)
    assert Translator("vi", "Asia/Ho_Chi_Minh").day(late) == "6 thg 3, 2026"
    assert Translator("vi", "Nowhere/Unknown").day(late) == "5 thg 3, 2026"


@pytest.mark.parametrize(
    ("n", "expected"), [(0, "0 accounts"), (1, "1 account"), (2, "2 accounts"), (21, "21 accounts")]
)
def test_english_plurals(n: int, expected: str) -> None:
    t = Translator("en")
    assert t.plural("{n} account", "{n} accounts", n) == expected
    assert accounts(t, n) == expected


@pytest.mark.parametrize("n", [0, 1, 2, 5, 21])
def test_vietnamese_has_a_single_plural_form(n: int) -> None:
    t = Translator("vi")
    assert t.plural("{n} account", "{n} accounts", n) == f"{n} tài khoản"
    assert accounts(t, n) == f"{n} tài khoản"
    assert months(t, n) == f"{n} tháng"


def test_months_in_english() -> None:
    t = Translator("en")
    assert months(t, 1) == "1 month"
    assert months(t, 12) == "12 months"

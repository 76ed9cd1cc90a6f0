"""The catalog: the default and VND catalogs as shipped, and one-line errors for bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.catalog import (
    Catalog,
    CatalogError,
    Cycle,
    Trial,
    builtin_catalog_path,
    load_catalog,
    parse_catalog,
)
from core.money import Money

EXPECTED_CYCLES = [(1, 0), (3, 5), (6, 10), (12, 15), (24, 20)]

VALID = """\
currency = "USD"

[trial]
days = 14
max_accounts = 10

[[cycles]]
months = 1
discount_percent = 0

[[cycles]]
months = 12
discount_percent = 15

[packages.cc1]
name = "Contact Center 1"
rank = 1
monthly_price = "15.00"
min_quantity = 1
max_quantity = 1000

[packages.cc2]
name = "Contact Center 2"
rank = 2
monthly_price = "25.00"
"""


def variant(old: str, new: str) -> str:
    """The valid catalog with one piece of text replaced (which must be there)."""
    assert old in VALID, old
    return VALID.replace(old, new, 1)


def write(tmp_path: Path, text: str, name: str = "catalog.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load_error(path: Path) -> str:
    """Load a catalog that must be refused; return its one-line message naming the file."""
    with pytest.raises(CatalogError) as info:
        load_catalog(path)
    message = str(info.value)
    assert "\n" not in message
    assert "\r" not in message
    assert str(path) in message
    return message


# --- the default catalog ---------------------------------------------------------------------


def test_default_catalog_is_used_when_no_path_is_given() -> None:
    for path in (None, ""):
        catalog = load_catalog(path)
        assert catalog.currency == "USD"
        assert catalog.source == "(built-in) default.toml"


def test_default_catalog_sells_three_packages_ranked_by_price(catalog: Catalog) -> None:
    rows = [(p.code, p.name, p.rank, p.monthly_price) for p in catalog.packages]
    assert rows == [
        ("cc1", "Contact Center 1", 1, Money(1_500, "USD")),
        ("cc2", "Contact Center 2", 2, Money(2_500, "USD")),
        ("cc3", "Contact Center 3", 3, Money(4_000, "USD")),
    ]


def test_default_catalog_has_five_cycles_with_growing_discounts(catalog: Catalog) -> None:
    assert [(c.months, c.discount_percent) for c in catalog.cycles] == EXPECTED_CYCLES


def test_default_catalog_sells_1_to_1000_accounts_and_a_14_day_trial_of_10(
    catalog: Catalog,
) -> None:
    for package in catalog.packages:
        assert (package.min_quantity, package.max_quantity) == (1, 1000)
        assert package.trial == Trial(days=14, max_accounts=10)


def test_default_catalog_has_3_grace_days_and_30_minute_quotes(catalog: Catalog) -> None:
    assert catalog.grace_days == 3
    assert catalog.quote_validity_minutes == 30


def test_default_catalog_file_ships_beside_the_vnd_example() -> None:
    from_file = load_catalog(builtin_catalog_path("default.toml"))
    built_in = load_catalog()
    assert from_file.packages == built_in.packages
    assert from_file.cycles == built_in.cycles


def test_catalog_looks_up_packages_and_cycles(catalog: Catalog) -> None:
    assert catalog.package("cc2").rank == 2
    assert catalog.cycle(12) == Cycle(12, 15)
    assert catalog.has_package("cc3")
    assert not catalog.has_package("cc4")
    assert catalog.has_cycle(24)
    assert not catalog.has_cycle(2)


def test_unknown_package_lookup_lists_the_known_ones(catalog: Catalog) -> None:
    with pytest.raises(KeyError, match="cc1, cc2, cc3"):
        catalog.package("cc9")


def test_unknown_cycle_lookup_lists_the_known_ones(catalog: Catalog) -> None:
    with pytest.raises(KeyError, match="1, 3, 6, 12, 24"):
        catalog.cycle(5)


# --- the VND example ------------------------------------------------------------------------


def test_vnd_catalog_prices_in_whole_dong() -> None:
    vnd = load_catalog(builtin_catalog_path("vnd.toml"))
    assert vnd.currency == "VND"
    assert [(p.code, p.rank, p.monthly_price) for p in vnd.packages] == [
        ("cc1", 1, Money(150_000, "VND")),
        ("cc2", 2, Money(250_000, "VND")),
        ("cc3", 3, Money(400_000, "VND")),
    ]


def test_vnd_catalog_has_the_same_cycles_and_limits_as_the_default() -> None:
    vnd = load_catalog(builtin_catalog_path("vnd.toml"))
    assert [(c.months, c.discount_percent) for c in vnd.cycles] == EXPECTED_CYCLES
    for package in vnd.packages:
        assert (package.min_quantity, package.max_quantity) == (1, 1000)
        assert package.trial == Trial(days=14, max_accounts=10)
    assert vnd.source == str(builtin_catalog_path("vnd.toml"))


# --- valid variations -----------------------------------------------------------------------


def test_a_valid_file_loads_and_names_its_source(tmp_path: Path) -> None:
    path = write(tmp_path, VALID)
    catalog = load_catalog(path)
    assert catalog.source == str(path)
    assert [p.code for p in catalog.packages] == ["cc1", "cc2"]


def test_settings_left_out_take_their_defaults() -> None:
    catalog = parse_catalog(VALID, "test")
    cc2 = catalog.package("cc2")
    assert (cc2.min_quantity, cc2.max_quantity) == (1, 1000)
    assert catalog.grace_days == 3
    assert catalog.quote_validity_minutes == 30


def test_packages_and_cycles_are_ordered_by_rank_and_months() -> None:
    text = variant("rank = 1", "rank = 5")
    text = text.replace("months = 1\n", "months = 24\n", 1)
    catalog = parse_catalog(text, "test")
    assert [p.code for p in catalog.packages] == ["cc2", "cc1"]
    assert [c.months for c in catalog.cycles] == [12, 24]


def test_a_package_may_have_its_own_trial() -> None:
    text = VALID + "\n[packages.cc2.trial]\ndays = 7\nmax_accounts = 3\n"
    catalog = parse_catalog(text, "test")
    assert catalog.package("cc1").trial == Trial(14, 10)
    assert catalog.package("cc2").trial == Trial(7, 3)


def test_a_lower_case_currency_code_is_normalised() -> None:
    catalog = parse_catalog(variant('currency = "USD"', 'currency = "usd"'), "test")
    assert catalog.currency == "USD"
    assert catalog.package("cc1").monthly_price == Money(1_500, "USD")


def test_a_whole_number_price_is_read_in_major_units() -> None:
    catalog = parse_catalog(variant('monthly_price = "15.00"', "monthly_price = 15"), "test")
    assert catalog.package("cc1").monthly_price == Money(1_500, "USD")


# --- malformed catalogs ---------------------------------------------------------------------

MALFORMED: list[tuple[str, str, str, str]] = [
    ("syntax error", "currency = \n", "(syntax)", "line 1"),
    (
        "unknown top-level key",
        "colour = 'red'\n" + VALID,
        "colour",
        "Extra inputs are not permitted",
    ),
    (
        "unknown package key",
        variant("rank = 1\n", "rank = 1\ncolour = 'red'\n"),
        "packages.cc1.colour",
        "Extra inputs are not permitted",
    ),
    (
        "unknown trial key",
        variant("max_accounts = 10\n", "max_accounts = 10\nweeks = 2\n"),
        "trial.weeks",
        "Extra inputs are not permitted",
    ),
    ("missing currency", variant('currency = "USD"\n', ""), "currency", "Field required"),
    (
        "float price",
        variant('monthly_price = "15.00"', "monthly_price = 15.0"),
        "packages.cc1.monthly_price",
        "not a float",
    ),
    (
        "negative price",
        variant('monthly_price = "15.00"', 'monthly_price = "-15.00"'),
        "packages.cc1.monthly_price",
        "must be more than zero",
    ),
    (
        "negative whole-number price",
        variant('monthly_price = "15.00"', "monthly_price = -15"),
        "packages.cc1.monthly_price",
        "must be more than zero",
    ),
    (
        "zero price",
        variant('monthly_price = "15.00"', 'monthly_price = "0.00"'),
        "packages.cc1.monthly_price",
        "must be more than zero",
    ),
    (
        "price with sub-cent digits",
        variant('monthly_price = "15.00"', 'monthly_price = "15.001"'),
        "packages.cc1.monthly_price",
        "more than 2 decimal places for USD",
    ),
    (
        "price that is not an amount",
        variant('monthly_price = "15.00"', 'monthly_price = "fifteen"'),
        "packages.cc1.monthly_price",
        "is not an amount",
    ),
    (
        "duplicate ranks",
        variant("rank = 2", "rank = 1"),
        "packages",
        "each package needs its own rank",
    ),
    (
        "duplicate cycle months",
        variant("months = 12", "months = 1"),
        "cycles",
        "each cycle's months must be different",
    ),
    (
        "min quantity above max",
        variant("min_quantity = 1\nmax_quantity = 1000", "min_quantity = 50\nmax_quantity = 10"),
        "packages.cc1.min_quantity",
        "must not exceed max_quantity",
    ),
    (
        "zero max quantity",
        variant("max_quantity = 1000", "max_quantity = 0"),
        "packages.cc1.max_quantity",
        "greater than 0",
    ),
    (
        "unknown currency",
        variant('currency = "USD"', 'currency = "XYZ"'),
        "currency",
        "unknown currency 'XYZ'",
    ),
    (
        "discount of 100 percent",
        variant("discount_percent = 15", "discount_percent = 100"),
        "cycles[1].discount_percent",
        "less than 100",
    ),
    (
        "cycle months as text",
        variant("months = 12", 'months = "12"'),
        "cycles[1].months",
        "valid integer",
    ),
    (
        "no packages",
        VALID.split("[packages.cc1]")[0],
        "packages",
        "Field required",
    ),
]


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [pytest.param(text, key, problem, id=name) for name, text, key, problem in MALFORMED],
)
def test_malformed_catalog_is_refused_in_one_line_naming_file_key_and_problem(
    tmp_path: Path, text: str, key: str, problem: str
) -> None:
    message = load_error(write(tmp_path, text))
    assert f": {key}: " in message
    assert problem in message


def test_parse_errors_name_the_given_source() -> None:
    with pytest.raises(CatalogError) as info:
        parse_catalog(variant('currency = "USD"', 'currency = "XYZ"'), "my-catalog")
    assert str(info.value).startswith("catalog my-catalog: currency: ")


def test_a_missing_file_is_refused_in_one_line(tmp_path: Path) -> None:
    message = load_error(tmp_path / "nowhere.toml")
    assert "cannot be read" in message
    assert "No such file" in message


def test_a_directory_is_refused_in_one_line(tmp_path: Path) -> None:
    message = load_error(tmp_path)
    assert "cannot be read" in message


def test_a_file_that_is_not_utf8_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(VALID.replace("Contact Center 1", "Centre d'appel \xe9").encode("latin-1"))
    message = load_error(path)
    assert "UTF-8" in message

"""The catalog of packages and cycles, loaded from TOML and validated before start-up."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from core.money import Money, MoneyError, normalize_currency

DEFAULT_CATALOG = "default.toml"


class CatalogError(ValueError):
    """A catalog that cannot be used; the message names the file, the key and the problem."""


@dataclass(frozen=True, slots=True)
class Cycle:
    months: int
    discount_percent: int


@dataclass(frozen=True, slots=True)
class Trial:
    days: int
    max_accounts: int


@dataclass(frozen=True, slots=True)
class Package:
    code: str
    name: str
    rank: int
    monthly_price: Money
    min_quantity: int
    max_quantity: int
    trial: Trial


@dataclass(frozen=True, slots=True)
class Catalog:
    """What is on sale, in one currency, and the commercial settings that go with it."""

    currency: str
    packages: tuple[Package, ...]
    cycles: tuple[Cycle, ...]
    grace_days: int
    quote_validity_minutes: int
    source: str

    def package(self, code: str) -> Package:
        for package in self.packages:
            if package.code == code:
                return package
        known = ", ".join(p.code for p in self.packages)
        raise KeyError(f"unknown package {code!r} (known: {known})")

    def cycle(self, months: int) -> Cycle:
        for cycle in self.cycles:
            if cycle.months == months:
                return cycle
        known = ", ".join(str(c.months) for c in self.cycles)
        raise KeyError(f"unknown cycle {months!r} months (known: {known})")

    def has_package(self, code: str) -> bool:
        return any(p.code == code for p in self.packages)

    def has_cycle(self, months: int) -> bool:
        return any(c.months == months for c in self.cycles)


Positive = Annotated[int, Field(strict=True, gt=0)]
Percent = Annotated[int, Field(strict=True, ge=0, lt=100)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _TrialSpec(_Strict):
    days: Positive = 14
    max_accounts: Positive = 10


class _CycleSpec(_Strict):
    months: Positive
    discount_percent: Percent


class _PackageSpec(_Strict):
    name: Annotated[str, Field(min_length=1)]
    rank: Positive
    monthly_price: str | int
    min_quantity: Positive = 1
    max_quantity: Positive = 1000
    trial: _TrialSpec | None = None

    @field_validator("monthly_price", mode="before")
    @classmethod
    def _no_floats(cls, value: Any) -> Any:
        if isinstance(value, float):
            raise ValueError('write the price as a string such as "25.00", not a float')
        return value


class _CatalogSpec(_Strict):
    currency: Annotated[str, Field(min_length=3, max_length=3)]
    grace_days: Annotated[int, Field(strict=True, ge=0)] = 3
    quote_validity_minutes: Positive = 30
    trial: _TrialSpec = _TrialSpec()
    cycles: Annotated[list[_CycleSpec], Field(min_length=1)]
    packages: Annotated[dict[str, _PackageSpec], Field(min_length=1)]


_UNION_VARIANTS = {"str", "int", "function-before[_no_floats(), union[str,int]]"}


def _key(location: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for item in location:
        if item in _UNION_VARIANTS:
            continue
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(("." if parts else "") + item)
    return "".join(parts) or "(top level)"


def _fail(source: str, key: str, problem: str) -> CatalogError:
    return CatalogError(f"catalog {source}: {key}: {problem}")


def _build(spec: _CatalogSpec, source: str) -> Catalog:
    try:
        currency = normalize_currency(spec.currency)
    except MoneyError as exc:
        raise _fail(source, "currency", str(exc)) from exc
    months = [c.months for c in spec.cycles]
    if len(set(months)) != len(months):
        raise _fail(source, "cycles", "each cycle's months must be different")
    packages: list[Package] = []
    for code, p in spec.packages.items():
        key = f"packages.{code}"
        try:
            price = Money.parse(p.monthly_price, currency)
        except MoneyError as exc:
            raise _fail(source, f"{key}.monthly_price", str(exc)) from exc
        if price.minor <= 0:
            raise _fail(source, f"{key}.monthly_price", "must be more than zero")
        if p.min_quantity > p.max_quantity:
            raise _fail(source, f"{key}.min_quantity", "must not exceed max_quantity")
        trial = p.trial or spec.trial
        packages.append(
            Package(
                code,
                p.name,
                p.rank,
                price,
                p.min_quantity,
                p.max_quantity,
                Trial(trial.days, trial.max_accounts),
            )
        )
    ranks = [p.rank for p in packages]
    if len(set(ranks)) != len(ranks):
        raise _fail(source, "packages", "each package needs its own rank")
    return Catalog(
        currency=currency,
        packages=tuple(sorted(packages, key=lambda p: p.rank)),
        cycles=tuple(
            Cycle(c.months, c.discount_percent) for c in sorted(spec.cycles, key=lambda c: c.months)
        ),
        grace_days=spec.grace_days,
        quote_validity_minutes=spec.quote_validity_minutes,
        source=source,
    )


def parse_catalog(text: str, source: str) -> Catalog:
    """Validate catalog TOML text; `source` names it in errors."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _fail(source, "(syntax)", str(exc)) from exc
    try:
        spec = _CatalogSpec.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise _fail(source, _key(tuple(first["loc"])), first["msg"]) from exc
    return _build(spec, source)


def load_catalog(path: str | Path | None = None) -> Catalog:
    """Load a catalog file, or the default one that ships inside the package."""
    if path is None or str(path) == "":
        text = resources.files("core.catalogs").joinpath(DEFAULT_CATALOG).read_text("utf-8")
        return parse_catalog(text, f"(built-in) {DEFAULT_CATALOG}")
    file = Path(path)
    try:
        text = file.read_text("utf-8")
    except OSError as exc:
        raise CatalogError(f"catalog {file}: (file): cannot be read: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise CatalogError(
            f"catalog {file}: (encoding): not UTF-8 text (byte {exc.start})"
        ) from exc
    return parse_catalog(text, str(file))


def builtin_catalog_path(name: str) -> Path:
    """Path of a catalog shipped with the package (for examples such as vnd.toml)."""
    return Path(str(resources.files("core.catalogs").joinpath(name)))

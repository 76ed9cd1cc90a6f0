"""Staff changes' typed values as JSON and back: requests, previews and results are kept on
the staff action's row and with the conversation, and must come back exactly as they were."""

from __future__ import annotations

import types
from dataclasses import fields, is_dataclass
from datetime import datetime
from enum import Enum
from functools import cache
from typing import Any, TypeVar, Union, cast, get_args, get_origin, get_type_hints

from core.clock import as_utc
from core.errors import InvalidRequest
from core.money import Money

T = TypeVar("T")
TYPE = "type"


def to_data(value: object) -> Any:
    """A JSON-able picture of a typed value (dataclasses say their type, for unions)."""
    if value is None or (isinstance(value, bool | int | str) and not isinstance(value, Enum)):
        return value
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Money):
        return {"minor": value.minor, "currency": value.currency}
    if isinstance(value, datetime):
        return as_utc(value).isoformat()
    if isinstance(value, tuple):
        return [to_data(item) for item in value]
    if is_dataclass(value) and not isinstance(value, type):
        data = {f.name: to_data(getattr(value, f.name)) for f in fields(value)}
        return {TYPE: type(value).__name__, **data}
    raise TypeError(f"{type(value).__name__} is not a staff change value")


def from_data(kind: type[T] | Any, data: Any) -> T:
    """The typed value `to_data` pictured; anything else is refused as a broken record."""
    try:
        return cast(T, _read(kind, data))
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidRequest("That staff change record is not readable.") from exc


def _read(kind: Any, data: Any) -> Any:
    origin = get_origin(kind)
    if origin in (Union, types.UnionType):
        return _read_union(get_args(kind), data)
    if origin is tuple:
        item = get_args(kind)[0]
        return tuple(_read(item, value) for value in data)
    if kind is Money:
        return Money(int(data["minor"]), str(data["currency"]))
    if kind is datetime:
        return as_utc(datetime.fromisoformat(str(data)))
    if isinstance(kind, type) and issubclass(kind, Enum):
        return kind(data)
    if kind in (int, str, bool):
        if not isinstance(data, kind) or (kind is int and isinstance(data, bool)):
            raise TypeError(f"expected {kind.__name__}, got {type(data).__name__}")
        return data
    if isinstance(kind, type) and is_dataclass(kind):
        hints = _hints(kind)
        return kind(**{f.name: _read(hints[f.name], data[f.name]) for f in fields(kind)})
    raise TypeError(f"cannot read {kind!r}")


@cache
def _hints(kind: type) -> dict[str, Any]:
    """A dataclass's field types, resolved once (resolving them is slow)."""
    return get_type_hints(kind)


def _read_union(options: tuple[Any, ...], data: Any) -> Any:
    if data is None and type(None) in options:
        return None
    kinds = [option for option in options if option is not type(None)]
    if len(kinds) == 1:
        return _read(kinds[0], data)
    named = {kind.__name__: kind for kind in kinds if isinstance(kind, type)}
    return _read(named[data[TYPE]], data)

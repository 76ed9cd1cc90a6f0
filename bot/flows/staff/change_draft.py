"""What a staff change has been told so far (workspace, subscription, order, payment, the
typed value, the refund mode), kept with the conversation, and how a verb is declared."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from typing import Any

from core.access import StaffVerb
from core.services.staff.requests import RefundMode, StaffRequest

_VALUE_LIKE = re.compile(r"[+-]?[0-9][0-9.,]*|payment:\S+", re.IGNORECASE)


class Target(StrEnum):
    """What a verb is about: a subscription, an open order, a payment, or the workspace."""

    SUBSCRIPTION = "subscription"
    LINK = "link"
    PAYMENT = "payment"
    WORKSPACE = "workspace"


class Value(StrEnum):
    """The typed argument a verb needs after its target."""

    DAYS = "days"
    ACCOUNTS = "accounts"
    AMOUNT = "amount"
    REFUND_AMOUNT = "refund_amount"
    """Optional: none means all that is left."""
    MODE = "mode"


@dataclass(frozen=True, slots=True)
class Draft:
    workspace_id: int | None = None
    workspace_name: str | None = None
    subscription_id: int | None = None
    order: str | None = None
    payment_id: int | None = None
    value: str | None = None
    all_of_it: bool = False
    """A refund of all that is left (no amount typed)."""

    @classmethod
    def of(cls, data: dict[str, Any]) -> Draft:
        stored = data.get("draft")
        return cls(**stored) if isinstance(stored, dict) else cls()

    def kept(self, data: dict[str, Any], **changes: Any) -> Draft:
        """This draft with `changes`, stored in the conversation's data."""
        draft = replace(self, **changes)
        data["draft"] = asdict(draft)
        return draft


Build = Callable[[Draft, str], StaffRequest]
"""The typed request a complete draft makes (`str`: the catalog currency)."""


@dataclass(frozen=True, slots=True)
class ChangeSpec:
    verb: StaffVerb
    label: str
    target: Target
    value: Value | None
    build: Build

    def step(self, name: str) -> str:
        return f"{self.verb.value}_{name}"


def looks_like(value: Value | None, word: str) -> bool:
    """Whether the last typed word is the verb's value rather than part of a workspace name."""
    if value is None:
        return False
    if value is Value.MODE:
        return word.lower() in {mode.value for mode in RefundMode}
    return _VALUE_LIKE.fullmatch(word) is not None


def split_arguments(spec: ChangeSpec, typed: str) -> tuple[str, str]:
    """`<ws> [value]` as typed after the verb: (workspace text, value text)."""
    words = typed.split()
    if len(words) >= 2 and looks_like(spec.value, words[-1]):
        return " ".join(words[:-1]), words[-1]
    return " ".join(words), ""

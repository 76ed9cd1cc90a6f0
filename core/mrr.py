"""What a subscription's MRR depends on, read from an audit snapshot (`lifecycle.snapshot`):
the package and cycle it pays while Active, and its accounts. The audit trail keeps these
beside each snapshot, so the stats price them in SQL without reading the snapshots' JSON."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.states import SubscriptionState


@dataclass(frozen=True, slots=True)
class SnapshotTerms:
    active_terms: str | None
    """`terms_key` of the package and cycle while Active; None when Try or Inactive."""
    accounts: int


def terms_key(package: str, cycle_months: int) -> str:
    """A package and a cycle as one value ("cc2/12"), the key the stats price."""
    return f"{package}/{cycle_months}"


def snapshot_terms(snapshot: Mapping[str, Any] | None) -> SnapshotTerms | None:
    """The MRR terms of a subscription snapshot; None for anything else (a refund's figures,
    a member's role)."""
    if not snapshot or not {"state", "package", "cycle_months", "quantity"} <= snapshot.keys():
        return None
    active = snapshot["state"] == SubscriptionState.ACTIVE
    key = terms_key(str(snapshot["package"]), int(snapshot["cycle_months"])) if active else None
    return SnapshotTerms(key, int(snapshot["quantity"]))

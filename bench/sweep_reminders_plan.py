"""Subscriptions whose reminder is due, for the sweep benchmark (DESIGN 11: the sweep over
100,000 subscriptions in under 30 s, the reminders included).

Renewals a week from their period end (the 30-day reminder of the long cycles passed too, so
each collapses into one), trials a day from their end (whose chats are their billing admins'),
and renewals a day into grace; workspaces in three zones. Each subscription must get exactly
one reminder row and a `remind_at` after the sweep's instant.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from bench.sweep_plan import CYCLES, NOW, PACKAGES, Plan, order_row, owner_row
from core.catalog import load_catalog
from core.clock import format_iso
from core.periods import add_months
from core.pricing import price_per_account

ZONES = ("UTC", "Asia/Ho_Chi_Minh", "Europe/Berlin")
MIX = ("renewal",) * 5 + ("trial",) * 3 + ("grace",) * 2
KINDS = {"renewal": "renewal.reminder", "trial": "trial.reminder", "grace": "grace.reminder"}


def _workspace(w: int) -> dict[str, Any]:
    return {
        "id": w,
        "name": f"Bench {w}",
        "timezone": ZONES[w % len(ZONES)],
        "currency": "USD",
        "credit_balance": 0,
        "created_at": NOW - timedelta(days=400),
    }


def reminder_plan(count: int) -> Plan:
    """The rows, with one owner per workspace for the trials' reminders to reach."""
    catalog = load_catalog()
    workspaces: list[dict[str, Any]] = []
    members: list[dict[str, Any]] = []
    subs: list[dict[str, Any]] = []
    orders: list[dict[str, Any]] = []
    cases: Counter[str] = Counter()
    for i in range(count):
        w, package = i // len(PACKAGES) + 1, PACKAGES[i % len(PACKAGES)]
        if i % len(PACKAGES) == 0:
            workspaces.append(_workspace(w))
            members.append(owner_row(w))
        case = MIX[(i * 7) % len(MIX)]
        cycle = CYCLES[i % len(CYCLES)]
        # The reminder's instant passed within the last day; the next one is a day off or more.
        passed = timedelta(seconds=1 + (i * 7919) % 86_000)
        sub: dict[str, Any] = {
            "id": i + 1,
            "workspace_id": w,
            "package": package,
            "quantity": 10 + i % 90,
            "cycle_months": cycle,
            "registered_at": NOW - timedelta(days=400),
            "anchor_months": cycle,
            "cancel_at_period_end": False,
            "terms_version": 1,
            "remind_at": NOW - passed,
        }
        cases[case] += 1
        subs.append(sub)
        if case == "trial":
            ends = NOW + timedelta(days=1) - passed
            sub.update(state="trial", quantity=10, trial_ends_at=ends, due_at=ends)
            continue
        end = NOW + timedelta(days=7) - passed if case == "renewal" else NOW - timedelta(days=1)
        end -= passed if case == "grace" else timedelta(0)
        anchor = end - (add_months(end, cycle) - end)
        sub.update(state="active", anchor_at=anchor, period_start=anchor, period_end=end)
        sub["due_at"] = end
        price = price_per_account(catalog, package, cycle).minor
        orders.append(
            order_row(
                len(orders) + 1,
                sub,
                price,
                kind="new",
                status="paid",
                period_start=anchor,
                period_end=end,
                provider="sandbox",
                created_at=anchor,
                expires_at=anchor + timedelta(minutes=30),
                closed_at=anchor,
            )
        )
        if case == "grace":
            grace = end + timedelta(days=catalog.grace_days)
            sub.update(grace_until=grace, due_at=grace)
            orders.append(
                order_row(
                    len(orders) + 1,
                    sub,
                    price,
                    idempotency_key=f"renewal:{i + 1}:{format_iso(end)}",
                    kind="renewal",
                    status="pending",
                    period_start=end,
                    period_end=add_months(end, cycle),
                    provider="sandbox",
                    placed_by="system",
                    created_at=end,
                    expires_at=grace,
                    # Its link was handed out when grace began.
                    provider_reference=f"cs_bench{i + 1}",
                    payment_link=f"https://pay.example/cs_bench{i + 1}",
                )
            )
    return Plan(workspaces, subs, orders, [], cases, members)

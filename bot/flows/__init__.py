"""The customer flows, by name."""

from __future__ import annotations

from bot.flow import Flow
from bot.flows import details, plans, settings, trial, unsubscribe, upgrade
from bot.flows.staff import staff_flow


def all_flows() -> dict[str, Flow]:
    flows = [
        plans.FLOW,
        details.FLOW,
        upgrade.FLOW,
        trial.FLOW,
        unsubscribe.UNSUBSCRIBE,
        unsubscribe.RESUME,
        unsubscribe.WITHDRAW,
        settings.NOTIFY,
        settings.TIMEZONE,
        staff_flow(),
    ]
    return {flow.name: flow for flow in flows}

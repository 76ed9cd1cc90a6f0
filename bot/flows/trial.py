"""trial: start a Try on a package the workspace has not tried."""

from __future__ import annotations

from datetime import timedelta

from bot.flow import Done, Flow, Go, Move, Stay, Step, Turn, choose
from bot.flows.common import admins_named, workspace_of
from bot.render import accounts
from bot.vocabulary import Choices, Option, Reply, Text
from core.services.queries import trial_candidates
from core.services.subscriptions import start_trial


async def _options(turn: Turn) -> tuple[Option, ...]:
    packages = await trial_candidates(turn.services, turn.actor, workspace_of(turn))
    return tuple(Option(p.name, p.code) for p in packages)


async def _start(turn: Turn, code: str) -> Move:
    t, catalog = turn.t, turn.services.catalog
    workspace_id = workspace_of(turn)
    await start_trial(turn.services, turn.actor, workspace_id, code)
    package = catalog.package(code)
    ends = turn.services.clock.now() + timedelta(days=package.trial.days)
    return Done(
        (
            Text(
                t(
                    "Your trial of {name} has started: {accounts} until {date}.",
                    name=package.name,
                    accounts=accounts(t, package.trial.max_accounts),
                    date=t.when(ends),
                )
            ),
        )
    )


async def begin(turn: Turn) -> Move:
    async with admins_named(turn):
        options = await _options(turn)
    if not options:
        return Done((Text(turn.t("There is no package left to try in this workspace.")),))
    wanted = str(turn.data.get("argument", ""))
    if wanted and any(o.value == wanted for o in options):
        return await _start(turn, wanted)
    return Go("package")


async def ask_package(turn: Turn) -> list[Reply]:
    options = await _options(turn)
    return [
        Choices(
            turn.t("Which package would you like to try?"),
            options + turn.nav(back=False),
            turn.version,
        )
    ]


async def answer_package(turn: Turn, answer: str) -> Move:
    option = choose(await _options(turn), answer)
    if option is None:
        return Stay(turn.t("Choose one of the packages listed."))
    return await _start(turn, option.value)


FLOW = Flow(
    name="trial",
    begin=begin,
    steps={"package": Step(ask_package, answer_package)},
    entry=frozenset({"package"}),
)

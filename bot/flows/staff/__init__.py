"""/staff: the support staff's verbs (DESIGN section 13). `/staff` alone is a menu of the
verbs the person's tier allows; `/staff <verb> [args]` starts one."""

from __future__ import annotations

from bot.flow import Done, Flow, Go, Move, Step, Turn
from bot.flows.staff import stats
from bot.flows.staff.changes import change_verbs
from bot.flows.staff.lookups import lookup_verbs
from bot.flows.staff.verbs import Verb
from bot.vocabulary import Choices, Option, Reply, Text
from core.access import StaffVerb, require_staff, staff_verbs
from core.errors import NotAllowed

MENU = "menu"


def verbs() -> dict[StaffVerb, Verb]:
    """Every verb module's verbs, by verb."""
    declared: list[Verb] = [*lookup_verbs(), stats.VERB, *change_verbs()]
    return {v.verb: v for v in declared}


def _guard(turn: Turn) -> None:
    """Staff only, and in a group chat only where the group is a staff chat."""
    require_staff(StaffVerb.FIND, turn.actor)
    platform, chat = turn.chat
    if turn.in_group and not turn.services.staff.is_staff_chat(platform, chat):
        raise NotAllowed(
            "Support commands work in a private chat with me or in a staff group chat."
        )


async def _begin(turn: Turn) -> Move:
    _guard(turn)
    typed = str(turn.data.pop("argument", "")).strip()
    if not typed:
        return Go(MENU)
    name, _, rest = typed.partition(" ")
    return await _start_verb(turn, name.lower(), rest.strip())


async def _start_verb(turn: Turn, name: str, rest: str) -> Move:
    known = verbs()
    try:
        verb = StaffVerb(name)
    except ValueError:
        verb = None
    if verb is None or verb not in known:
        assert turn.actor.tier is not None
        listed = ", ".join(v.value for v in staff_verbs(turn.actor.tier) if v in known)
        return Done(
            (
                Text(
                    turn.t(
                        "There is no staff verb '{name}'. Yours: {verbs}.",
                        name=name[:40],
                        verbs=listed,
                    )
                ),
            )
        )
    require_staff(verb, turn.actor)
    return await known[verb].begin(turn, rest)


async def _ask_menu(turn: Turn) -> list[Reply]:
    assert turn.actor.tier is not None
    known = verbs()
    options = tuple(
        Option(turn.t(known[v].label), v.value) for v in staff_verbs(turn.actor.tier) if v in known
    )
    return [
        Choices(
            turn.t("Support staff: what would you like to do?"),
            (*options, *turn.nav(back=False)),
            turn.version,
        )
    ]


async def _answer_menu(turn: Turn, value: str) -> Move:
    return await _start_verb(turn, value, "")


def staff_flow() -> Flow:
    known = verbs()
    steps: dict[str, Step] = {}
    entry: set[str] = set()
    for verb in known.values():
        steps.update(verb.steps)
        entry |= verb.entry
    steps[MENU] = Step(_ask_menu, _answer_menu, goes_to=frozenset(entry))
    return Flow("staff", _begin, steps, entry=frozenset({MENU, *entry}))

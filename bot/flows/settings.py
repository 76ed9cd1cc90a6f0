"""notify and timezone: a workspace's notice settings and its time zone, for billing admins.

`/notify` shows the settings with a button per change; its toggles run `/notify reminders
off` and the like, which also work typed. `/timezone Asia/Ho_Chi_Minh` sets the zone, and so
does a name typed at its prompt. Bad input says what may be typed and changes nothing.
"""

from __future__ import annotations

from bot.flow import Done, Flow, Go, Move, Stay, Step, Turn
from bot.flows.common import admins_named, require_allowed, workspace_of
from bot.i18n import Translator
from bot.vocabulary import Choices, Option, Reply, Text
from core.access import Action
from core.errors import InvalidRequest
from core.notice_settings import (
    NoticeSettings,
    parse_quiet_hours,
    parse_switch,
    window_text,
)
from core.services.notice_settings import (
    notice_settings,
    set_quiet_hours,
    set_receipts,
    set_reminders,
    set_timezone,
)

QUIET = "quiet"
SWITCHES = ("reminders", "receipts")


def _on_off(t: Translator, on: bool) -> str:
    return t("on") if on else t("off")


def quiet_text(t: Translator, settings: NoticeSettings) -> str:
    if settings.quiet is None:
        return t("off")
    return t("{window} ({zone})", window=window_text(settings.quiet), zone=settings.timezone)


def summary(t: Translator, settings: NoticeSettings) -> str:
    return "\n".join(
        (
            t("Notices in this workspace:"),
            t(
                "Reminders (renewals and trials ending): {state}",
                state=_on_off(t, settings.reminders_on),
            ),
            t("Receipts (payments received): {state}", state=_on_off(t, settings.receipts_on)),
            t("Quiet hours: {window}", window=quiet_text(t, settings)),
            t("Payment problems and changes made by support staff are always sent."),
        )
    )


def usage(turn: Turn) -> str:
    command = turn.command("notify")
    return turn.t(
        "Type {command} reminders on or off, {command} receipts on or off, or {command} quiet "
        "22:00-07:00 (off for none).",
        command=command,
    )


async def _settings(turn: Turn) -> NoticeSettings:
    return await notice_settings(turn.services, turn.actor, workspace_of(turn))


async def notify_begin(turn: Turn) -> Move:
    await require_allowed(turn, Action.MANAGE_NOTICES)
    argument = str(turn.data.get("argument", "")).strip()
    if not argument:
        return Go("menu")
    what, _, value = argument.partition(" ")
    what = what.casefold()
    if what == QUIET:
        try:
            return await _set_quiet(turn, value)
        except InvalidRequest as refused:
            return Go("menu", note=turn.t(refused.template, **refused.params))
    on = parse_switch(value) if what in SWITCHES else None
    if on is None:
        return Go("menu", note=usage(turn))
    setter = set_reminders if what == "reminders" else set_receipts
    async with admins_named(turn):
        await setter(turn.services, turn.actor, workspace_of(turn), on)
    return Go("menu", note=_switched(turn.t, what, on))


def _switched(t: Translator, what: str, on: bool) -> str:
    if what == "reminders":
        return t("Reminders are on.") if on else t("Reminders are off.")
    return t("Receipts are on.") if on else t("Receipts are off.")


async def _set_quiet(turn: Turn, typed: str) -> Move:
    quiet = parse_quiet_hours(typed)
    async with admins_named(turn):
        settings = await set_quiet_hours(turn.services, turn.actor, workspace_of(turn), quiet)
    t = turn.t
    if settings.quiet is None:
        return Go("menu", note=t("Quiet hours are off: notices go out at any hour."))
    return Go("menu", note=t("Quiet hours are now {window}.", window=quiet_text(t, settings)))


def _switch_option(turn: Turn, what: str, on: bool) -> Option:
    t, value = turn.t, f"cmd:notify:{what} {'off' if on else 'on'}"
    labels = {
        ("reminders", True): t("Turn reminders off"),
        ("reminders", False): t("Turn reminders on"),
        ("receipts", True): t("Turn receipts off"),
        ("receipts", False): t("Turn receipts on"),
    }
    return Option(labels[what, on], value)


async def ask_menu(turn: Turn) -> list[Reply]:
    settings = await _settings(turn)
    options = (
        _switch_option(turn, "reminders", settings.reminders_on),
        _switch_option(turn, "receipts", settings.receipts_on),
        Option(turn.t("Set quiet hours"), QUIET),
        *turn.nav(),
    )
    return [Choices(summary(turn.t, settings), options, turn.version)]


async def answer_menu(turn: Turn, answer: str) -> Move:
    if answer == QUIET:
        return Go(QUIET)
    return Stay(turn.t("Choose one of the buttons, or Cancel."))


async def ask_quiet(turn: Turn) -> list[Reply]:
    settings = await _settings(turn)
    text = turn.t(
        "Type the quiet hours in {zone} as 22:00-07:00, or off for none. Now: {window}.",
        zone=settings.timezone,
        window=quiet_text(turn.t, settings),
    )
    return [Choices(text, turn.nav(), turn.version)]


async def answer_quiet(turn: Turn, answer: str) -> Move:
    try:
        return await _set_quiet(turn, answer)
    except InvalidRequest as refused:
        return Stay(turn.t(refused.template, **refused.params))


NOTIFY = Flow(
    name="notify",
    begin=notify_begin,
    steps={
        "menu": Step(ask_menu, answer_menu, goes_to=frozenset({QUIET})),
        QUIET: Step(ask_quiet, answer_quiet, goes_to=frozenset({"menu"}), typed=True),
    },
    entry=frozenset({"menu"}),
)


async def timezone_begin(turn: Turn) -> Move:
    await require_allowed(turn, Action.MANAGE_NOTICES)
    argument = str(turn.data.get("argument", ""))
    if not argument.strip():
        return Go("zone")
    try:
        return await _set_zone(turn, argument)
    except InvalidRequest as refused:
        return Go("zone", note=turn.t(refused.template, **refused.params))


async def _set_zone(turn: Turn, typed: str) -> Move:
    async with admins_named(turn):
        settings = await set_timezone(turn.services, turn.actor, workspace_of(turn), typed)
    t = Translator(turn.t.language, settings.timezone)
    now = turn.services.clock.now()
    said = t(
        "The time zone is now {zone}: dates are shown in it (it is {now} there).",
        zone=settings.timezone,
        now=t.when(now),
    )
    return Done((Text(said),))


async def ask_zone(turn: Turn) -> list[Reply]:
    settings = await _settings(turn)
    text = turn.t(
        "The time zone is {zone}. Type another by its IANA name, such as Asia/Ho_Chi_Minh, "
        "Europe/Berlin or UTC.",
        zone=settings.timezone,
    )
    return [Choices(text, turn.nav(), turn.version)]


async def answer_zone(turn: Turn, answer: str) -> Move:
    try:
        return await _set_zone(turn, answer)
    except InvalidRequest as refused:
        return Stay(turn.t(refused.template, **refused.params))


TIMEZONE = Flow(
    name="timezone",
    begin=timezone_begin,
    steps={"zone": Step(ask_zone, answer_zone, typed=True)},
    entry=frozenset({"zone"}),
)

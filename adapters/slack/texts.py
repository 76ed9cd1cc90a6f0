"""What the Slack adapter itself says; the catalogs extract adapters/ to translate it.

Plain strings only: this module knows nothing of Slack's library.
"""

from __future__ import annotations

from bot.i18n import Translator


def enter_number(t: Translator) -> str:
    return t("Enter the number")


def choose(t: Translator) -> str:
    return t("Choose…")


def no_chart(t: Translator) -> str:
    return t(
        "The chart could not be posted in this channel: add the app to it, or ask me in a "
        "direct message."
    )


def quantity_title(t: Translator) -> str:
    return t("Quantity")


def quantity_label(t: Translator, minimum: int, maximum: int) -> str:
    return t("A whole number from {minimum} to {maximum}", minimum=minimum, maximum=maximum)


def submit(t: Translator) -> str:
    return t("Continue")


def close(t: Translator) -> str:
    return t("Close")


def not_a_whole_number(t: Translator) -> str:
    return t("Enter a whole number.")


def out_of_range(t: Translator, minimum: int, maximum: int) -> str:
    return t("Enter a number from {minimum} to {maximum}.", minimum=minimum, maximum=maximum)


def failed(t: Translator) -> str:
    return t("Sorry, something went wrong on my side. Please try again.")


def home_intro(t: Translator) -> str:
    return t("Your workspace's packages and subscriptions. Use the buttons, or /plans anywhere.")


def help_text(t: Translator, command: str) -> str:
    """What the slash command does, with its subcommands as Slack users type them."""
    return "\n".join(
        [
            t("planbot manages this workspace's service packages."),
            t("{command} - the packages on offer and what this workspace holds", command=command),
            t("{command} details - details of each subscription", command=command),
            t(
                "{command} upgrade - upgrade, buy more accounts or change the billing cycle",
                command=command,
            ),
            t("{command} unsubscribe - unsubscribe at the end of the period", command=command),
            t(
                "{command} resume - take an unsubscribe back before it takes effect",
                command=command,
            ),
            t("{command} trial - try a package for free", command=command),
            t(
                "{command} admins - the billing admins; {command} admins add @name makes one",
                command=command,
            ),
            t(
                "{command} notify - reminders, receipts and quiet hours (billing admins)",
                command=command,
            ),
            t(
                "{command} timezone - the time zone dates are shown in (billing admins)",
                command=command,
            ),
            t("The buttons also offer Back and Cancel; the Home tab shows the details."),
        ]
    )


def add_admin_hint(command: str) -> str:
    return f"{command} admins add @name"


SUBCOMMANDS = {"subscription": "details", "plans": ""}
"""The flows' command names that Slack users type otherwise after the slash command."""


def typed_command(command: str, name: str) -> str:
    """ "/plans details" for the flows' "subscription", "/plans upgrade" for "upgrade"."""
    sub = SUBCOMMANDS.get(name, name)
    return f"{command} {sub}" if sub else command

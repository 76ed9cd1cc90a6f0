"""What the Slack adapter itself says, kept here so the catalogs extract and translate it.

Plain strings only: this module knows nothing of Slack's library.
"""

from __future__ import annotations

from bot.i18n import Translator


def enter_number(t: Translator) -> str:
    return t("Enter the number")


def choose(t: Translator) -> str:
    return t("Choose…")


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

"""What the Telegram adapter itself says; the catalogs extract adapters/ to translate it.

Plain strings only: this module knows nothing of Telegram's library.
"""

from __future__ import annotations

from bot.i18n import Translator


def command_menu(t: Translator) -> list[tuple[str, str]]:
    """The command menu (name, description) shown in Telegram, in the translator's language."""
    return [
        ("start", t("start, or join a workspace")),
        ("plans", t("the packages on offer")),
        ("subscription", t("details of each subscription")),
        ("upgrade", t("upgrade or buy accounts")),
        ("unsubscribe", t("unsubscribe at the end of the period")),
        ("trial", t("try a package for free")),
        ("invite", t("invite an admin or a member")),
        ("workspaces", t("switch to another of your workspaces")),
        ("language", t("English or Vietnamese")),
        ("notify", t("reminders, receipts and quiet hours")),
        ("timezone", t("the time zone dates are shown in")),
        ("help", t("what I can do")),
        ("cancel", t("stop what you are doing")),
    ]


def staff_command_menu(t: Translator) -> list[tuple[str, str]]:
    """The menu of support staff's chats: everyone's commands, and /staff."""
    return [
        *command_menu(t),
        ("staff", t("support staff: look up and fix a customer's billing")),
    ]


def link_sent_privately(t: Translator) -> str:
    return t("I sent you the link in a private chat.")


def open_private_chat(t: Translator, url: str) -> str:
    return t(
        "I cannot write to you privately yet. Open {url}, press Start, then ask me again here.",
        url=url,
    )


def not_your_menu(t: Translator) -> str:
    return t("This menu is someone else's. Send a command to get your own.")


def not_understood(t: Translator) -> str:
    return t("I can read text messages, commands and buttons only.")


def failed(t: Translator) -> str:
    return t("Sorry, something went wrong on my side. Please try again.")


def link_line(t: Translator, text: str, url: str) -> str:
    return t("{text}: {url}", text=text, url=url)

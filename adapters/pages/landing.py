"""`/`: what planbot is and where to go, for whoever opens the web server's address."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse

from adapters.pages.shell import document, e, page_language
from bot.i18n import Translator


def landing_page(request: Request) -> HTMLResponse:
    t = Translator(page_language(request))
    what = t(
        "planbot shows the service packages on offer and what your workspace holds, sells "
        "upgrades and more accounts (longer billing cycles cost less), and takes "
        "unsubscribes, all in a conversation."
    )
    places = [
        t("In Telegram: open the chat with the bot and send /start."),
        t("In Slack: type /plans in any channel, or open the app's Home tab."),
        t("On the computer that runs planbot: make run opens the console chat."),
    ]
    links = t(
        "The payment links the chat gives you open on this site; without one there is "
        "nothing to do here."
    )
    items = "".join(f"<li>{e(place)}</li>" for place in places)
    title, where = t("planbot: your service packages, managed in the chat"), t("Where to go")
    body = (
        f"<h1>{e(title)}</h1>\n"
        f"<p>{e(what)}</p>\n"
        f"<h2>{e(where)}</h2>\n<ul>{items}</ul>\n"
        f"<p>{e(links)}</p>\n"
    )
    return document(t, "planbot", body)

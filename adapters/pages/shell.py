"""The frame every web page shares: its language, `<html lang>`, the style that fits 320 to
1280 px without scrolling sideways, and the language links in the footer."""

from __future__ import annotations

from html import escape
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse

from bot.i18n import LANGUAGES, Translator, language_of

# A payment page is a capability URL with a Pay button: keep it out of caches, referrers
# and other sites' frames.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
}
LANGUAGE_NAMES = {"en": "English", "vi": "Tiếng Việt"}
LANG_PARAMETER = "lang"

STYLE = """
:root { color-scheme: light; --ink: #1d2433; --muted: #5b6478; --line: #e3e7ef;
  --accent: #2456d3; --good: #17803d; --bad: #b42318; --paper: #f5f7fb; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }
body { margin: 0; padding: 1.5rem .75rem; background: var(--paper); color: var(--ink);
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  overflow-wrap: anywhere; }
main { max-width: 44rem; margin: 0 auto; background: #fff; border: 1px solid var(--line);
  border-radius: 12px; padding: 1.25rem 1rem; box-shadow: 0 1px 3px rgba(16, 24, 40, .06); }
@media (min-width: 40rem) { body { padding: 2.5rem 1.5rem; } main { padding: 1.75rem 2rem; } }
h1 { font-size: 1.35rem; line-height: 1.3; margin: .35rem 0 1rem; }
h2 { font-size: 1rem; margin: 1.5rem 0 .5rem; }
p { margin: 0 0 .75rem; }
.tag { display: inline-block; font-size: .75rem; font-weight: 600; letter-spacing: .04em;
  text-transform: uppercase; color: #7a4b00; background: #fff4d6; border-radius: 999px;
  padding: .15rem .6rem; }
dl { margin: 0 0 1rem; }
.line { display: flex; flex-wrap: wrap; justify-content: space-between; gap: .15rem 1rem;
  padding: .5rem 0; border-bottom: 1px solid var(--line); }
.line dt { color: var(--muted); flex: 1 1 7rem; min-width: 0; }
.line dd { flex: 0 1 auto; margin: 0 0 0 auto; text-align: right; min-width: 0;
  font-variant-numeric: tabular-nums; }
.line.deduction dt, .line.deduction dd { color: var(--good); }
.line.total dd { font-weight: 600; }
.line.due { border-bottom: none; font-size: 1.15rem; font-weight: 700; }
.line.due dt { color: var(--ink); }
.formula { color: var(--muted); font-size: .9rem; }
.banner { border-radius: 8px; padding: .75rem 1rem; margin: 0 0 1.25rem; }
.banner.good { background: #e8f6ee; color: #0f5a2b; border: 1px solid #b7e3c8; }
.banner.bad { background: #fdecea; color: #7a1610; border: 1px solid #f5c2bd; }
.banner.note { background: #eef2fb; color: #1f3a7a; border: 1px solid #cdd8f3; }
.banner p { margin: .35rem 0 0; }
.banner strong { display: block; }
.method { background: var(--paper); border-radius: 8px; padding: .75rem 1rem;
  margin: 0 0 1.25rem; }
.actions { display: flex; gap: .75rem; flex-wrap: wrap; margin-top: 1.25rem; }
.actions form { margin: 0; flex: 1 1 12rem; }
button, .button { display: block; width: 100%; font: inherit; font-weight: 600;
  border-radius: 8px; padding: .7rem 1rem; cursor: pointer; border: 1px solid transparent;
  text-align: center; text-decoration: none; }
button.pay, .button.pay { background: var(--accent); color: #fff; }
button.fail { background: #fff; color: var(--bad); border-color: #f0b4ae; }
code { font-size: .9em; }
ul { padding-left: 1.25rem; margin: 0 0 .75rem; }
footer { color: var(--muted); font-size: .85rem; margin-top: 1.5rem; display: flex;
  flex-wrap: wrap; gap: .5rem 1rem; justify-content: space-between; }
footer a { color: var(--accent); }
"""


def e(value: object) -> str:
    return escape(str(value), quote=True)


def _accepted(header: str) -> str | None:
    """The first supported language a browser's Accept-Language lists."""
    for part in header.split(",")[:20]:
        base = part.split(";")[0].strip().replace("_", "-").split("-")[0].lower()
        if base in LANGUAGES:
            return base
    return None


def page_language(request: Request, preferred: str | None = None) -> str:
    """The language asked for in the address (?lang=), else `preferred` (the order's), else
    the browser's, else English."""
    asked = request.query_params.get(LANG_PARAMETER, "")
    if asked in LANGUAGES:
        return asked
    if preferred:
        return language_of(preferred)
    return _accepted(request.headers.get("accept-language", "")) or language_of(None)


def language_asked(request: Request) -> str | None:
    """The language the address asks for, to keep it on the forms and redirects."""
    asked = request.query_params.get(LANG_PARAMETER, "")
    return asked if asked in LANGUAGES else None


def with_language(url: str, language: str | None, **query: str) -> str:
    """`url` with its query: the other values, and the language when one was asked for."""
    values = dict(query)
    if language is not None:
        values[LANG_PARAMETER] = language
    return f"{url}?{urlencode(values)}" if values else url


def _language_links(t: Translator) -> str:
    links = " · ".join(
        f'<a href="?{LANG_PARAMETER}={code}" lang="{code}" hreflang="{code}">{e(name)}</a>'
        for code, name in LANGUAGE_NAMES.items()
        if code != t.language
    )
    label = t("Language")
    return f'<nav aria-label="{e(label)}">{links}</nav>'


def document(
    t: Translator, title: str, body: str, *, note: str | None = None, status: int = 200
) -> HTMLResponse:
    """A whole page in `t`'s language; `note` is the footer's line."""
    footer = f"<span>{e(note)}</span>" if note else "<span>planbot</span>"
    html = (
        "<!doctype html>\n"
        f'<html lang="{e(t.language)}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="robots" content="noindex">\n'
        f"<title>{e(title)} · planbot</title>\n<style>{STYLE}</style>\n</head>\n"
        f"<body>\n<main>\n{body}\n"
        f"<footer>{footer}{_language_links(t)}</footer>\n"
        "</main>\n</body>\n</html>\n"
    )
    return HTMLResponse(html, status_code=status, headers=PAGE_HEADERS)


def banner(kind: str, headline: str, *details: str) -> str:
    """A coloured box: `kind` is good, bad or note."""
    more = "".join(f"<p>{e(detail)}</p>" for detail in details if detail)
    return f'<div class="banner {kind}" role="status"><strong>{e(headline)}</strong>{more}</div>'


def message_page(
    t: Translator, status: int, heading: str, message: str, *, tag: str | None = None
) -> HTMLResponse:
    """A page that only says one thing (no such order, a refusal, the database is down)."""
    label = f'<span class="tag">{e(tag)}</span>\n' if tag else ""
    body = f"{label}<h1>{e(heading)}</h1>\n{banner('bad', message)}"
    return document(t, heading, body, status=status)

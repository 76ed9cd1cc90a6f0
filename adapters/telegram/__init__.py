"""The Telegram adapter (python-telegram-bot): long polling for local use, a webhook to scale.

`render` turns neutral replies into messages and inline keyboards, `delivery` talks to the
Bot API (retries, edits, private links), `bot` turns updates into engine calls, `webhook` is
the ASGI route, and `modes` starts either mode.
"""

"""The Telegram adapter (python-telegram-bot): long polling for local use, a webhook to scale.

`render` turns neutral replies into messages and inline keyboards, `delivery` talks to the
Bot API (retries, edits, private links), `bot` turns updates into engine calls, `webhook` is
the ASGI route, and `modes` starts either mode.
"""

import os

# Opt in to PTB's coming behaviour (durations as timedelta) instead of its warning about it.
os.environ.setdefault("PTB_TIMEDELTA", "1")

"""A fake Telegram Bot API server: answers as Telegram does, records calls, refuses what
Telegram would refuse, and can be told to answer 400, 403 or 429."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.loopback import serve_on_loopback

TOKEN = "123456:TEST-token"
BOT = {"id": 999, "is_bot": True, "first_name": "planbot", "username": "planbot_test_bot"}
JSON_FIELDS = {"reply_markup", "commands", "allowed_updates", "scope", "link_preview_options"}
REQUIRED = {
    "getMe": (),
    "getUpdates": (),
    "sendMessage": ("chat_id", "text"),
    "sendPhoto": ("chat_id", "photo"),
    "editMessageText": ("text",),
    "editMessageReplyMarkup": (),
    "answerCallbackQuery": ("callback_query_id",),
    "setMyCommands": ("commands",),
    "setWebhook": ("url",),
    "deleteWebhook": (),
}
CAPTION_LIMIT = 1024
PHOTO_LIMIT = 10 * 1024 * 1024
PICTURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")
"""What an uploaded photo may start with: a PNG or a JPEG."""
ALLOWED_TAGS = {"b", "strong", "i", "em", "u", "s", "a", "code", "pre", "tg-spoiler"}
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)


class ApiError(Exception):
    def __init__(self, code: int, description: str, **parameters: Any) -> None:
        super().__init__(description)
        self.code, self.description, self.parameters = code, description, parameters


class _Entities(HTMLParser):
    """Telegram's HTML mode: only a few tags, properly nested; anything else cannot parse."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            raise ApiError(
                400, f'Bad Request: can\'t parse entities: unsupported start tag "{tag}"'
            )
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            raise ApiError(400, f'Bad Request: can\'t parse entities: unexpected end tag "{tag}"')

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def plain(html: str) -> str:
    parser = _Entities()
    parser.feed(html)
    parser.close()
    if parser.stack:
        raise ApiError(400, "Bad Request: can't parse entities: unclosed tag")
    return "".join(parser.text)


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)
    """When the request arrived (monotonic seconds): pacing is measured here."""


@dataclass(frozen=True)
class Upload:
    """A file part of a multipart request."""

    filename: str | None
    data: bytes


@dataclass(frozen=True)
class Photo:
    """A photo Telegram accepted, as the chat shows it."""

    chat_id: int
    png: bytes
    filename: str | None
    caption: str


@dataclass
class FakeBotApi:
    calls: list[Call] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    messages: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    blocked: set[int] = field(default_factory=set)
    never_started: set[int] = field(default_factory=set)
    flood: dict[str, int] = field(default_factory=dict)
    fail_edits: int = 0
    fail_photos: int = 0
    photos: list[Photo] = field(default_factory=list)
    next_message_id: int = 100
    next_update_id: int = 1
    confirmed: int = 0
    webhook: str = ""
    url: str = ""
    command_menus: dict[tuple[str, int | None, str], list[str]] = field(default_factory=dict)
    """The command menus set, as Telegram keeps them: (scope type, chat id, language code
    or "") → command names."""

    def __post_init__(self) -> None:
        self.changed = asyncio.Condition()

    # --- what the tests use -----------------------------------------------------------------

    def queue(self, update: dict[str, Any]) -> int:
        update_id = self.next_update_id
        self.next_update_id += 1
        self.updates.append({"update_id": update_id, **update})
        return update_id

    async def push(self, update: dict[str, Any]) -> int:
        """Queue an update and wake a waiting getUpdates."""
        update_id = self.queue(update)
        async with self.changed:
            self.changed.notify_all()
        return update_id

    def made(self, method: str) -> list[dict[str, Any]]:
        return [c.params for c in self.calls if c.method == method]

    def texts(self, chat_id: int) -> list[str]:
        """Every text sent to or edited in a chat, in order."""
        return [
            plain(c.params["text"])
            for c in self.calls
            if c.method in ("sendMessage", "editMessageText")
            and int(c.params["chat_id"]) == chat_id
            and c.params.get("_ok")
        ]

    def commands_for(self, chat_id: int, language: str) -> list[str]:
        """The command menu a person sees in a chat, looked up as Telegram does (for the
        chat and default scopes): the chat's in their language, the chat's, the default's
        in their language, the default's."""
        for key in (
            ("chat", chat_id, language),
            ("chat", chat_id, ""),
            ("default", None, language),
            ("default", None, ""),
        ):
            if key in self.command_menus:
                return self.command_menus[key]
        return []

    def menu(self, chat_id: int) -> tuple[int, dict[str, str]]:
        """The newest message in a chat that has buttons: its id and {label: callback_data}."""
        for (chat, message_id), message in sorted(self.messages.items(), reverse=True):
            rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
            if chat == chat_id and rows:
                return message_id, {
                    b["text"]: b.get("callback_data", "") for row in rows for b in row
                }
        raise AssertionError(f"no menu in chat {chat_id}")

    # --- the API ----------------------------------------------------------------------------

    def app(self) -> Starlette:
        return Starlette(
            routes=[Route("/bot{token}/{method}", self._endpoint, methods=["GET", "POST"])]
        )

    async def _endpoint(self, request: Request) -> JSONResponse:
        token, method = request.path_params["token"], request.path_params["method"]
        if token != TOKEN:
            return _error(ApiError(401, "Unauthorized"))
        params: dict[str, Any] = {}
        if request.headers.get("content-type", "").startswith("application/json"):
            params = await request.json()
        else:
            form = await request.form()
            for key, value in form.items():
                if isinstance(value, UploadFile):
                    params[key] = Upload(value.filename, await value.read())
                else:
                    params[key] = json.loads(value) if key in JSON_FIELDS else value
        call = Call(method, params)
        self.calls.append(call)
        try:
            result = await self._answer(method, params)
        except ApiError as exc:
            return _error(exc)
        finally:
            async with self.changed:
                self.changed.notify_all()
        params["_ok"] = True
        return JSONResponse({"ok": True, "result": result})

    async def _answer(self, method: str, params: dict[str, Any]) -> Any:
        if method not in REQUIRED:
            raise ApiError(404, "Not Found")
        for name in REQUIRED[method]:
            if params.get(name) in (None, ""):
                raise ApiError(400, f'Bad Request: parameter "{name}" is required')
        if self.flood.get(method):
            self.flood[method] -= 1
            raise ApiError(429, "Too Many Requests: retry after 1", retry_after=1)
        self._check_markup(params.get("reply_markup"))
        return await getattr(self, "_" + re.sub(r"(?<!^)([A-Z])", r"_\1", method).lower())(params)

    def _check_markup(self, markup: Any) -> None:
        for row in (markup or {}).get("inline_keyboard", []):
            for button in row:
                if "callback_data" in button:
                    size = len(button["callback_data"].encode())
                    if not 1 <= size <= 64:
                        raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
                elif "url" not in button:
                    raise ApiError(400, "Bad Request: can't parse inline keyboard button")

    async def _get_me(self, params: dict[str, Any]) -> Any:
        return BOT

    async def _get_updates(self, params: dict[str, Any]) -> Any:
        offset = int(params.get("offset") or 0)
        self.confirmed = max(self.confirmed, offset - 1)  # as Telegram: an offset confirms
        wait = min(float(params.get("timeout") or 0), 0.5)
        async with self.changed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self.changed.wait_for(
                        lambda: any(u["update_id"] > self.confirmed for u in self.updates)
                    ),
                    wait,
                )
        return [u for u in self.updates if u["update_id"] > self.confirmed]

    def _chat(self, chat_id: int) -> dict[str, Any]:
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": f"user{chat_id}"}
        return {"id": chat_id, "type": "supergroup", "title": "Acme team"}

    def _text(self, params: dict[str, Any]) -> str:
        text = plain(params["text"]) if params.get("parse_mode") == "HTML" else params["text"]
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(text) > 4096:
            raise ApiError(400, "Bad Request: message is too long")
        return text

    def _message(self, chat_id: int, message_id: int, text: str, markup: Any) -> dict[str, Any]:
        message = {
            "message_id": message_id,
            "from": BOT,
            "chat": self._chat(chat_id),
            "date": 1768471200,
            "text": text,
        }
        if markup and markup.get("inline_keyboard"):
            message["reply_markup"] = markup
        return message

    async def _send_message(self, params: dict[str, Any]) -> Any:
        chat_id = int(params["chat_id"])
        text = self._text(params)
        if chat_id in self.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if chat_id in self.never_started:
            raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        self.next_message_id += 1
        message = self._message(chat_id, self.next_message_id, text, params.get("reply_markup"))
        self.messages[(chat_id, self.next_message_id)] = message
        return message

    async def _send_photo(self, params: dict[str, Any]) -> Any:
        """A multipart upload of one picture, captioned in at most 1024 characters."""
        chat_id, upload = int(params["chat_id"]), params["photo"]
        if not isinstance(upload, Upload):
            raise ApiError(400, "Bad Request: wrong remote file identifier specified")
        if len(upload.data) > PHOTO_LIMIT:
            raise ApiError(400, "Bad Request: file is too big")
        if self.fail_photos or not upload.data.startswith(PICTURES):
            self.fail_photos = max(0, self.fail_photos - 1)
            raise ApiError(400, "Bad Request: IMAGE_PROCESS_FAILED")
        raw = str(params.get("caption") or "")
        caption = plain(raw) if params.get("parse_mode") == "HTML" else raw
        if len(caption) > CAPTION_LIMIT:
            raise ApiError(400, "Bad Request: message caption is too long")
        if chat_id in self.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        self.next_message_id += 1
        self.photos.append(Photo(chat_id, upload.data, upload.filename, caption))
        message = self._message(chat_id, self.next_message_id, "", None)
        del message["text"]
        message["photo"] = [
            {
                "file_id": f"photo{self.next_message_id}",
                "file_unique_id": "u",
                "width": 900,
                "height": 640,
            }
        ]
        message["caption"] = caption
        self.messages[(chat_id, self.next_message_id)] = message
        return message

    def _existing(self, params: dict[str, Any]) -> tuple[tuple[int, int], dict[str, Any]]:
        if params.get("chat_id") in (None, "") or params.get("message_id") in (None, ""):
            raise ApiError(400, "Bad Request: chat_id and message_id are required")
        key = (int(params["chat_id"]), int(params["message_id"]))
        if key not in self.messages:
            raise ApiError(400, "Bad Request: message to edit not found")
        return key, self.messages[key]

    async def _edit_message_text(self, params: dict[str, Any]) -> Any:
        key, old = self._existing(params)
        if "text" not in old:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        if self.fail_edits:
            self.fail_edits -= 1
            raise ApiError(400, "Bad Request: message can't be edited")
        text = self._text(params)
        new = self._message(*key, text, params.get("reply_markup"))
        if new == old:
            raise ApiError(400, NOT_MODIFIED)
        self.messages[key] = {**new, "edit_date": 1768471201}
        return self.messages[key]

    async def _edit_message_reply_markup(self, params: dict[str, Any]) -> Any:
        key, old = self._existing(params)
        new = self._message(*key, old["text"], params.get("reply_markup"))
        if new == {k: v for k, v in old.items() if k != "edit_date"}:
            raise ApiError(400, NOT_MODIFIED)
        self.messages[key] = {**new, "edit_date": 1768471201}
        return self.messages[key]

    async def _answer_callback_query(self, params: dict[str, Any]) -> Any:
        return True

    async def _set_my_commands(self, params: dict[str, Any]) -> Any:
        for command in params["commands"]:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", command.get("command", "")):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(command.get("description", "")) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        scope = params.get("scope") or {"type": "default"}
        chat: int | None = None
        if scope.get("type") == "chat":
            if scope.get("chat_id") in (None, ""):
                raise ApiError(400, "Bad Request: chat_id is empty")
            chat = int(scope["chat_id"])
            if chat in self.never_started:
                raise ApiError(400, "Bad Request: chat not found")
        elif scope.get("type") != "default":
            raise ApiError(400, "Bad Request: unsupported scope in this fake")
        language = str(params.get("language_code") or "")
        self.command_menus[(scope["type"], chat, language)] = [
            c["command"] for c in params["commands"]
        ]
        return True

    async def _set_webhook(self, params: dict[str, Any]) -> Any:
        self.webhook = params["url"]
        return True

    async def _delete_webhook(self, params: dict[str, Any]) -> Any:
        self.webhook = ""
        return True


def _error(exc: ApiError) -> JSONResponse:
    body: dict[str, Any] = {"ok": False, "error_code": exc.code, "description": exc.description}
    if exc.parameters:
        body["parameters"] = exc.parameters
    return JSONResponse(body, status_code=exc.code)


@contextlib.asynccontextmanager
async def running(api: FakeBotApi) -> AsyncIterator[str]:
    """Serve the fake on a free port of 127.0.0.1; yields its base URL."""
    async with serve_on_loopback(api.app()) as url:
        api.url = url
        yield url

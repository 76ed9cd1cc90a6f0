"""A fake Slack Web API server: answers as Slack does, records calls, and can be told to
answer `ratelimited` (429 with Retry-After) or `invalid_auth`."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from tests.loopback import serve_on_loopback
from tests.slack.fake_rules import file_ids, refusal

TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-test-token"
TEAM = "T0ACME"
BOT_USER = "UPLANBOT"
JSON_FIELDS = {"blocks", "view", "attachments", "files"}
HOOK_USES = 5


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    token: str = ""
    """The bearer token the call was made with."""


@dataclass
class PendingFile:
    """A file upload under way: named and sized by files.getUploadURLExternal."""

    filename: str
    length: int
    data: bytes | None = None
    """What was POSTed to its upload URL (exactly `length` bytes)."""


@dataclass(frozen=True)
class SharedFile:
    """A file files.completeUploadExternal shared."""

    id: str
    filename: str
    title: str
    data: bytes
    channel: str | None
    initial_comment: str | None


@dataclass
class FakeSlackApi:
    url: str = ""
    calls: list[Call] = field(default_factory=list)
    refused: list[Call] = field(default_factory=list)
    admins: set[str] = field(default_factory=set)
    owners: set[str] = field(default_factory=set)
    locales: dict[str, str] = field(default_factory=dict)
    failures: dict[str, list[str]] = field(default_factory=dict)
    """Errors to answer, once each, per method: "ratelimited" or a Slack error code."""
    ts: int = 0
    socket_url: str = ""
    sockets: list[web.WebSocketResponse] = field(default_factory=list)
    acks: list[dict[str, Any]] = field(default_factory=list)
    """What Socket Mode clients sent back (envelope acknowledgements)."""
    last: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    """The newest ephemeral message per (channel, user)."""
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    hooks: dict[str, tuple[str, str]] = field(default_factory=dict)
    """The (channel, user) each response_url answers, by the id ending its path."""
    hook_uses: dict[str, int] = field(default_factory=dict)
    used_triggers: set[str] = field(default_factory=set)
    rejected: list[Call] = field(default_factory=list)
    """Calls Slack itself would refuse (bad arguments or blocks), as opposed to `failures`."""
    expired: set[str] = field(default_factory=set)
    """response_url ids older than Slack's 30 minutes."""
    installs: dict[str, tuple[str, str]] = field(default_factory=lambda: {"c0de": (TEAM, TOKEN)})
    """What oauth.v2.access hands out per OAuth code: the installing team and its bot token."""

    @property
    def tokens(self) -> set[str]:
        """The bot tokens Slack accepts: the one workspace's, and each installation's."""
        return {TOKEN, *(token for _, token in self.installs.values())}

    pending_files: dict[str, PendingFile] = field(default_factory=dict)
    files: list[SharedFile] = field(default_factory=list)
    outside: set[str] = field(default_factory=set)
    """Channels the app is not a member of: files cannot be shared there."""
    refused_uploads: list[str] = field(default_factory=list)
    """Upload URL posts refused, and why."""

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    def fail(self, method: str, *errors: str) -> None:
        self.failures.setdefault(method, []).extend(errors)

    def made(self, method: str) -> list[dict[str, Any]]:
        return [c.args for c in self.calls if c.method == method]

    def hook_url(self, channel: str, user: str) -> str:
        """A new response_url for an answer only `user` sees in `channel`."""
        hook = str(len(self.hooks) + 1)
        self.hooks[hook] = (channel, user)
        return f"{self.url}/response/{hook}"

    def messages(self, channel: str, user: str) -> list[dict[str, Any]]:
        """What `user` was shown in `channel`: ephemeral posts, posts, updates and answers
        through response_url, in order."""
        shown: list[dict[str, Any]] = []
        for call in self.calls:
            args = call.args
            to = {
                "response_url": args.get("to"),
                "chat.postEphemeral": (args.get("channel"), args.get("user")),
            }.get(call.method)
            if to == (channel, user) or (
                call.method in ("chat.postMessage", "chat.update")
                and args.get("channel") in (channel, user)
            ):
                shown.append(args)
        return shown

    def home(self, user: str) -> dict[str, Any]:
        views = [a["view"] for a in self.made("views.publish") if a.get("user_id") == user]
        assert views, f"no Home view published for {user}"
        return views[-1]

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/api/{method}", self._endpoint, methods=["POST", "GET"]),
                Route("/response/{hook}", self._response_url, methods=["POST"]),
                Route("/upload/{file_id}", self._upload_url, methods=["POST"]),
            ]
        )

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        """Socket Mode: hello, then envelopes pushed by `send_envelope`; acks are recorded."""
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self.sockets.append(socket)
        await socket.send_json({"type": "hello", "num_connections": 1})
        async for message in socket:
            if message.type == WSMsgType.TEXT:
                self.acks.append(json.loads(message.data))
        self.sockets.remove(socket)
        return socket

    async def send_envelope(self, kind: str, payload: dict[str, Any], envelope_id: str) -> None:
        async with asyncio.timeout(10):
            while not self.sockets:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": kind != "events_api",
        }
        await self.sockets[-1].send_json(envelope)

    async def serve_sockets(self) -> web.AppRunner:
        """The Socket Mode WebSocket endpoint, on its own port of 127.0.0.1."""
        app = web.Application()
        app.router.add_get("/link", self._socket)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        self.socket_url = f"ws://127.0.0.1:{port}/link"
        return runner

    async def _response_url(self, request: Request) -> Response:
        """Answers as hooks.slack.com does: "ok", or 404 once a URL is used up or expired."""
        hook = request.path_params["hook"]
        if hook not in self.hooks:
            return PlainTextResponse("invalid_token", status_code=404)
        if hook in self.expired:
            return PlainTextResponse("expired_url", status_code=404)
        if self.hook_uses.get(hook, 0) >= HOOK_USES:
            return PlainTextResponse("used_url", status_code=404)
        try:
            args = json.loads(await request.body())
        except ValueError:
            return PlainTextResponse("invalid_payload", status_code=400)
        if not isinstance(args, dict) or not (args.get("text") or args.get("blocks")):
            return PlainTextResponse("no_text", status_code=400)
        self.hook_uses[hook] = self.hook_uses.get(hook, 0) + 1
        self.calls.append(Call("response_url", {**args, "hook": hook, "to": self.hooks[hook]}))
        self.changed.set()
        return PlainTextResponse("ok")

    async def _upload_url(self, request: Request) -> Response:
        """files.slack.com's upload URL: exactly the announced number of bytes, once."""
        pending = self.pending_files.get(request.path_params["file_id"])
        body = await request.body()
        problem = None
        if pending is None:
            problem = "unknown upload URL"
        elif pending.data is not None:
            problem = "already uploaded"
        elif len(body) != pending.length:
            problem = f"{len(body)} bytes sent, {pending.length} announced"
        if problem is not None:
            self.refused_uploads.append(problem)
            return PlainTextResponse(problem, status_code=400)
        assert pending is not None
        pending.data = body
        return PlainTextResponse(f"OK - {len(body)}")

    def _complete(self, args: dict[str, Any]) -> str | None:
        """Share uploaded files; the error Slack would answer, or None."""
        channel = args.get("channel_id") or None
        if channel is not None and channel in self.outside:
            return "not_in_channel"
        ids = file_ids(args["files"])
        if any(
            self.pending_files.get(i) is None or self.pending_files[i].data is None for i in ids
        ):
            return "file_not_found"
        titles = {f["id"]: f.get("title") for f in args["files"]}
        for file_id in ids:
            pending = self.pending_files.pop(file_id)
            assert pending.data is not None
            self.files.append(
                SharedFile(
                    file_id,
                    pending.filename,
                    str(titles[file_id] or pending.filename),
                    pending.data,
                    channel,
                    args.get("initial_comment"),
                )
            )
        return None

    async def _endpoint(self, request: Request) -> JSONResponse:
        method = request.path_params["method"]
        if request.headers.get("content-type", "").startswith("application/json"):
            args: dict[str, Any] = json.loads(await request.body() or b"{}")
        else:
            args = dict(await request.form())  # type: ignore[arg-type]
        args.update(request.query_params)
        for name in JSON_FIELDS:
            if isinstance(args.get(name), str):
                args[name] = json.loads(args[name])
        failures = self.failures.get(method)
        if failures:
            error = failures.pop(0)
            self.refused.append(Call(method, {**args, "failed": error}))
            if error == "ratelimited":
                return JSONResponse(
                    {"ok": False, "error": "ratelimited"},
                    status_code=429,
                    headers={"Retry-After": "1"},
                )
            return JSONResponse({"ok": False, "error": error})
        auth = request.headers.get("authorization", "")
        if method == "apps.connections.open":
            if auth != f"Bearer {APP_TOKEN}":
                return JSONResponse({"ok": False, "error": "invalid_auth"})
            return JSONResponse({"ok": True, "url": self.socket_url})
        token = auth.removeprefix("Bearer ")
        if method != "oauth.v2.access" and token not in self.tokens:
            return JSONResponse({"ok": False, "error": "invalid_auth"})
        error = refusal(method, args, self.used_triggers)
        if error is not None:
            self.rejected.append(Call(method, {**args, "failed": error}, token))
            return JSONResponse({"ok": False, "error": error})
        if method == "files.completeUploadExternal":
            error = self._complete(args)
            if error is not None:
                # Outside the channel is where the app stands; anything else is a bad call.
                kept = self.refused if error == "not_in_channel" else self.rejected
                kept.append(Call(method, {**args, "failed": error}, token))
                return JSONResponse({"ok": False, "error": error})
        self.calls.append(Call(method, args, token))
        if method == "chat.postEphemeral":
            self.last[(str(args.get("channel")), str(args.get("user")))] = args
        self.changed.set()
        return JSONResponse(self._answer(method, args))

    def _next_ts(self) -> str:
        self.ts += 1
        return f"1768471200.{self.ts:06d}"

    def _answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://acme.slack.com/",
                "team": "Acme",
                "user": "planbot",
                "team_id": TEAM,
                "user_id": BOT_USER,
                "bot_id": "BPLANBOT",
            }
        if method == "chat.postMessage":
            return {"ok": True, "channel": args.get("channel"), "ts": self._next_ts()}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": self._next_ts()}
        if method == "chat.update":
            return {"ok": True, "channel": args.get("channel"), "ts": args.get("ts")}
        if method in ("views.open", "views.update", "views.publish"):
            return {"ok": True, "view": {"id": f"V{len(self.calls)}", **(args.get("view") or {})}}
        if method == "files.getUploadURLExternal":
            file_id = f"F{len(self.pending_files) + len(self.files) + 1:08d}"
            self.pending_files[file_id] = PendingFile(str(args["filename"]), int(args["length"]))
            return {"ok": True, "upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}
        if method == "files.completeUploadExternal":
            return {
                "ok": True,
                "files": [{"id": f["id"], "title": f.get("title")} for f in args["files"]],
            }
        if method == "users.info":
            user = str(args.get("user"))
            return {
                "ok": True,
                "user": {
                    "id": user,
                    "team_id": TEAM,
                    "name": user.lower(),
                    "real_name": f"User {user}",
                    "is_admin": user in self.admins or user in self.owners,
                    "is_owner": user in self.owners,
                    "locale": self.locales.get(user, "en-US"),
                },
            }
        if method == "oauth.v2.access":
            if str(args.get("code")) not in self.installs:
                return {"ok": False, "error": "invalid_code"}
            team, token = self.installs[str(args.get("code"))]
            return {
                "ok": True,
                "access_token": token,
                "token_type": "bot",
                "scope": "commands,chat:write,users:read",
                "bot_user_id": BOT_USER,
                "app_id": "APLANBOT",
                "team": {"id": team, "name": "Acme" if team == TEAM else team},
                "authed_user": {"id": "UOWNER"},
            }
        return {"ok": False, "error": "unknown_method"}


@contextlib.asynccontextmanager
async def running(api: FakeSlackApi) -> AsyncIterator[str]:
    """Serve the fake on a free port of 127.0.0.1; yields its base URL."""
    async with serve_on_loopback(api.app()) as url:
        api.url = url
        yield url

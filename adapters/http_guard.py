"""Bounded reading and safe parsing of request bodies, so junk gets a 4xx and one log line.

A route reads its body through `read_body` (never more than its limit, whatever
Content-Length says), checks its secret or signature, and only then parses with
`json_object` / `form_fields`. Anything refused raises `Refused`; `guarded` turns that into
a short plain-text answer and a single warning line naming the route and the reason, with
nothing of the body in it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
MAX_DEPTH = 64
"""Deeper JSON than any platform sends: refused before a library recurses through it."""
MAX_FORM_FIELDS = 100

Endpoint = Callable[[Request], Awaitable[Response]]


class Refused(Exception):
    """A request answered with a 4xx: `status`, and a short `reason` for the answer and log."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def guarded(log: logging.Logger) -> Callable[[Endpoint], Endpoint]:
    """Wrap an endpoint so that `Refused` becomes its answer and one line in `log`."""

    def wrap(endpoint: Endpoint) -> Endpoint:
        async def guard(request: Request) -> Response:
            try:
                return await endpoint(request)
            except Refused as refused:
                return refusal(request, log, refused)

        guard.__name__ = endpoint.__name__
        guard.__doc__ = endpoint.__doc__
        return guard

    return wrap


def refusal(request: Request, log: logging.Logger, refused: Refused) -> Response:
    """The answer to a refused request, logged once without a traceback."""
    log.warning(
        "refused %s %s: %d %s", request.method, request.url.path, refused.status, refused.reason
    )
    return PlainTextResponse(refused.reason, status_code=refused.status)


async def read_body(request: Request, limit: int) -> bytes:
    """The body, read at most `limit` bytes far: a longer one is refused with 413."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not (declared.isascii() and declared.isdigit()):
            raise Refused(400, "bad Content-Length")
        if int(declared) > limit:
            raise Refused(413, "body too large")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Refused(413, "body too large")
        chunks.append(chunk)
    return b"".join(chunks)


def media_type(request: Request) -> str | None:
    """The Content-Type without its parameters, lowercased (None when there is none)."""
    value = request.headers.get("content-type")
    if value is None:
        return None
    return value.partition(";")[0].strip().lower() or None


def require_media_type(request: Request, *allowed: str) -> str | None:
    """The request's media type if it is one of `allowed` or absent; else 415."""
    found = media_type(request)
    if found is not None and found not in allowed:
        raise Refused(415, "unsupported content type")
    return found


def text(body: bytes) -> str:
    """The body as UTF-8 text; anything else is refused."""
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(400, "body is not UTF-8") from None


def json_object(data: bytes | str) -> dict[str, Any]:
    """A JSON object of bounded depth whose strings are all encodable; else 400."""
    source = text(data) if isinstance(data, bytes) else data
    if not source.strip():
        raise Refused(400, "empty body")
    try:
        value = json.loads(source)
    except RecursionError:
        raise Refused(400, "JSON nested too deep") from None
    except ValueError:
        raise Refused(400, "not JSON") from None
    if not isinstance(value, dict):
        raise Refused(400, "not a JSON object")
    _check_tree(value)
    return value


def _check_tree(root: dict[str, Any]) -> None:
    """Refuse nesting beyond MAX_DEPTH and lone surrogates (which no database can store)."""
    stack: list[tuple[Any, int]] = [(root, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            items: list[Any] = [*value.keys(), *value.values()]
        elif isinstance(value, list):
            items = value
        elif isinstance(value, str):
            _check_string(value)
            continue
        else:
            continue
        if depth > MAX_DEPTH:
            raise Refused(400, "JSON nested too deep")
        stack.extend((item, depth + 1) for item in items)


def _check_string(value: str) -> None:
    if value.isascii():
        return
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise Refused(400, "JSON string is not valid Unicode") from None


def form_fields(source: str) -> dict[str, str]:
    """A well-formed URL-encoded form (each field once, UTF-8 escapes); else 400."""
    try:
        pairs = parse_qsl(
            source,
            keep_blank_values=True,
            strict_parsing=True,
            errors="strict",
            max_num_fields=MAX_FORM_FIELDS,
        )
    except ValueError:  # UnicodeDecodeError included
        raise Refused(400, "not a form") from None
    fields = dict(pairs)
    if len(fields) != len(pairs):
        raise Refused(400, "a form field is repeated")
    return fields

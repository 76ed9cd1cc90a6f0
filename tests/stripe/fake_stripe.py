"""A fake Stripe API server for the real SDK: customers, coupons, Checkout Sessions, payment
intents and refunds, with form-encoded parameters parsed as Stripe parses them, idempotency
keys honoured as Stripe honours them, and webhooks signed exactly as Stripe signs them."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.loopback import serve_on_loopback

API_KEY = "sk_test_planbot"
WEBHOOK_SECRET = "whsec_planbot_test"
MIN_EXPIRY, MAX_EXPIRY = 30 * 60, 24 * 3600


class StripeFault(Exception):
    def __init__(self, status: int, kind: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.body = status, {"type": kind, "message": message, **extra}


def parse_form(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """`a[b][0][c]=v` into nested dicts; dicts keyed 0..n become lists (as Stripe reads them)."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = key.replace("]", "").split("[")
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return _lists(root)


def _lists(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    converted = {k: _lists(v) for k, v in node.items()}
    if converted and all(k.isdigit() for k in converted):
        return [converted[k] for k in sorted(converted, key=int)]
    return converted


def _int(params: dict[str, Any], key: str, *, required: bool = True) -> int | None:
    value = params.get(key)
    if value is None:
        if required:
            raise StripeFault(
                400, "invalid_request_error", f"Missing required param: {key}.", param=key
            )
        return None
    if not isinstance(value, str) or not value.lstrip("-").isdigit():
        raise StripeFault(400, "invalid_request_error", f"Invalid integer: {value}", param=key)
    return int(value)


def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


class FakeStripe:
    def __init__(self, now: Callable[[], datetime], *, latency: float = 0.0) -> None:
        """`latency`: seconds every API call waits before it is answered (a distant Stripe)."""
        self.now = now
        self.latency = latency
        self.url = ""
        self.customers: dict[str, dict[str, Any]] = {}
        self.payment_methods: dict[str, list[str]] = {}
        self.declining: set[str] = set()
        self.coupons: dict[str, dict[str, Any]] = {}
        self.sessions: dict[str, dict[str, Any]] = {}
        self.intents: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.idempotency: dict[str, tuple[str, int, dict[str, Any]]] = {}
        self.requests: list[tuple[str, str, dict[str, Any], str | None]] = []
        self.events: list[dict[str, Any]] = []
        self.webhook: httpx.AsyncClient | None = None
        self.secret = WEBHOOK_SECRET
        self.outages: dict[str, int] = {}
        """Path -> how many more requests to it are answered 503 before they run (nothing is
        done or remembered for them, as when Stripe is briefly unavailable)."""
        self.unavailable: list[tuple[str, str | None]] = []
        """Each request an outage answered: path and idempotency key."""

    # --- HTTP ---------------------------------------------------------------------------

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/{path:path}", self._dispatch, methods=["GET", "POST"])])

    async def _dispatch(self, request: Request) -> Response:
        if self.latency > 0:
            await asyncio.sleep(self.latency)
        if request.headers.get("authorization") != f"Bearer {API_KEY}":
            return JSONResponse(
                {"error": {"type": "invalid_request_error", "message": "Invalid API Key provided"}},
                401,
            )
        path = "/" + request.path_params["path"]
        if self.outages.get(path, 0) > 0:
            self.outages[path] -= 1
            self.unavailable.append((path, request.headers.get("idempotency-key")))
            return JSONResponse(
                {"error": {"type": "api_error", "message": "Stripe is temporarily unavailable"}},
                503,
            )
        body = (await request.body()).decode()
        pairs = parse_qsl(
            body if request.method == "POST" else request.url.query, keep_blank_values=True
        )
        params = parse_form(pairs)
        key = request.headers.get("idempotency-key")
        self.requests.append((request.method, path, params, key))
        fingerprint = json.dumps([request.method, path, sorted(pairs)])
        if request.method == "POST" and key is not None and key in self.idempotency:
            seen, status, answer = self.idempotency[key]
            if seen != fingerprint:
                return JSONResponse(
                    {
                        "error": {
                            "type": "idempotency_error",
                            "message": "Keys for idempotent requests can only be used with the "
                            "same parameters they were first used with.",
                        }
                    },
                    400,
                )
            return JSONResponse(answer, status, headers={"Idempotent-Replayed": "true"})
        try:
            status, answer = 200, self._route(request.method, path, params)
        except StripeFault as fault:
            status, answer = fault.status, {"error": fault.body}
        if request.method == "POST" and key is not None:
            self.idempotency[key] = (fingerprint, status, answer)
        return JSONResponse(answer, status)

    def _route(self, method: str, path: str, params: dict[str, Any]) -> dict[str, Any]:
        parts = path.strip("/").split("/")
        match method, parts:
            case "POST", ["v1", "customers"]:
                return self._customer(params)
            case "GET", ["v1", "customers", cus, "payment_methods"]:
                self._need(self.customers, cus, "customer")
                data = [
                    {"id": pm, "object": "payment_method", "type": "card", "customer": cus}
                    for pm in reversed(self.payment_methods.get(cus, []))
                ]
                limit = _int(params, "limit", required=False) or 10
                return {
                    "object": "list",
                    "data": data[:limit],
                    "has_more": len(data) > limit,
                    "url": path,
                }
            case "POST", ["v1", "coupons"]:
                return self._coupon(params)
            case "POST", ["v1", "checkout", "sessions"]:
                return self._session(params)
            case "GET", ["v1", "checkout", "sessions", sid]:
                return self._need(self.sessions, sid, "checkout.session")
            case "POST", ["v1", "checkout", "sessions", sid, "expire"]:
                return self.expire_session(sid)
            case "POST", ["v1", "payment_intents"]:
                return self._intent(params)
            case "GET", ["v1", "payment_intents", pid]:
                return self._need(self.intents, pid, "payment_intent")
            case "POST", ["v1", "refunds"]:
                return self._refund(params)
        raise StripeFault(
            404, "invalid_request_error", f"Unrecognized request URL ({method}: {path})."
        )

    @staticmethod
    def _need(store: dict[str, dict[str, Any]], key: str, what: str) -> dict[str, Any]:
        if key not in store:
            raise StripeFault(
                404, "invalid_request_error", f"No such {what}: '{key}'", code="resource_missing"
            )
        return store[key]

    def _id(self, prefix: str) -> str:
        return f"{prefix}_test_{secrets.token_hex(8)}"

    def _ts(self) -> int:
        return int(self.now().timestamp())

    # --- resources -------------------------------------------------------------------------

    def _customer(self, params: dict[str, Any]) -> dict[str, Any]:
        cus = {
            "id": self._id("cus"),
            "object": "customer",
            "name": params.get("name"),
            "metadata": params.get("metadata", {}),
        }
        self.customers[cus["id"]] = cus
        return cus

    def _coupon(self, params: dict[str, Any]) -> dict[str, Any]:
        amount = _int(params, "amount_off")
        assert amount is not None
        if amount < 1 or not params.get("currency"):
            raise StripeFault(
                400,
                "invalid_request_error",
                "amount_off needs a positive amount and a currency",
                param="amount_off",
            )
        if params.get("duration") not in ("once", "forever", "repeating"):
            raise StripeFault(400, "invalid_request_error", "Invalid duration", param="duration")
        coupon = {
            "id": self._id("co"),
            "object": "coupon",
            "amount_off": amount,
            "currency": params["currency"],
            "duration": params["duration"],
            "max_redemptions": _int(params, "max_redemptions", required=False),
            "times_redeemed": 0,
        }
        self.coupons[coupon["id"]] = coupon
        return coupon

    def _session(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("mode") != "payment":
            raise StripeFault(
                400, "invalid_request_error", "This fake serves payment mode only", param="mode"
            )
        for required in ("success_url", "line_items", "customer", "expires_at"):
            if required not in params:
                raise StripeFault(
                    400,
                    "invalid_request_error",
                    f"Missing required param: {required}.",
                    param=required,
                )
        customer = params["customer"]
        self._need(self.customers, customer, "customer")
        now = self._ts()
        expires_at = _int(params, "expires_at")
        assert expires_at is not None
        if not now + MIN_EXPIRY <= expires_at <= now + MAX_EXPIRY:
            raise StripeFault(
                400,
                "invalid_request_error",
                "The `expires_at` timestamp must be between 30 minutes and 24 "
                "hours from Checkout Session creation.",
                param="expires_at",
            )
        subtotal, currency = 0, None
        for n, item in enumerate(params["line_items"]):
            data = item.get("price_data") or {}
            unit = _int(data, "unit_amount")
            quantity = _int(item, "quantity")
            assert unit is not None and quantity is not None
            if (
                quantity < 1
                or unit < 0
                or not data.get("currency")
                or not (data.get("product_data") or {}).get("name")
            ):
                raise StripeFault(
                    400, "invalid_request_error", "Invalid line item", param=f"line_items[{n}]"
                )
            if currency not in (None, data["currency"]):
                raise StripeFault(
                    400,
                    "invalid_request_error",
                    "Line items must share a currency",
                    param=f"line_items[{n}]",
                )
            currency = data["currency"]
            subtotal += unit * quantity
        discount = 0
        for entry in params.get("discounts", []):
            coupon = self._need(self.coupons, entry.get("coupon", ""), "coupon")
            if coupon["currency"] != currency:
                raise StripeFault(
                    400,
                    "invalid_request_error",
                    "The coupon's currency does not match",
                    param="discounts",
                )
            if (
                coupon["max_redemptions"] is not None
                and coupon["times_redeemed"] >= coupon["max_redemptions"]
            ):
                raise StripeFault(
                    400,
                    "invalid_request_error",
                    "This coupon has been fully redeemed",
                    param="discounts",
                )
            coupon["times_redeemed"] += 1
            discount += coupon["amount_off"]
        methods = params.get("payment_method_types", ["card"])
        if not set(methods) <= {"card", "customer_balance"}:
            raise StripeFault(
                400,
                "invalid_request_error",
                "Unsupported payment method type",
                param="payment_method_types",
            )
        intent_data = params.get("payment_intent_data", {})
        if "customer_balance" in methods:
            options = params.get("payment_method_options", {}).get("customer_balance", {})
            if options.get("funding_type") != "bank_transfer" or not options.get(
                "bank_transfer", {}
            ).get("type"):
                raise StripeFault(
                    400,
                    "invalid_request_error",
                    "customer_balance needs funding_type bank_transfer and a bank_transfer type",
                    param="payment_method_options",
                )
            if intent_data.get("setup_future_usage"):
                raise StripeFault(
                    400,
                    "invalid_request_error",
                    "customer_balance does not support setup_future_usage",
                    param="payment_intent_data[setup_future_usage]",
                )
        sid = self._id("cs")
        session = {
            "id": sid,
            "object": "checkout.session",
            "mode": "payment",
            "status": "open",
            "payment_status": "unpaid",
            "url": f"{self.url}/pay/{sid}",
            "customer": customer,
            "client_reference_id": params.get("client_reference_id"),
            "metadata": params.get("metadata", {}),
            "currency": currency,
            "amount_subtotal": subtotal,
            "amount_total": max(0, subtotal - discount),
            "total_details": {"amount_discount": discount},
            "expires_at": expires_at,
            "payment_intent": None,
            "payment_method_types": methods,
            "success_url": params["success_url"],
            "cancel_url": params.get("cancel_url"),
            "line_items": params["line_items"],
            "payment_intent_data": intent_data,
            "created": now,
        }
        self.sessions[sid] = session
        return session

    def _intent(self, params: dict[str, Any]) -> dict[str, Any]:
        amount = _int(params, "amount")
        assert amount is not None
        customer, method = params.get("customer"), params.get("payment_method")
        if not params.get("currency") or customer not in self.customers:
            raise StripeFault(
                400, "invalid_request_error", "currency and an existing customer are required"
            )
        if params.get("confirm") != "true" or params.get("off_session") != "true":
            raise StripeFault(
                400, "invalid_request_error", "This fake confirms off-session intents only"
            )
        if method not in self.payment_methods.get(customer, []):
            raise StripeFault(
                400,
                "invalid_request_error",
                f"No such PaymentMethod: '{method}'",
                param="payment_method",
            )
        intent = self._new_intent(amount, params["currency"], customer, params.get("metadata", {}))
        if method in self.declining:
            intent.update(status="requires_payment_method", amount_received=0)
            raise StripeFault(
                402,
                "card_error",
                "Your card has insufficient funds.",
                code="card_declined",
                decline_code="insufficient_funds",
                payment_intent=intent,
            )
        self.events.append(self._event("payment_intent.succeeded", intent))
        return intent

    def _new_intent(
        self, amount: int, currency: str, customer: str, metadata: dict[str, Any]
    ) -> dict[str, Any]:
        intent = {
            "id": self._id("pi"),
            "object": "payment_intent",
            "amount": amount,
            "amount_received": amount,
            "currency": currency,
            "customer": customer,
            "status": "succeeded",
            "metadata": metadata,
        }
        self.intents[intent["id"]] = intent
        return intent

    def _refund(self, params: dict[str, Any]) -> dict[str, Any]:
        intent = self._need(self.intents, params.get("payment_intent", ""), "payment_intent")
        amount = _int(params, "amount", required=False) or intent["amount_received"]
        done = sum(
            r["amount"] for r in self.refunds.values() if r["payment_intent"] == intent["id"]
        )
        if amount < 1 or done + amount > intent["amount_received"]:
            raise StripeFault(
                400,
                "invalid_request_error",
                "Refund amount is greater than the unrefunded amount",
                param="amount",
            )
        refund = {
            "id": self._id("re"),
            "object": "refund",
            "amount": amount,
            "currency": intent["currency"],
            "payment_intent": intent["id"],
            "status": "succeeded",
            "metadata": params.get("metadata", {}),
        }
        self.refunds[refund["id"]] = refund
        return refund

    # --- what customers do on the hosted page, and the events it produces ---------------------

    def _event(self, kind: str, obj: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": self._id("evt"),
            "object": "event",
            "type": kind,
            "api_version": "2025-01-01",
            "created": self._ts(),
            "livemode": False,
            "pending_webhooks": 1,
            "data": {"object": json.loads(json.dumps(obj))},
        }

    def pay(self, sid: str, *, asynchronous: bool = False) -> list[dict[str, Any]]:
        """The customer pays: by card at once, or by bank transfer (completed, money later)."""
        session = self.sessions[sid]
        assert session["status"] == "open", session["status"]
        intent = self._new_intent(
            session["amount_total"],
            session["currency"],
            session["customer"],
            session["payment_intent_data"].get("metadata", {}),
        )
        session.update(status="complete", payment_intent=intent["id"])
        if asynchronous:
            intent["status"], intent["amount_received"] = "processing", 0
            events = [self._event("checkout.session.completed", session)]
        else:
            session["payment_status"] = "paid"
            if session["payment_intent_data"].get("setup_future_usage"):
                self.payment_methods.setdefault(session["customer"], []).append(self._id("pm"))
            events = [
                self._event("checkout.session.completed", session),
                self._event("payment_intent.succeeded", intent),
            ]
        self.events.extend(events)
        return events

    def settle(self, sid: str, *, ok: bool = True) -> dict[str, Any]:
        """The bank transfer of a completed session arrives (or fails)."""
        session = self.sessions[sid]
        intent = self.intents[session["payment_intent"]]
        if ok:
            session["payment_status"] = "paid"
            intent.update(status="succeeded", amount_received=intent["amount"])
        else:
            intent["status"] = "requires_payment_method"
        event = self._event(
            "checkout.session.async_payment_" + ("succeeded" if ok else "failed"), session
        )
        self.events.append(event)
        return event

    def decline(self, sid: str) -> dict[str, Any]:
        """A card is declined on the page: the session stays open, the customer may retry."""
        session = self.sessions[sid]
        intent = self._new_intent(
            session["amount_total"],
            session["currency"],
            session["customer"],
            session["payment_intent_data"].get("metadata", {}),
        )
        intent.update(status="requires_payment_method", amount_received=0)
        event = self._event("payment_intent.payment_failed", intent)
        self.events.append(event)
        return event

    def expire_session(self, sid: str) -> dict[str, Any]:
        session = self._need(self.sessions, sid, "checkout.session")
        if session["status"] != "open":
            raise StripeFault(
                400,
                "invalid_request_error",
                f"Only open Checkout Sessions can be expired; this one is {session['status']}.",
            )
        session["status"] = "expired"
        self.events.append(self._event("checkout.session.expired", session))
        return session

    def event(self, kind: str, obj: dict[str, Any]) -> dict[str, Any]:
        return self._event(kind, obj)

    async def send(
        self,
        event: dict[str, Any],
        *,
        timestamp: int | None = None,
        secret: str | None = None,
        body: bytes | None = None,
    ) -> httpx.Response:
        assert self.webhook is not None
        payload = body if body is not None else json.dumps(event).encode()
        header = sign(payload, secret or self.secret, timestamp)
        return await self.webhook.post(
            "/stripe/webhook",
            content=payload,
            headers={"Stripe-Signature": header, "Content-Type": "application/json"},
        )

    def calls(self, method: str, path: str) -> list[tuple[dict[str, Any], str | None]]:
        return [(p, k) for m, pa, p, k in self.requests if m == method and pa == path]


@contextlib.asynccontextmanager
async def running(fake: FakeStripe) -> AsyncIterator[str]:
    """Serve the fake on a free port of 127.0.0.1; yields its base URL."""
    async with serve_on_loopback(fake.app()) as url:
        fake.url = url
        yield url

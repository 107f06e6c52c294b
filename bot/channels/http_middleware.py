"""ASGI middlewares of the HTTP channel: body guard, rate limit, security headers, request log.

Order (outermost first, see `bot.channels.http.create_app`): Observe (one log line, security
headers) → trusted proxies (only when configured) → GZip → CORS → RateLimit → BodyGuard → app.
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
from typing import Any

from limits import RateLimitItem, RateLimitItemPerMinute, RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.channels.redis_breaker import REDIS_TIMEOUT, CircuitBreaker, breaker_for

log = logging.getLogger("aiguillage.http")

GUARDED_PREFIXES = ("/api/", "/webhooks/", "/ambassadeur/referrals")
MAX_JSON_DEPTH = 16
#: every response: no framing, no sniffing, no referrer
BASE_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(self)"),
]
#: API answers (JSON): nothing to run, nothing to frame, nothing to cache
API_CSP = b"default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
#: the demo page, at / and /widget/demo.html
DEMO_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
DEMO_PATHS = {"/", "/widget/demo.html"}
#: the agents' console /pro: its own scripts and styles only, forms posted to itself
CONSOLE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)

#: the ambassadeurs' page /ambassadeur: its own scripts, styles, service worker and manifest
OUTREACH_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; worker-src 'self'; manifest-src 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'"
)


async def send_json(
    send: Send, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> None:
    payload = json.dumps(body, ensure_ascii=False).encode()
    raw = [
        (b"content-type", b"application/json; charset=utf-8"),
        (b"content-length", str(len(payload)).encode()),
    ]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": payload})


def guarded(scope: Scope) -> bool:
    return scope["type"] == "http" and str(scope["path"]).startswith(GUARDED_PREFIXES)


_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)
_BRACKET = re.compile(rb"[\[\]{}]")


def json_depth(body: bytes) -> int:
    """Deepest nesting of arrays and objects in a JSON text (strings skipped), without recursion."""
    depth = deepest = 0
    for match in _BRACKET.finditer(_STRING.sub(b"", body)):
        if match.group() in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


class BodyGuard:
    """On the API paths: size (413), JSON content type (415), UTF-8, JSON syntax and depth (400)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not guarded(scope) or scope["method"] not in {"POST", "PUT", "PATCH"}:
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        too_big = {"detail": f"Message trop long : {self.max_bytes} octets au plus."}
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await send_json(send, 413, too_big)
            return
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await send_json(send, 413, too_big)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        problem = self.check(body, headers.get("content-type", ""))
        if problem is not None:
            await send_json(send, problem[0], {"detail": problem[1]})
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    @staticmethod
    def check(body: bytes, content_type: str) -> tuple[int, str] | None:
        if not body:
            return None
        media = content_type.split(";")[0].strip().lower()
        if media != "application/json" and not media.endswith("+json"):
            return (
                415,
                "Type de contenu non pris en charge : envoyez du JSON (Content-Type: application/json).",
            )
        try:
            decoded = body.decode("utf-8")
        except UnicodeDecodeError:
            return 400, "Le corps de la requête n'est pas du texte UTF-8 (données binaires ?)."
        if json_depth(body) > MAX_JSON_DEPTH:
            return 400, "Le corps de la requête est un JSON trop imbriqué."
        try:
            json.loads(decoded)
        except (ValueError, RecursionError):
            return 400, "Le corps de la requête n'est pas un JSON valide."
        return None


class Limiter:
    """Two moving windows per client address (`limits`): a burst per 10 s and a rate per minute.

    With a Redis URL the counters are shared by every worker; when Redis fails (or its circuit
    breaker is open) this process's own counters are used until it answers again.
    """

    def __init__(
        self, per_minute: float, burst: int, redis_url: str = "", prefix: str = "aiguillage:rate:"
    ) -> None:
        self.items: list[RateLimitItem] = [
            RateLimitItemPerSecond(max(1, burst), 10),
            RateLimitItemPerMinute(max(1, round(per_minute))),
        ]
        self.memory = MovingWindowRateLimiter(MemoryStorage())
        self.shared: MovingWindowRateLimiter | None = None
        self.breaker: CircuitBreaker | None = None
        if redis_url:
            storage = RedisStorage(
                "async+" + redis_url,
                implementation="redispy",
                key_prefix=prefix.rstrip(":"),
                wrap_exceptions=True,
                socket_timeout=REDIS_TIMEOUT,
                socket_connect_timeout=REDIS_TIMEOUT,
            )
            self.shared = MovingWindowRateLimiter(storage)
            self.breaker = breaker_for(redis_url)
        self._warned = 0.0

    async def wait(self, key: str) -> float:
        """Count one request; 0 if allowed, else the seconds until it would be."""
        if self.shared is not None and self.breaker is not None and self.breaker.allow():
            try:
                wait = await self._wait(self.shared, key)
            except Exception as error:  # any storage failure: count in this process instead
                self.breaker.failure()
                if time.monotonic() - self._warned > 60:
                    self._warned = time.monotonic()
                    log.warning(
                        "redis rate limit unavailable (%s); using in-process limits", type(error).__name__
                    )
            else:
                self.breaker.success()
                return wait
        return await self._wait(self.memory, key)

    async def _wait(self, limiter: MovingWindowRateLimiter, key: str) -> float:
        for item in self.items:
            if not await limiter.hit(item, key):
                stats = await limiter.get_window_stats(item, key)
                return max(1.0, stats.reset_time - time.time())
        return 0.0


class RateLimit:
    """Rate limit per client address on the API paths: 429 with Retry-After."""

    def __init__(self, app: ASGIApp, limiter: Limiter) -> None:
        self.app, self.limiter = app, limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not guarded(scope) or scope["method"] == "OPTIONS":
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        wait = await self.limiter.wait(client[0] if client else "unknown")
        if wait > 0:
            retry = str(max(1, math.ceil(wait)))
            body = {"detail": f"Trop de messages à la suite. Réessayez dans {retry} s."}
            await send_json(send, 429, body, {"Retry-After": retry})
            return
        await self.app(scope, receive, send)


def route_label(scope: Scope) -> str:
    """The matched route template; never the raw path of an unknown address (it may hold anything)."""
    route = getattr(scope.get("route"), "path", None)
    if route:
        return str(route)
    if str(scope.get("path", "")).startswith("/widget/"):
        return "/widget/{file}"
    if str(scope.get("path", "")).startswith("/pro/static/"):
        return "/pro/static/{file}"
    if str(scope.get("path", "")).startswith("/ambassadeur/static/"):
        return "/ambassadeur/static/{file}"
    return "(inconnu)"


class Observe:
    """One log line per request (route, conversation pseudonym, status, latency) and security headers."""

    def __init__(self, app: ASGIApp, docs_csp: str = "") -> None:
        self.app, self.docs_csp = app, docs_csp.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start, status = time.perf_counter(), 500
        path = str(scope["path"])
        extra = list(BASE_HEADERS)
        if path in DEMO_PATHS:
            extra.append((b"content-security-policy", DEMO_CSP.encode()))
        elif path == "/pro" or path.startswith("/pro/"):
            extra.append((b"content-security-policy", CONSOLE_CSP.encode()))
        elif path == "/ambassadeur" or path.startswith("/ambassadeur/"):
            extra.append((b"content-security-policy", OUTREACH_CSP.encode()))
        elif path == "/docs" and self.docs_csp:
            extra.append((b"content-security-policy", self.docs_csp))
        elif not path.startswith("/widget/"):
            extra.append((b"content-security-policy", API_CSP))
        if guarded(scope):
            extra.append((b"cache-control", b"no-store"))

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                names = {k.lower() for k, _ in message.get("headers", [])}
                headers = list(message.get("headers", [])) + [h for h in extra if h[0] not in names]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = route_label(scope)
            conversation = scope.get("state", {}).get("conversation", "-")
            quiet = route in {"/healthz", "/readyz"} or route.startswith("/widget")
            log.log(
                logging.DEBUG if quiet else logging.INFO,
                "%s %s conv=%s status=%s ms=%.1f",
                scope["method"]
                if scope["method"] in {"GET", "POST", "DELETE", "PUT", "PATCH", "HEAD", "OPTIONS"}
                else "-",
                route,
                conversation,
                status,
                (time.perf_counter() - start) * 1000,
            )

"""HTTP channel: native JSON API, Rasa REST-compatible webhook, web widget, health checks.

`create_app()` builds the FastAPI application (OpenAPI at /docs and /openapi.json); `serve()` runs
it with uvicorn. Conversation ids of the native API are created by `POST /api/v1/conversations`
(random, 22 characters); a message to an unknown id gets 404 — it does not start a conversation,
so an expired or erased conversation is never resurrected silently. The Rasa webhook follows Rasa:
any new `sender` starts a conversation.

Settings (arguments of `create_app`, else environment variables):
AIGUILLAGE_MAX_BODY_BYTES (4096), AIGUILLAGE_RATE_LIMIT_PER_MINUTE (60), AIGUILLAGE_RATE_LIMIT_BURST
(20), AIGUILLAGE_REDIS_URL (shared locks and rate limits), AIGUILLAGE_CORS_ORIGINS ("*", comma
separated), AIGUILLAGE_LOG_CONTENT (0; 1 logs message texts — debugging only),
AIGUILLAGE_FORWARDED_ALLOW_IPS (127.0.0.1: proxies trusted for X-Forwarded-For), AIGUILLAGE_WORKERS.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import fcntl
import importlib
import json
import logging
import math
import os
import re
import secrets
import threading
import time
import traceback
import unicodedata
from collections.abc import Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Annotated, Any, TypeVar

from fastapi import FastAPI, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field, model_validator
from sqlalchemy import Engine as DbEngine
from sqlalchemy import text as sql_text
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.channels.stats_routes import router as stats_router
from bot.channels.store import (
    ConversationNotFound,
    ConversationStore,
    StoreBusy,
    TurnResult,
    retention_days,
)
from bot.dialogue.api import Engine, Incoming, Reply
from knowledge.db import make_engine, upgrade

log = logging.getLogger("aiguillage.http")

WIDGET_DIR = FsPath(__file__).parent / "widget"
WEB_CHANNEL = "web"
RASA_CHANNEL = "rest"
MAX_TEXT_CHARS = 2000
CONVERSATION_ID = r"^[A-Za-z0-9_-]{8,64}$"
GUARDED_PREFIXES = ("/api/", "/webhooks/rest/")
DEMO_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
T = TypeVar("T")


# ---------------------------------------------------------------------------------------- settings
def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    return float(raw) if raw else default


@dataclass
class HttpSettings:
    max_body_bytes: int = 4096
    rate_per_minute: float = 60.0
    rate_burst: int = 20
    redis_url: str = ""
    cors_origins: list[str] = field(default_factory=lambda: ["*"])
    log_content: bool = False
    #: Redis keys of the shared rate-limit buckets (one per client address)
    rate_key_prefix: str = "aiguillage:rate:"

    @classmethod
    def from_env(cls) -> HttpSettings:
        origins = os.environ.get("AIGUILLAGE_CORS_ORIGINS", "*")
        return cls(
            max_body_bytes=_env_int("AIGUILLAGE_MAX_BODY_BYTES", 4096),
            rate_per_minute=_env_float("AIGUILLAGE_RATE_LIMIT_PER_MINUTE", 60.0),
            rate_burst=_env_int("AIGUILLAGE_RATE_LIMIT_BURST", 20),
            redis_url=os.environ.get("AIGUILLAGE_REDIS_URL", ""),
            cors_origins=[o.strip() for o in origins.split(",") if o.strip()],
            log_content=os.environ.get("AIGUILLAGE_LOG_CONTENT", "") in {"1", "true", "yes"},
        )


# ---------------------------------------------------------------------------------------- schemas
class LocationIn(BaseModel):
    lat: float = Field(ge=-90, le=90, allow_inf_nan=False, description="latitude (WGS 84)")
    lon: float = Field(ge=-180, le=180, allow_inf_nan=False, description="longitude (WGS 84)")


class MessageIn(BaseModel):
    """A text (a quick-reply press sends the button's payload as text) or a location — one of the two."""

    text: str | None = Field(None, max_length=MAX_TEXT_CHARS, examples=["Bonjour"])
    location: LocationIn | None = None

    @model_validator(mode="after")
    def _one_of(self) -> MessageIn:
        if self.text is not None and self.location is not None:
            raise ValueError("envoyez soit un texte, soit une position, pas les deux")
        if self.text is None and self.location is None:
            raise ValueError("le message doit contenir « text » ou « location »")
        return self


class StartIn(BaseModel):
    """Optional first message of a new conversation (a text or a location)."""

    text: str | None = Field(None, max_length=MAX_TEXT_CHARS, examples=["Bonjour"])
    location: LocationIn | None = None


class ButtonOut(BaseModel):
    title: str
    payload: str


class ReplyOut(BaseModel):
    text: str
    buttons: list[ButtonOut]
    custom: dict[str, Any] | None = Field(
        None, description="extras: request_location, summary, orientation, links ([{title, url}])…"
    )


class ConversationOut(BaseModel):
    conversation_id: str
    replies: list[ReplyOut]
    erased: bool = Field(
        False,
        description="true when the message asked to erase the data (« effacer mes données », /oubli): "
        "the conversation no longer exists, the next message must create a new one",
    )


class SummaryOut(BaseModel):
    conversation_id: str
    summary: dict[str, Any]
    message_count: int
    updated_at: str
    expires_at: str = Field(description="date after which the conversation is deleted if idle")


class ErasedOut(BaseModel):
    conversation_id: str
    erased: bool
    detail: str


class RasaIn(BaseModel):
    sender: str = Field(min_length=1, max_length=128, description="the client's conversation id")
    message: str = Field(max_length=MAX_TEXT_CHARS)
    metadata: dict[str, Any] | None = None


class RasaOut(BaseModel):
    recipient_id: str
    text: str
    buttons: list[ButtonOut]
    custom: dict[str, Any] | None = None


class ErrorOut(BaseModel):
    detail: str


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (400, 404, 413, 415, 422, 429, 503)
}
ConversationId = Annotated[str, Path(pattern=CONVERSATION_ID, description="id returned at creation")]


class ApiError(Exception):
    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.headers = status, detail, headers or {}


def _error(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


# ---------------------------------------------------------------------------------------- input
_CONTROL = {c: None for c in range(32) if chr(c) not in "\n\t"} | {127: None}


def clean_text(text: str) -> str:
    """Drop control characters (keeps newlines, emoji and their joiners); raise 400 if nothing is left."""
    cleaned = text.translate(_CONTROL).strip()
    visible = [ch for ch in cleaned if not ch.isspace() and unicodedata.category(ch) != "Cf"]
    if not visible:
        raise ApiError(400, "Le message est vide : écrivez votre question ou choisissez une réponse.")
    return cleaned


def to_incoming(text: str | None, location: LocationIn | None, channel: str) -> Incoming:
    if location is not None:
        return Incoming(latitude=location.lat, longitude=location.lon, channel=channel)
    return Incoming(text=clean_text(text or ""), channel=channel)


def replies_json(replies: list[Reply]) -> list[dict[str, Any]]:
    return [reply.to_json() for reply in replies]


def conversation_json(conversation_id: str, result: TurnResult) -> dict[str, Any]:
    return {
        "conversation_id": conversation_id,
        "replies": replies_json(result.replies),
        "erased": result.erased,
    }


# ---------------------------------------------------------------------------------------- rate limits
class MemoryBuckets:
    """Token buckets per client key, in this process."""

    def __init__(self, per_minute: float, burst: int) -> None:
        self.rate, self.burst = per_minute / 60.0, float(burst)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Take one token; return 0 if allowed, else the seconds to wait."""
        now = time.monotonic()
        with self._lock:
            tokens, stamp = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - stamp) * self.rate)
            wait = 0.0 if tokens >= 1 else (1 - tokens) / self.rate
            self._buckets[key] = (tokens - 1 if tokens >= 1 else tokens, now)
            if len(self._buckets) > 10_000:  # forget clients whose bucket is full again
                full = self.burst / self.rate
                self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < full}
        return wait


_REDIS_BUCKET = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local data = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(data[1])
local ts = tonumber(data[2])
if tokens == nil then tokens = burst; ts = now end
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 1)
return tostring(wait)
"""


class RedisBuckets:
    """The same token buckets in Redis, shared by every worker; falls back to memory if Redis fails."""

    def __init__(self, url: str, per_minute: float, burst: int, prefix: str = "aiguillage:rate:") -> None:
        self.url, self.rate, self.burst, self.prefix = url, per_minute / 60.0, burst, prefix
        self.fallback = MemoryBuckets(per_minute, burst)
        self._client: Any = None
        self._script: Any = None
        self._warned = 0.0

    async def take(self, key: str) -> float:
        import redis.asyncio as aioredis
        from redis.exceptions import RedisError

        try:
            if self._script is None:
                self._client = aioredis.Redis.from_url(self.url, socket_timeout=2, socket_connect_timeout=2)
                self._script = self._client.register_script(_REDIS_BUCKET)
            wait = await self._script(keys=[self.prefix + key], args=[self.rate, self.burst])
            return float(wait)
        except (RedisError, OSError) as error:
            if time.monotonic() - self._warned > 60:
                self._warned = time.monotonic()
                log.warning(
                    "redis rate limit unavailable (%s); using in-memory buckets", type(error).__name__
                )
            return self.fallback.take(key)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()


# ---------------------------------------------------------------------------------------- middlewares
async def _send_json(
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


def _guarded(scope: Scope) -> bool:
    return scope["type"] == "http" and str(scope["path"]).startswith(GUARDED_PREFIXES)


class BodyGuard:
    """On the API paths: size limit (413), JSON content type (415), UTF-8 (400) and JSON syntax (400)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not _guarded(scope) or scope["method"] not in {"POST", "PUT", "PATCH"}:
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        too_big = {"detail": f"Message trop long : {self.max_bytes} octets au plus."}
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await _send_json(send, 413, too_big)
            return
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await _send_json(send, 413, too_big)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        problem = self._check(body, headers.get("content-type", ""))
        if problem is not None:
            await _send_json(send, problem[0], {"detail": problem[1]})
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
    def _check(body: bytes, content_type: str) -> tuple[int, str] | None:
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
        try:
            json.loads(decoded)
        except ValueError:
            return 400, "Le corps de la requête n'est pas un JSON valide."
        return None


class RateLimit:
    """Token bucket per client address on the API paths: 429 with Retry-After when empty."""

    def __init__(self, app: ASGIApp, buckets: MemoryBuckets | RedisBuckets) -> None:
        self.app, self.buckets = app, buckets

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not _guarded(scope) or scope["method"] == "OPTIONS":
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        key = client[0] if client else "unknown"
        if isinstance(self.buckets, RedisBuckets):
            wait = await self.buckets.take(key)
        else:
            wait = self.buckets.take(key)
        if wait > 0:
            retry = str(max(1, math.ceil(wait)))
            body = {"detail": f"Trop de messages à la suite. Réessayez dans {retry} s."}
            await _send_json(send, 429, body, {"Retry-After": retry})
            return
        await self.app(scope, receive, send)


_ID_IN_PATH = re.compile(r"/conversations/[^/]+")


class Observe:
    """One log line per request (route, conversation pseudonym, status, latency) and safety headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start, status = time.perf_counter(), 500
        is_demo = scope["path"] == "/"

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers += [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer")]
                if is_demo:
                    headers.append((b"content-security-policy", DEMO_CSP.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = getattr(scope.get("route"), "path", None) or _ID_IN_PATH.sub(
                "/conversations/{id}", scope["path"]
            )
            conversation = scope.get("state", {}).get("conversation", "-")
            level = (
                logging.DEBUG
                if route in {"/healthz", "/readyz"} or route.startswith("/widget")
                else logging.INFO
            )
            log.log(
                level,
                "%s %s conv=%s status=%s ms=%.1f",
                scope["method"],
                route,
                conversation,
                status,
                (time.perf_counter() - start) * 1000,
            )


# ---------------------------------------------------------------------------------------- migrations
def migrate(db_engine: DbEngine) -> None:
    """`upgrade()`, serialized between workers starting together (advisory lock or lock file)."""
    if db_engine.dialect.name == "postgresql":
        with db_engine.connect() as conn:
            conn.execute(sql_text("SELECT pg_advisory_lock(7134020002)"))
            try:
                upgrade(db_engine)
            finally:
                conn.execute(sql_text("SELECT pg_advisory_unlock(7134020002)"))
                conn.commit()
        return
    database = db_engine.url.database
    if db_engine.dialect.name != "sqlite" or not database or database == ":memory:":
        upgrade(db_engine)
        return
    with open(f"{database}.migrate-lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            upgrade(db_engine)
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def warm_up_engine(engine: Engine) -> None:
    """One turn on a fresh state, not stored: loads what the engine loads lazily."""
    started = time.perf_counter()
    try:
        engine.handle(engine.new_state(), Incoming(text="je cherche une crèche à Arras", channel=WEB_CHANNEL))
    except Exception as error:  # a warm-up failure is not fatal; the real turns will tell
        log.warning("engine warm-up failed (%s)", type(error).__name__)
        return
    log.info("engine warmed up in %.2f s", time.perf_counter() - started)


# ---------------------------------------------------------------------------------------- the app
def create_app(
    engine: Engine | None = None,
    db_url: str | None = None,
    *,
    db_engine: DbEngine | None = None,
    settings: HttpSettings | None = None,
    store: ConversationStore | None = None,
    run_migrations: bool = True,
    purge_on_startup: bool = True,
    telegram: bool = True,
    warm_up: bool | None = None,
) -> FastAPI:
    """Build the application. Defaults: `build_engine()`, `knowledge.db` URL, settings from the environment.

    `warm_up` (default: when this function builds the engine) runs one throwaway turn before
    `/readyz` says ready, so that the first person is not the one waiting for lazy loading (4 s).
    """
    settings = settings or HttpSettings.from_env()
    if warm_up is None:
        warm_up = store is None and engine is None
    if store is None:
        if engine is None:
            from bot.dialogue.engine import build_engine

            engine = build_engine()
        db_engine = db_engine or make_engine(db_url)
        store = ConversationStore(db_engine, engine, redis_url=settings.redis_url)
    state: dict[str, Any] = {"ready": False}

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # type: ignore[no-untyped-def]
        if run_migrations:
            await run_in_threadpool(migrate, store.db)
        if purge_on_startup:
            try:
                removed = await run_in_threadpool(store.purge)
                log.info("retention purge at startup: %d conversation(s) removed", removed)
            except Exception as error:  # never block the start for a purge
                log.warning("retention purge failed (%s)", type(error).__name__)
        if warm_up:
            await run_in_threadpool(warm_up_engine, store.engine)
        state["ready"] = True
        yield
        state["ready"] = False
        if isinstance(buckets, RedisBuckets):
            await buckets.close()

    app = FastAPI(
        title="Aiguillage — API de conversation",
        version="1.0",
        description=(
            "Assistant automatique d'orientation vers les aides sociales. Seul l'état de la conversation "
            f"(faits utiles, pas les messages) est conservé, {retention_days()} jours après le dernier message."
        ),
        lifespan=lifespan,
    )
    app.state.store = store
    app.state.settings = settings
    buckets: MemoryBuckets | RedisBuckets = (
        RedisBuckets(
            settings.redis_url, settings.rate_per_minute, settings.rate_burst, settings.rate_key_prefix
        )
        if settings.redis_url
        else MemoryBuckets(settings.rate_per_minute, settings.rate_burst)
    )
    app.state.rate_buckets = buckets
    app.add_middleware(BodyGuard, max_bytes=settings.max_body_bytes)
    app.add_middleware(RateLimit, buckets=buckets)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["GET", "POST", "DELETE"],
        allow_headers=["Content-Type"],
        expose_headers=["Retry-After"],
        max_age=600,
    )
    # the widget and long replies over a poor connection
    app.add_middleware(GZipMiddleware, minimum_size=1024, compresslevel=6)
    app.add_middleware(Observe)
    _install_error_handlers(app)
    _install_routes(app, store, settings, state)
    app.include_router(stats_router)  # POST /api/v1/feedback, GET /api/v1/stats
    app.mount("/widget", StaticFiles(directory=WIDGET_DIR), name="widget")
    if telegram:
        mount_telegram_webhook(app)
    return app


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return _error(exc.status, exc.detail, exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = {404: "Adresse inconnue.", 405: "Méthode non autorisée pour cette adresse."}.get(
            exc.status_code, str(exc.detail)
        )
        return _error(exc.status_code, detail, dict(exc.headers or {}))

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        if any(e.get("type") == "json_invalid" for e in errors):
            return _error(400, "Le corps de la requête n'est pas un JSON valide.")
        if any(e.get("type") == "string_too_long" for e in errors):
            return _error(413, f"Message trop long : {MAX_TEXT_CHARS} caractères au plus.")
        messages = list(dict.fromkeys(_french(e) for e in errors))
        fields = [{"loc": list(e.get("loc", ())), "type": e.get("type")} for e in errors]
        return JSONResponse({"detail": " ; ".join(messages), "errors": fields}, status_code=422)


def _french(error: Any) -> str:
    loc = [str(part) for part in error.get("loc", ())]
    kind = str(error.get("type", ""))
    name = loc[-1] if loc else ""
    if kind == "value_error":
        return str(error.get("msg", "")).removeprefix("Value error, ")
    if kind == "missing" and len(loc) <= 1:
        return "corps de requête JSON manquant"
    if loc == ["body"]:
        return "le corps doit être un objet JSON"
    if name == "conversation_id":
        return "identifiant de conversation invalide (8 à 64 caractères : lettres, chiffres, - ou _)"
    if name in {"lat", "lon"} or "location" in loc:
        return "position invalide : lat entre -90 et 90, lon entre -180 et 180"
    if kind == "string_too_long":
        return f"« {name} » trop long ({MAX_TEXT_CHARS} caractères au plus)"
    if kind == "missing":
        return f"champ « {name} » manquant"
    if kind.endswith("_type") or kind.endswith("_parsing"):
        return f"champ « {name} » : type invalide" if name else "le corps doit être un objet JSON"
    return f"champ « {name} » invalide"


def _install_routes(
    app: FastAPI, store: ConversationStore, settings: HttpSettings, state: dict[str, Any]
) -> None:
    async def call(request: Request, channel: str, external_id: str, fn: Callable[[], T]) -> T:
        """Run a store call in a thread; map store errors to clear JSON answers, never leak texts."""
        request.state.conversation = store.pseudonym(channel, external_id)[:12]
        try:
            return await run_in_threadpool(fn)
        except ConversationNotFound as error:
            raise ApiError(
                404,
                "Conversation inconnue, expirée ou effacée : créez-en une avec POST /api/v1/conversations.",
            ) from error
        except StoreBusy as error:
            raise ApiError(
                503, "Conversation occupée, réessayez dans un instant.", {"Retry-After": "2"}
            ) from error
        except ApiError:
            raise
        except Exception as error:  # log where, not what (an exception text may quote the message)
            frames = "".join(traceback.format_tb(error.__traceback__))
            detail = f": {error}" if settings.log_content else ""
            log.error("internal error %s%s\n%s", type(error).__name__, detail, frames)
            raise ApiError(500, "Erreur interne. Réessayez plus tard.") from error

    def trace(incoming: Incoming) -> None:
        if settings.log_content:
            log.info("content text=%r location=%s", incoming.text, incoming.has_location)

    @app.post(
        "/api/v1/conversations",
        status_code=201,
        response_model=ConversationOut,
        responses=ERRORS,
        tags=["conversations"],
        summary="Créer une conversation (avec, si l'on veut, un premier message)",
    )
    async def create_conversation(request: Request, body: StartIn | None = None) -> JSONResponse:
        conversation_id = secrets.token_urlsafe(16)
        incoming = None
        if body is not None and (body.text is not None or body.location is not None):
            if body.text is not None and body.location is not None:
                raise ApiError(422, "envoyez soit un texte, soit une position, pas les deux")
            incoming = to_incoming(body.text, body.location, WEB_CHANNEL)
            trace(incoming)
        result = await call(
            request,
            WEB_CHANNEL,
            conversation_id,
            lambda: store.turn(WEB_CHANNEL, conversation_id, incoming, new=True),
        )
        return JSONResponse(conversation_json(conversation_id, result), 201)

    @app.post(
        "/api/v1/conversations/{conversation_id}/messages",
        response_model=ConversationOut,
        responses=ERRORS,
        tags=["conversations"],
        summary="Envoyer un message (texte, réponse rapide ou position) et recevoir les réponses",
    )
    async def post_message(
        conversation_id: ConversationId, body: MessageIn, request: Request
    ) -> JSONResponse:
        incoming = to_incoming(body.text, body.location, WEB_CHANNEL)
        trace(incoming)
        result = await call(
            request,
            WEB_CHANNEL,
            conversation_id,
            lambda: store.turn(WEB_CHANNEL, conversation_id, incoming, create=False),
        )
        return JSONResponse(conversation_json(conversation_id, result))

    @app.get(
        "/api/v1/conversations/{conversation_id}/summary",
        response_model=SummaryOut,
        responses=ERRORS,
        tags=["conversations"],
        summary="Ce que la conversation a établi (sans les messages)",
    )
    async def get_summary(conversation_id: ConversationId, request: Request) -> JSONResponse:
        def load() -> dict[str, Any]:
            stored = store.load(WEB_CHANNEL, conversation_id)
            if stored is None:
                raise ConversationNotFound(conversation_id)
            expires = stored.updated_at + dt.timedelta(days=retention_days())
            return {
                "conversation_id": conversation_id,
                "summary": copy.deepcopy(store.engine.summary(stored.state)),
                "message_count": stored.message_count,
                "updated_at": stored.updated_at.isoformat(timespec="seconds") + "Z",
                "expires_at": expires.isoformat(timespec="seconds") + "Z",
            }

        return JSONResponse(await call(request, WEB_CHANNEL, conversation_id, load))

    @app.delete(
        "/api/v1/conversations/{conversation_id}",
        response_model=ErasedOut,
        responses=ERRORS,
        tags=["conversations"],
        summary="Effacer la conversation (droit à l'effacement)",
    )
    async def delete_conversation(conversation_id: ConversationId, request: Request) -> JSONResponse:
        erased = await call(
            request, WEB_CHANNEL, conversation_id, lambda: store.erase(WEB_CHANNEL, conversation_id)
        )
        if not erased:
            raise ApiError(404, "Conversation inconnue, expirée ou déjà effacée.")
        body = {"conversation_id": conversation_id, "erased": True, "detail": "Vos données ont été effacées."}
        return JSONResponse(body)

    @app.post(
        "/webhooks/rest/webhook",
        response_model=list[RasaOut],
        responses=ERRORS,
        tags=["rasa"],
        summary="Canal REST compatible Rasa : {sender, message} → [{recipient_id, text, buttons}]",
    )
    async def rasa_webhook(body: RasaIn, request: Request) -> JSONResponse:
        incoming = to_incoming(body.message, None, RASA_CHANNEL)
        trace(incoming)
        replies = await call(
            request, RASA_CHANNEL, body.sender, lambda: store.process(RASA_CHANNEL, body.sender, incoming)
        )
        return JSONResponse([{"recipient_id": body.sender, **reply.to_json()} for reply in replies])

    @app.get("/healthz", tags=["ops"], summary="Vivacité du processus")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"], summary="Prêt : base joignable, moteur chargé", responses={503: {}})
    async def readyz() -> JSONResponse:
        def probe() -> bool:
            with store.db.connect() as conn:
                conn.execute(sql_text("SELECT 1"))
            return True

        try:
            database = await run_in_threadpool(probe)
        except Exception as error:
            log.warning("readiness: database unreachable (%s)", type(error).__name__)
            database = False
        engine_ok = callable(getattr(store.engine, "handle", None))
        ready = bool(state["ready"] and database and engine_ok)
        body = {
            "status": "ready" if ready else "not ready",
            "database": "ok" if database else "unreachable",
            "engine": "ok" if engine_ok else "missing",
        }
        return JSONResponse(body, status_code=200 if ready else 503)

    @app.get("/", include_in_schema=False)
    async def demo() -> HTMLResponse:
        return HTMLResponse((WIDGET_DIR / "demo.html").read_text(encoding="utf-8"))


def mount_telegram_webhook(app: FastAPI) -> bool:
    """Include `bot.channels.telegram.webhook_router(store)` when $AIGUILLAGE_TELEGRAM_TOKEN is set."""
    if not os.environ.get("AIGUILLAGE_TELEGRAM_TOKEN"):
        return False
    try:
        module = importlib.import_module("bot.channels.telegram")
    except ModuleNotFoundError as error:
        if error.name != "bot.channels.telegram":
            raise
        log.warning("AIGUILLAGE_TELEGRAM_TOKEN is set but bot.channels.telegram is missing")
        return False
    factory: Callable[[ConversationStore], Any] | None = getattr(module, "webhook_router", None)
    if factory is None:
        log.warning("bot.channels.telegram has no webhook_router(store)")
        return False
    app.include_router(factory(app.state.store))
    log.info("telegram webhook mounted")
    return True


# ---------------------------------------------------------------------------------------- serving
def log_config(level: str = "info") -> dict[str, Any]:
    """uvicorn's logging config plus the `aiguillage` loggers (no access log: ours has no ids or IPs)."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["aiguillage"] = {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}
    config["handlers"]["aiguillage"] = {
        "class": "logging.StreamHandler",
        "formatter": "aiguillage",
        "stream": "ext://sys.stderr",
    }
    config["loggers"]["aiguillage"] = {"handlers": ["aiguillage"], "level": level.upper(), "propagate": False}
    return config


def serve(
    host: str = "127.0.0.1", port: int = 8000, workers: int | None = None, log_level: str = "info"
) -> None:
    """Run the app with uvicorn (`workers` defaults to $AIGUILLAGE_WORKERS or 1)."""
    import uvicorn

    uvicorn.run(
        "bot.channels.http:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers or _env_int("AIGUILLAGE_WORKERS", 1),
        access_log=False,
        proxy_headers=True,
        forwarded_allow_ips=os.environ.get("AIGUILLAGE_FORWARDED_ALLOW_IPS", "127.0.0.1"),
        server_header=False,
        log_config=log_config(log_level),
        log_level=log_level,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.channels.http", description="Serve the HTTP channel")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    serve(args.host, args.port, args.workers, args.log_level)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

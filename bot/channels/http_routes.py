"""Schemas, error handlers and routes of the HTTP channel (native API, Rasa webhook, health).

Conversation ids of the native API are created by `POST /api/v1/conversations` (random, 22
characters); a message to an unknown id gets 404 — it does not start a conversation, so an
expired or erased conversation is never resurrected silently. The Rasa webhook follows Rasa:
any new `sender` starts a conversation.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import logging
import secrets
import traceback
import unicodedata
from collections.abc import Callable
from pathlib import Path as FsPath
from typing import Annotated, Any, TypeVar

from fastapi import FastAPI, Header, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field, model_validator
from sqlalchemy import text as sql_text
from sqlalchemy.exc import DBAPIError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from bot.channels.http_settings import HttpSettings
from bot.channels.state_check import state_problem
from bot.channels.store import (
    ConversationNotFound,
    ConversationStore,
    StoreBusy,
    TurnResult,
    retention_days,
)
from bot.dialogue.api import Incoming, Reply

log = logging.getLogger("aiguillage.http")

WIDGET_DIR = FsPath(__file__).parent / "widget"
WEB_CHANNEL = "web"
RASA_CHANNEL = "rest"
MAX_TEXT_CHARS = 2000
MAX_SENDER_CHARS = 128
CONVERSATION_ID = r"^[A-Za-z0-9_-]{8,64}$"
T = TypeVar("T")


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
    sender: str = Field(
        min_length=1,
        max_length=MAX_SENDER_CHARS,
        description="the client's conversation id (128 characters at most)",
    )
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


def without_surrogates(text: str) -> str:
    """Lone surrogates (an escaped "\\ud800" in JSON) cannot be encoded: replace them with U+FFFD."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "".join("\ufffd" if 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in text)
    return text


def clean_text(text: str) -> str:
    """Drop control characters (keeps newlines, emoji and their joiners); raise 400 if nothing is left."""
    cleaned = without_surrogates(text).translate(_CONTROL).strip()
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


def install_error_handlers(app: FastAPI) -> None:
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
        if any(e.get("type") == "string_too_long" and _field(e) in {"text", "message"} for e in errors):
            return _error(413, f"Message trop long : {MAX_TEXT_CHARS} caractères au plus.")
        messages = list(dict.fromkeys(_french(e) for e in errors))
        fields = [{"loc": list(e.get("loc", ())), "type": e.get("type")} for e in errors]
        return JSONResponse({"detail": " ; ".join(messages), "errors": fields}, status_code=422)


def _field(error: Any) -> str:
    loc = error.get("loc", ())
    return str(loc[-1]) if loc else ""


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
        limit = (error.get("ctx") or {}).get("max_length", MAX_TEXT_CHARS)
        return f"« {name} » trop long ({limit} caractères au plus)"
    if kind == "missing":
        return f"champ « {name} » manquant"
    if kind.endswith("_type") or kind.endswith("_parsing"):
        return f"champ « {name} » : type invalide" if name else "le corps doit être un objet JSON"
    return f"champ « {name} » invalide"


def install_routes(
    app: FastAPI,
    store: ConversationStore,
    settings: HttpSettings,
    state: dict[str, Any],
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
        except DBAPIError as error:  # database down or unreachable: one line, 503, recover by itself
            log.warning("database unavailable (%s)", type(error.orig or error).__name__)
            raise ApiError(
                503,
                "Le service est momentanément indisponible. Réessayez dans un instant.",
                {"Retry-After": "5"},
            ) from None
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
        conversation_id: ConversationId,
        body: MessageIn,
        request: Request,
        idempotency_key: IdempotencyKey = None,
    ) -> JSONResponse:
        incoming = to_incoming(body.text, body.location, WEB_CHANNEL)
        trace(incoming)
        retry = _retry_key(idempotency_key)
        result = await call(
            request,
            WEB_CHANNEL,
            conversation_id,
            lambda: store.turn(WEB_CHANNEL, conversation_id, incoming, create=False, retry_key=retry),
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
                "summary": _summary(store, stored.state),
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
    async def rasa_webhook(
        body: RasaIn, request: Request, idempotency_key: IdempotencyKey = None
    ) -> JSONResponse:
        incoming = to_incoming(body.message, None, RASA_CHANNEL)
        trace(incoming)
        sender, retry = without_surrogates(body.sender), _retry_key(idempotency_key)
        result = await call(
            request,
            RASA_CHANNEL,
            sender,
            lambda: store.turn(RASA_CHANNEL, sender, incoming, retry_key=retry),
        )
        return JSONResponse([{"recipient_id": sender, **reply.to_json()} for reply in result.replies])

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
        redis_ok = await run_in_threadpool(store.redis_available) if settings.redis_url else None
        ready = bool(state["ready"] and database and engine_ok and redis_ok is not False)
        body = {
            "status": "ready" if ready else "not ready",
            "database": "ok" if database else "unreachable",
            "engine": "ok" if engine_ok else "missing",
        }
        if redis_ok is not None:
            body["redis"] = "ok" if redis_ok else "unreachable"
        return JSONResponse(body, status_code=200 if ready else 503)

    @app.get("/", include_in_schema=False)
    async def demo() -> HTMLResponse:
        return HTMLResponse((WIDGET_DIR / "demo.html").read_text(encoding="utf-8"))

    if settings.api_docs:

        @app.get("/docs", include_in_schema=False)
        async def docs() -> HTMLResponse:
            return HTMLResponse(SWAGGER_PAGE)


IdempotencyKey = Annotated[
    str | None,
    Header(
        max_length=128,
        description="the same key on a retried request returns the first answer instead of a second turn",
    ),
]


def _retry_key(key: str | None) -> str | None:
    """A digest of the client's Idempotency-Key (stored in the state instead of the key itself)."""
    if not key:
        return None
    return hashlib.sha256(without_surrogates(key).encode()).hexdigest()[:32]


def _summary(store: ConversationStore, state: Any) -> dict[str, Any]:
    """The engine's summary; for a stored state it cannot read, the summary of an empty one."""
    if state_problem(state) is None:
        try:
            return copy.deepcopy(store.engine.summary(state))
        except (TypeError, ValueError, KeyError, AttributeError, IndexError, RecursionError):
            pass
    return store.engine.summary(store.engine.new_state())


# Swagger UI from cdnjs, pinned to one version, with its Subresource Integrity hashes (as cdnjs
# publishes them): a changed file on the CDN is refused by the browser. The page's own script
# is allowed by its hash in the Content-Security-Policy (DOCS_CSP), nothing else runs.
SWAGGER_VERSION = "5.17.14"
_CDN = f"https://cdnjs.cloudflare.com/ajax/libs/swagger-ui/{SWAGGER_VERSION}"
_SWAGGER_CSS_SRI = (
    "sha512-MvYROlKG3cDBPskMQgPmkNgZh85LIf68y7SZ34TIppaIHQz1M/3S/yYqzIfufdKDJjzB9Qu1BV63SZjimJkPvw=="
)
_SWAGGER_JS_SRI = (
    "sha512-mVvFSCxt0sK0FeL8C7n8BcHh10quzdwfxQbjRaw9pRdKNNep3YQusJS5e2/q4GYt4Ma5yWXSJraoQzXPgZd2EQ=="
)
_SWAGGER_INIT = (
    'window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui", '
    'presets: [SwaggerUIBundle.presets.apis], layout: "BaseLayout"});'
)
SWAGGER_PAGE = f"""<!DOCTYPE html>
<html lang="fr"><head><meta charset="utf-8"><title>Aiguillage — API (Swagger UI)</title>
<link rel="stylesheet" href="{_CDN}/swagger-ui.css" integrity="{_SWAGGER_CSS_SRI}" crossorigin="anonymous">
</head><body><div id="swagger-ui"></div>
<script src="{_CDN}/swagger-ui-bundle.js" integrity="{_SWAGGER_JS_SRI}" crossorigin="anonymous"></script>
<script>{_SWAGGER_INIT}</script>
</body></html>"""
_INIT_HASH = base64.b64encode(hashlib.sha256(_SWAGGER_INIT.encode()).digest()).decode()
DOCS_CSP = (
    f"default-src 'none'; script-src {_CDN}/ 'sha256-{_INIT_HASH}'; style-src {_CDN}/ 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)

"""Routes of the anonymous statistics: `POST /api/v1/feedback` (public) and `GET /api/v1/stats` (operators).

Both sit under /api/, so the body guard and the rate limit of the HTTP channel apply to them.
`GET /api/v1/stats` needs `Authorization: Bearer <token>` equal to $AIGUILLAGE_OPERATOR_TOKEN:
404 when the variable is unset (the route does not exist), 401 when the token is missing or wrong.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field, field_validator, model_validator
from starlette.concurrency import run_in_threadpool

from bot.channels import stats
from bot.channels.stats_models import COMMENT_MAX_CHARS

OPERATOR_TOKEN_ENV = "AIGUILLAGE_OPERATOR_TOKEN"
FEEDBACK_CHANNELS = ("web", "rest")
router = APIRouter()


class FeedbackIn(BaseModel):
    """An answer to « Cela vous a-t-il aidé ? ». The conversation id is only read to find the need
    and the schemes of the orientation; it is not stored."""

    helpful: bool | None = Field(None, description="true: Oui, false: Non, null: only a comment")
    comment: str | None = Field(
        None, max_length=4 * COMMENT_MAX_CHARS, description="ce qui manquait (300 caractères au plus)"
    )
    conversation_id: str | None = Field(None, pattern=r"^[A-Za-z0-9_-]{8,128}$")
    channel: Literal["web", "rest"] = "web"

    @field_validator("comment")
    @classmethod
    def _short(cls, value: str | None) -> str | None:
        if value is not None and len(value) > COMMENT_MAX_CHARS:
            raise ValueError(f"commentaire trop long : {COMMENT_MAX_CHARS} caractères au plus")
        return value

    @model_validator(mode="after")
    def _something(self) -> FeedbackIn:
        if self.helpful is None and not (self.comment or "").strip():
            raise ValueError("répondez oui ou non, ou écrivez ce qui manquait")
        return self


class FeedbackOut(BaseModel):
    stored: bool
    detail: str
    day: str
    need: str | None
    schemes: list[str]
    comment: str | None


def _json_error(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


@router.post(
    "/api/v1/feedback",
    status_code=201,
    response_model=FeedbackOut,
    tags=["statistiques"],
    summary="Avis sur une orientation (oui / non / ce qui manquait), gardé sans la conversation",
)
async def post_feedback(body: FeedbackIn, request: Request) -> JSONResponse:
    store = request.app.state.store

    def save() -> dict[str, Any]:
        need, schemes = None, []
        if body.conversation_id:
            stored = store.load(body.channel, body.conversation_id)
            if stored is not None:
                need, schemes = stats.proposed_from_state(stored.state)
        return stats.store_feedback(
            store.db,
            channel=body.channel,
            helpful=body.helpful,
            comment=body.comment,
            need=need,
            schemes=schemes,
        )

    row = await run_in_threadpool(save)
    kept = {k: row[k] for k in ("day", "need", "schemes", "comment")}
    out = {"stored": True, "detail": "Merci pour votre retour.", **kept}
    return JSONResponse(out, status_code=201)


def _operator(request: Request) -> JSONResponse | None:
    """None when the request carries the operator token, else the error response (404 / 401)."""
    expected = os.environ.get(OPERATOR_TOKEN_ENV, "").strip()
    if not expected:
        return _json_error(404, "Adresse inconnue.")
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secrets.compare_digest(given.strip().encode(), expected.encode()):
        return _json_error(401, "Jeton d'opérateur manquant ou invalide.", {"WWW-Authenticate": "Bearer"})
    return None


@router.get(
    "/api/v1/stats",
    tags=["statistiques"],
    summary="Statistiques anonymes (opérateurs) : orientations par besoin, dispositif, commune, canal, semaine",
    responses={401: {}, 404: {}},
)
async def get_stats(
    request: Request,
    fmt: Annotated[Literal["json", "csv"], Query(alias="format", description="json ou csv")] = "json",
    since: Annotated[
        dt.date | None, Query(description="AAAA-MM-JJ : à partir de la semaine de cette date")
    ] = None,
) -> Response:
    refused = _operator(request)
    if refused is not None:
        return refused
    db = request.app.state.store.db
    if fmt == "csv":
        text = await run_in_threadpool(stats.export_csv, db, since)
        return Response(
            text,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="aiguillage-stats.csv"'},
        )
    return JSONResponse(await run_in_threadpool(stats.export_json, db, since))

"""Routes of the agents' console under /pro (HTML pages, the desk search JSON, the PDF).

Every page but the login needs a session; every POST needs the CSRF token. Pages are
`Cache-Control: no-store` (the situation of a person must not stay in a cache) and the CSP
of the console (`http_middleware.CONSOLE_CSP`: no inline script).
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool
from starlette.middleware.sessions import SessionMiddleware

from actions.common import get_kb
from bot.channels.http_middleware import Limiter
from bot.console import desk
from bot.console.accounts import AccountError, Agent, add_agent, authenticate, structure_agents
from bot.console.auth import csrf_ok, csrf_token, current_agent, log_in, log_out, login_wait
from bot.console.form_guard import FormSizeGuard
from bot.console.models import Role
from bot.console.orientation import SMS_MAX_CHARS, OrientationSheet, build_sheet, email_text, sms_text
from bot.console.pdf import sheet_pdf
from bot.console.referrals import (
    NEXT_STATUSES,
    STATUS_LABELS,
    ReferralError,
    access_log,
    create_referral,
    get_referral,
    list_referrals,
    public_status,
    set_status,
    structures,
)
from bot.console.settings import SESSION_COOKIE, ConsoleSettings
from bot.console.sheet import find_scheme, scheme_sheet
from bot.console.situation import FIELDS, HOUSING_CHOICES, SITUATION_CHOICES, evaluate_situation, result_row
from knowledge.eligibility import HOUSING_LABELS, SITUATION_LABELS

HERE = Path(__file__).parent


def local_time(moment: dt.datetime, fmt: str = "%d/%m/%Y %H:%M") -> str:
    """A naive UTC datetime of the database, in French time (UTC said when the zone is unknown)."""
    try:
        zone = ZoneInfo("Europe/Paris")
    except ZoneInfoNotFoundError:
        return moment.strftime(fmt) + " UTC"
    return moment.replace(tzinfo=dt.UTC).astimezone(zone).strftime(fmt)
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters["local_time"] = local_time
router = APIRouter(prefix="/pro", include_in_schema=False)
NO_STORE = {"Cache-Control": "no-store"}


def page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    context.update(csrf=csrf_token(request), agent=context.get("agent"))
    response = templates.TemplateResponse(request, name, context, status_code=status, headers=NO_STORE)
    return response


def to_login() -> RedirectResponse:
    return RedirectResponse("/pro/connexion", status_code=303, headers=NO_STORE)


def refused(request: Request, agent: Agent | None, status: int, message: str) -> HTMLResponse:
    return page(request, "message.html", status=status, agent=agent, message=message)


FORM_EXPIRED = "Le formulaire a expiré : rechargez la page."


async def posting_agent(request: Request) -> Agent | Response:
    """The signed-in agent of a form post, or the answer that refuses it (to the login page, or
    403 when the form's CSRF token is missing or stale)."""
    agent = await current_agent(request)
    if agent is None:
        return to_login()
    if not await csrf_ok(request):
        return refused(request, agent, 403, FORM_EXPIRED)
    return agent


def commune_from(text: str | None) -> Any:
    text = (text or "").strip()
    return get_kb().gazetteer.resolve(text) if text else None


def form_dict(form: Any) -> dict[str, str]:
    return {k: v for k, v in form.items() if isinstance(v, str)}


# ------------------------------------------------------------------------------- login / logout
@router.get("/connexion")
async def login_page(request: Request) -> Response:
    if await current_agent(request) is not None:
        return RedirectResponse("/pro", status_code=303)
    return page(request, "login.html")


@router.post("/connexion")
async def login(request: Request) -> Response:
    wait = await login_wait(request)
    if wait > 0:
        retry = str(max(1, math.ceil(wait)))
        response = page(request, "login.html", status=429,
                        error=f"Trop de tentatives de connexion. Réessayez dans {retry} secondes.")
        response.headers["Retry-After"] = retry
        return response
    if not await csrf_ok(request):
        return page(request, "login.html", status=403, error="Le formulaire a expiré : réessayez.")
    form = await request.form()
    email, password = str(form.get("email") or ""), str(form.get("password") or "")
    agent = await run_in_threadpool(authenticate, request.app.state.store.db, email, password)
    if agent is None:
        return page(request, "login.html", status=401, email=email,
                    error="Adresse électronique ou mot de passe incorrect.")
    log_in(request, agent)
    return RedirectResponse("/pro", status_code=303, headers=NO_STORE)


@router.post("/deconnexion")
async def logout(request: Request) -> Response:
    if not await csrf_ok(request):
        return refused(request, await current_agent(request), 403, FORM_EXPIRED)
    log_out(request)
    return to_login()


# ------------------------------------------------------------------------------- desk
@router.get("")
async def desk_page(request: Request) -> Response:
    agent = await current_agent(request)
    if agent is None:
        return to_login()
    commune = get_kb().gazetteer.get(agent.structure_commune) if agent.structure_commune else None
    return page(request, "desk.html", agent=agent, themes=desk.THEMES,
                publics={k: v[0] for k, v in desk.PUBLICS.items()}, commune=commune.nom if commune else "")


@router.get("/recherche")
async def desk_search(
    request: Request, q: str = "", commune: str = "", theme: str = "", public: str = "", gratuit: str = "",
    km: str = "",
) -> Response:
    if await current_agent(request) is None:
        return JSONResponse({"detail": "Connexion requise."}, status_code=401, headers=NO_STORE)
    try:
        max_km = float(km) if km.strip() else None
    except ValueError:
        max_km = None

    def run() -> dict[str, Any]:
        place = commune_from(commune)
        query = desk.DeskQuery(
            text=q[:200], commune=place, theme=theme if theme in desk.THEMES else None,
            public=public if public in desk.PUBLICS else None, free=gratuit in {"1", "on", "oui"}, max_km=max_km,
        )  # fmt: skip
        result = desk.run(query)
        if commune.strip() and place is None:
            result["warning"] = f"Commune introuvable : {commune.strip()[:60]}"
        return result

    return JSONResponse(await run_in_threadpool(run), headers=NO_STORE)


@router.get("/dispositifs/{scheme_id}")
async def scheme_page(request: Request, scheme_id: str, commune: str = "") -> Response:
    agent = await current_agent(request)
    if agent is None:
        return to_login()
    scheme = find_scheme(scheme_id)
    if scheme is None:
        return refused(request, agent, 404, "Ce dispositif n'existe pas dans la base.")
    place = await run_in_threadpool(commune_from, commune) if commune else None
    if place is None and not commune and agent.structure_commune:
        place = get_kb().gazetteer.get(agent.structure_commune)
    sheet = await run_in_threadpool(scheme_sheet, scheme, place)
    return page(request, "scheme.html", agent=agent, sheet=sheet, commune=place.nom if place else commune,
                commune_unknown=bool(commune.strip()) and place is None)


# ------------------------------------------------------------------------------- situation
def situation_context(values: dict[str, str]) -> dict[str, Any]:
    return {
        "values": values,
        "situations": [(v, SITUATION_LABELS[v]) for v, _ in SITUATION_CHOICES],
        "housings": [(v, HOUSING_LABELS[v]) for v, _ in HOUSING_CHOICES],
    }


@router.get("/situation")
async def situation_page(request: Request) -> Response:
    agent = await current_agent(request)
    if agent is None:
        return to_login()
    return page(request, "situation.html", agent=agent, outcome=None, **situation_context({}))


@router.post("/situation")
async def situation_results(request: Request) -> Response:
    agent = await posting_agent(request)
    if isinstance(agent, Response):
        return agent
    values = {k: v for k, v in form_dict(await request.form()).items() if k in FIELDS}
    outcome = await run_in_threadpool(evaluate_situation, values)
    rows = [result_row(r) for r in outcome.results]
    name = "situation_results.html" if request.headers.get("x-fragment") else "situation.html"
    return page(request, name, agent=agent, outcome=outcome, rows=rows, **situation_context(values))


# ------------------------------------------------------------------------------- orientation sheet
async def _sheet_from(request: Request, agent: Agent) -> tuple[dict[str, str], OrientationSheet]:
    """The form's facts and chosen schemes, and the sheet built from them (nothing stored)."""
    form = await request.form()
    values = {k: v for k, v in form_dict(form).items() if k in FIELDS}
    chosen = [str(v) for v in form.getlist("dispositif")]
    return values, await run_in_threadpool(build_sheet, values, chosen, agent.structure_name)


@router.post("/fiche")
async def orientation_page(request: Request) -> Response:
    agent = await posting_agent(request)
    if isinstance(agent, Response):
        return agent
    values, sheet = await _sheet_from(request, agent)
    if not sheet.schemes:
        return refused(request, agent, 400, "Cochez au moins un dispositif pour préparer la fiche.")
    subject, body = email_text(sheet)
    targets = await run_in_threadpool(structures, request.app.state.store.db)
    return page(request, "orientation.html", agent=agent, sheet=sheet, values=values, sms=sms_text(sheet),
                sms_max=SMS_MAX_CHARS, email_subject=subject, email_body=body, targets=targets)


@router.post("/fiche.pdf")
async def orientation_pdf(request: Request) -> Response:
    agent = await posting_agent(request)
    if isinstance(agent, Response):
        return agent
    _values, sheet = await _sheet_from(request, agent)
    if not sheet.schemes:
        return refused(request, agent, 400, "Cochez au moins un dispositif pour préparer la fiche.")
    data = await run_in_threadpool(sheet_pdf, sheet)
    headers = {**NO_STORE, "Content-Disposition": 'attachment; filename="fiche-orientation.pdf"'}
    return Response(data, media_type="application/pdf", headers=headers)


# ------------------------------------------------------------------------------- referrals
def referral_summary(sheet: OrientationSheet) -> str:
    """What the receiving structure reads: the commune and the schemes seen, not the other facts."""
    lines = [f"{s['name']} ({s['status_label'] or 'choisi par l’agent'})" for s in sheet.schemes]
    where = f"Commune : {sheet.commune}. " if sheet.commune else ""
    return where + "Dispositifs vus ensemble : " + " ; ".join(lines) + "."


@router.post("/orientations")
async def referral_create(request: Request) -> Response:
    agent = await posting_agent(request)
    if isinstance(agent, Response):
        return agent
    form = form_dict(await request.form())
    _values, sheet = await _sheet_from(request, agent)
    target = form.get("to_structure", "")
    try:
        referral = await run_in_threadpool(
            lambda: create_referral(
                request.app.state.store.db, agent, int(target) if target.isdigit() else -1,
                consent=form.get("consent") == "oui", person_name=form.get("person_name", ""),
                contact=form.get("contact", ""), wish=form.get("wish", ""), summary=referral_summary(sheet),
            )
        )  # fmt: skip
    except ReferralError as error:
        return refused(request, agent, 400, str(error))
    link = str(request.base_url).rstrip("/") + f"/suivi/{referral.code}"
    return page(request, "referral_sent.html", status=201, agent=agent, referral=referral, link=link)


@router.get("/orientations")
async def referral_list(request: Request) -> Response:
    agent = await current_agent(request)
    if agent is None:
        return to_login()
    referrals = await run_in_threadpool(list_referrals, request.app.state.store.db, agent)
    return page(request, "referrals.html", agent=agent, referrals=referrals)


async def _referral_page(request: Request, agent: Agent, referral_id: int, status: int = 200,
                         error: str | None = None) -> Response:
    db = request.app.state.store.db
    referral = await run_in_threadpool(get_referral, db, agent, referral_id)
    if referral is None:
        return refused(request, agent, 404, "Cette orientation n'existe pas (ou plus) pour votre structure.")
    log = await run_in_threadpool(access_log, db, referral_id)
    choices = [(s.value, STATUS_LABELS[s]) for s in NEXT_STATUSES]
    return page(request, "referral.html", status=status, agent=agent, referral=referral, log=log,
                choices=choices, error=error)


@router.get("/orientations/{referral_id}")
async def referral_page(request: Request, referral_id: int) -> Response:
    agent = await current_agent(request)
    if agent is None:
        return to_login()
    return await _referral_page(request, agent, referral_id)


@router.post("/orientations/{referral_id}/statut")
async def referral_status(request: Request, referral_id: int) -> Response:
    agent = await posting_agent(request)
    if isinstance(agent, Response):
        return agent
    form = form_dict(await request.form())
    try:
        await run_in_threadpool(set_status, request.app.state.store.db, agent, referral_id,
                                form.get("status", ""), form.get("reason", ""))
    except ReferralError as error:
        return await _referral_page(request, agent, referral_id, status=400, error=str(error))
    return RedirectResponse(f"/pro/orientations/{referral_id}", status_code=303, headers=NO_STORE)


public_router = APIRouter(include_in_schema=False)


@public_router.get("/suivi/{code}")
async def referral_tracking(request: Request, code: str) -> Response:
    """The person's page: the status of their referral, nothing else (no login: the code is the key)."""
    found = await run_in_threadpool(public_status, request.app.state.store.db, code)
    response = templates.TemplateResponse(
        request, "tracking.html", {"found": found}, status_code=200 if found else 404, headers=NO_STORE
    )
    return response


# ------------------------------------------------------------------------------- structure admin
@router.get("/structure")
async def structure_page(request: Request) -> Response:
    agent = await current_agent(request)
    if agent is None:
        return to_login()
    if not agent.is_admin:
        return refused(request, agent, 403, "Cette page est réservée aux administrateurs de la structure.")
    agents = await run_in_threadpool(structure_agents, request.app.state.store.db, agent.structure_id)
    return page(request, "structure.html", agent=agent, agents=agents, roles=[r.value for r in Role])


@router.post("/structure/agents")
async def structure_add_agent(request: Request) -> Response:
    agent = await current_agent(request)
    if agent is None:
        return to_login()
    if not agent.is_admin:
        return refused(request, agent, 403, "Cette page est réservée aux administrateurs de la structure.")
    if not await csrf_ok(request):
        return refused(request, agent, 403, FORM_EXPIRED)
    form = form_dict(await request.form())
    db = request.app.state.store.db
    error = None
    try:
        await run_in_threadpool(add_agent, db, form.get("email", ""), form.get("password", ""),
                                agent.structure_id, form.get("role", "agent"))
    except AccountError as exc:
        error = str(exc)
    agents = await run_in_threadpool(structure_agents, db, agent.structure_id)
    return page(request, "structure.html", status=400 if error else 200, agent=agent, agents=agents,
                roles=[r.value for r in Role], error=error, added=None if error else form.get("email"))


# ------------------------------------------------------------------------------- install
def install_console(app: FastAPI, settings: ConsoleSettings | None = None, redis_url: str = "") -> None:
    """Mount /pro on the app: session middleware, login limiter, routes and static files."""
    settings = settings or ConsoleSettings.from_env()
    app.state.console_settings = settings
    app.state.console_login_limiter = Limiter(
        settings.login_per_minute, settings.login_burst, redis_url, "aiguillage:login:"
    )
    app.add_middleware(
        SessionMiddleware, secret_key=settings.secret, session_cookie=SESSION_COOKIE,
        max_age=settings.session_seconds, path="/pro", same_site="strict", https_only=settings.https_only,
    )  # fmt: skip
    app.add_middleware(FormSizeGuard)
    app.include_router(router)
    app.include_router(public_router)
    app.mount("/pro/static", StaticFiles(directory=HERE / "static"), name="console-static")

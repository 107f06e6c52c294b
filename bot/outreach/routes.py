"""The ambassadeurs' outreach mode: `/ambassadeur` (page), its screening pack, manifest and service worker.

The page is the same for everyone working in a commune (nothing about a person reaches the
server): the screening runs in the browser on the pack, and works offline once loaded.
"""

from __future__ import annotations

import html
from pathlib import Path
from string import Template
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from actions.common import get_kb
from bot.console.referrals import ReferralError, structures_in_departement
from bot.outreach.pack import build_pack
from bot.outreach.qr import MAX_TEXT_CHARS, qr_svg, widget_address
from bot.outreach.referral import OutreachReferral, send_referral
from knowledge.gazetteer import Commune

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
TEMPLATES = HERE / "templates"
#: the page and the pack change with the knowledge base: revalidated when the network is there
REVALIDATE = {"Cache-Control": "no-cache"}

router = APIRouter()


def find_commune(text: str) -> Commune | None:
    """An INSEE code, a postcode or a name (the gazetteer's own resolution)."""
    gazetteer = get_kb().gazetteer
    text = text.strip()
    if not text:
        return None
    return gazetteer.get(text) or gazetteer.resolve(text)


def render(name: str, **values: str) -> str:
    template = Template((TEMPLATES / name).read_text(encoding="utf-8"))
    return template.substitute({k: html.escape(v, quote=True) for k, v in values.items()})


@router.get("/ambassadeur", response_class=HTMLResponse, include_in_schema=False)
def outreach_page(commune: str = Query("", max_length=80)) -> Response:
    """Without a commune: where the ambassadeur works. With one: the screening page."""
    if not commune:
        return HTMLResponse(render("setup.html", message=""), headers=REVALIDATE)
    found = find_commune(commune)
    if found is None:
        message = f"Commune introuvable : « {commune} ». Essayez son nom complet ou son code postal."
        return HTMLResponse(render("setup.html", message=message), status_code=404, headers=REVALIDATE)
    found = get_kb().gazetteer.commune_of(found)
    if found.code_insee != commune:
        return RedirectResponse(f"/ambassadeur?commune={quote(found.code_insee)}", status_code=303)
    return HTMLResponse(
        render("page.html", commune=found.code_insee, commune_nom=found.nom), headers=REVALIDATE
    )


@router.get("/ambassadeur/pack.json", include_in_schema=False)
def screening_pack(request: Request, commune: str = Query(..., min_length=5, max_length=5)) -> Response:
    found = get_kb().gazetteer.get(commune)
    if found is None:
        return JSONResponse({"detail": "Commune inconnue."}, status_code=404)
    targets = structures_in_departement(request.app.state.store.db, found.departement)
    return JSONResponse(build_pack(found, structures=targets), headers=REVALIDATE)


@router.post("/ambassadeur/referrals", status_code=201, include_in_schema=False)
async def outreach_referral(request: Request, referral: OutreachReferral) -> Response:
    """A referral with the person's consent, sent now or later (queued on the phone while offline);
    neither its need nor its contact is logged (the request log names the route only)."""
    try:
        await run_in_threadpool(send_referral, request.app.state.store.db, referral)
    except ReferralError as error:
        status = 404 if str(error) == "Structure inconnue." else 400
        return JSONResponse({"detail": str(error)}, status_code=status, headers={"Cache-Control": "no-store"})
    return JSONResponse({"status": "sent"}, status_code=201, headers={"Cache-Control": "no-store"})


@router.get("/ambassadeur/sw.js", include_in_schema=False)
def service_worker() -> Response:
    """Served from /ambassadeur/ but allowed to control /ambassadeur (the page itself)."""
    body = (STATIC / "sw.js").read_text(encoding="utf-8")
    headers = {"Service-Worker-Allowed": "/ambassadeur", **REVALIDATE}
    return Response(body, media_type="text/javascript", headers=headers)


@router.get("/ambassadeur/qr.svg", include_in_schema=False)
def qr_code(request: Request, texte: str = Query("", max_length=MAX_TEXT_CHARS)) -> Response:
    """Made on demand, never stored nor cached (the text is the person's answers, given with their
    agreement); the access log names the route only, never its query."""
    svg = qr_svg(widget_address(str(request.base_url), texte))
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "no-store"})


@router.get("/ambassadeur/manifest.webmanifest", include_in_schema=False)
def manifest() -> Response:
    data = {
        "name": "Aiguillage — ambassadeurs",
        "short_name": "Aiguillage",
        "description": "Présélection des aides pour les ambassadeurs de l'accès aux droits, même hors ligne.",
        "lang": "fr",
        "start_url": "/ambassadeur",
        "scope": "/ambassadeur",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#1d4e89",
        "icons": [{"src": "/ambassadeur/static/icon.svg", "sizes": "any", "type": "image/svg+xml"}],
    }
    return JSONResponse(data, media_type="application/manifest+json", headers=REVALIDATE)


def install_outreach(app: FastAPI) -> None:
    app.include_router(router)
    app.mount("/ambassadeur/static", StaticFiles(directory=STATIC), name="outreach-static")

"""The ambassadeurs' outreach mode over HTTP: the page, its setup, the screening pack (generated
from the knowledge base), the manifest and the service worker, with their security headers.

The app is the real one (uvicorn in a thread, SQLite file, middlewares and CSP); the dialogue
engine is a stub (the page does not use it), the knowledge base is the real one (conftest's `kb`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from actions.common import set_kb
from actions.question import SCREENING_SKIP
from bot.channels.http import HttpSettings, create_app
from bot.outreach.qr import qr_svg, widget_address
from knowledge.db import make_engine, upgrade

try:
    from tests.fake_telegram import serve_app
    from tests.stub_engine import StubEngine
except ImportError:  # pragma: no cover - rootdir-relative imports
    from fake_telegram import serve_app  # type: ignore[no-redef]
    from stub_engine import StubEngine  # type: ignore[no-redef]

LENS = "62498"


@pytest.fixture(scope="module")
def client(kb: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    set_kb(kb)
    db = make_engine(f"sqlite:///{tmp_path_factory.mktemp('outreach') / 'outreach.sqlite3'}")
    upgrade(db)
    settings = HttpSettings(rate_per_minute=6000.0, rate_burst=1000)
    app = create_app(StubEngine(), db_engine=db, settings=settings, telegram=False, warm_up=False)
    with serve_app(app) as server, httpx.Client(base_url=server.url, timeout=60) as http:
        yield http


@pytest.fixture(scope="module")
def pack(client: httpx.Client) -> dict[str, Any]:
    response = client.get("/ambassadeur/pack.json", params={"commune": LENS})
    assert response.status_code == 200
    return response.json()


def test_setup_page_then_commune_by_name_redirects_to_its_code(client: httpx.Client) -> None:
    setup = client.get("/ambassadeur")
    assert setup.status_code == 200
    assert 'name="commune"' in setup.text
    by_name = client.get("/ambassadeur", params={"commune": "Lens"})
    assert by_name.status_code == 303
    assert by_name.headers["location"] == f"/ambassadeur?commune={LENS}"
    unknown = client.get("/ambassadeur", params={"commune": "Zzzzqqq"})
    assert unknown.status_code == 404
    assert "introuvable" in unknown.text


def test_page_links_manifest_script_and_escapes(client: httpx.Client) -> None:
    page = client.get("/ambassadeur", params={"commune": LENS})
    assert page.status_code == 200
    assert 'data-commune="62498"' in page.text and "Lens" in page.text
    assert '<link rel="manifest" href="/ambassadeur/manifest.webmanifest">' in page.text
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "worker-src 'self'" in csp and "unsafe-inline" not in csp
    for asset in (
        "/ambassadeur/static/outreach.js",
        "/ambassadeur/static/outreach.css",
        "/ambassadeur/static/icon.svg",
    ):
        assert client.get(asset).status_code == 200, asset


def test_manifest_and_service_worker(client: httpx.Client) -> None:
    manifest = client.get("/ambassadeur/manifest.webmanifest")
    assert manifest.headers["content-type"].startswith("application/manifest+json")
    data = manifest.json()
    assert data["start_url"] == "/ambassadeur" and data["display"] == "standalone" and data["icons"]
    worker = client.get("/ambassadeur/sw.js")
    assert worker.headers["content-type"].startswith("text/javascript")
    assert worker.headers["service-worker-allowed"] == "/ambassadeur"
    assert 'addEventListener("fetch"' in worker.text


def test_pack_conditions_equal_the_knowledge_base(pack: dict[str, Any], kb: Any) -> None:
    assert pack["commune"] == {"code": LENS, "nom": "Lens", "departement": "62",
                               "departement_nom": kb.gazetteer.departement_name("62"), "region": "32"}  # fmt: skip
    by_id = {s["id"]: s for s in pack["schemes"]}
    assert len(by_id) >= 30
    for scheme_id, entry in by_id.items():
        scheme = kb.schemes[scheme_id]
        assert entry["conditions"] == scheme.conditions.model_dump(mode="json", exclude_none=True), scheme_id
        assert entry["conditions_text"] == scheme.conditions_text
        assert entry["engine"] == scheme.engine and entry["name"] == scheme.name
    # a scheme of another département is left out; one of the Pas-de-Calais (or its region) is in
    assert "fonds-departemental-mobilite-oise" not in by_id
    assert "groupements-achat-vrac" in by_id and by_id["groupements-achat-vrac"]["zone_coverage"] == "all"
    assert "mieux-manger-pour-tous" in by_id  # région 32
    # offered in a few communes of the département only: the page says « à vérifier »
    assert by_id["dix-mille-departs-vacances"]["zone_coverage"] == "part"


def test_pack_questions_are_the_catalogue(pack: dict[str, Any], kb: Any) -> None:
    catalogue = {q.fact: q for q in kb.questions}
    facts = [q["fact"] for q in pack["questions"]]
    assert "commune" not in facts and not set(facts) & SCREENING_SKIP
    for entry in pack["questions"]:
        question = catalogue[entry["fact"]]
        assert entry["text"] == (question.text_other or question.text)
        assert entry["cost"] == question.cost and entry["parser"] == question.parser
        assert [o["title"] for o in entry["options"]] == [o.title for o in question.options]
        assert entry["order"] == kb.questions.index(question)
    assert pack["max_questions"] == 8


def test_pack_places_are_in_the_departement_with_their_contacts(pack: dict[str, Any], kb: Any) -> None:
    places = pack["places"]
    assert places and any(p["door"] for p in places) and any(not p["door"] for p in places)
    by_key = {s.key: s for s in kb.services}
    for door in (True, False):
        distances = [p["distance_km"] for p in places if p["door"] is door and p["distance_km"] is not None]
        assert distances == sorted(distances)
    assert all(
        p["name"].lower().startswith(("france services", "bus france services")) for p in places if p["door"]
    )
    assert all(p["schemes"] for p in places if not p["door"])
    for place in places:
        if place["key"] in by_key:  # a curated place: its contacts are the knowledge base's
            service = by_key[place["key"]]
            assert (service.code_insee or "").startswith("62")
            assert place["schemes"] == service.schemes
            if "telephone" in place["contacts"]:
                assert place["contacts"]["telephone"] == service.telephone


def test_pack_unknown_commune(client: httpx.Client) -> None:
    assert client.get("/ambassadeur/pack.json", params={"commune": "00000"}).status_code == 404
    assert client.get("/ambassadeur/pack.json", params={"commune": "1"}).status_code == 422


def test_widget_address_carries_the_text_in_the_fragment_only() -> None:
    assert widget_address("http://h:8000/") == "http://h:8000/?mode=page"
    address = widget_address("http://h:8000/", "J'ai 34 ans. Je touche le RSA.")
    assert address == "http://h:8000/?mode=page#texte=J%27ai%2034%20ans.%20Je%20touche%20le%20RSA."
    assert len(widget_address("http://h/", "x" * 900).split("#texte=")[1]) == 600


def test_qr_code_is_an_svg_of_the_widget_address_never_cached(client: httpx.Client) -> None:
    base = str(client.base_url).rstrip("/") + "/"
    with_answers = client.get("/ambassadeur/qr.svg", params={"texte": "J'ai 34 ans."})
    assert with_answers.status_code == 200
    assert with_answers.headers["content-type"].startswith("image/svg+xml")
    assert with_answers.headers["cache-control"] == "no-store"
    assert with_answers.text == qr_svg(widget_address(base, "J'ai 34 ans."))
    blank = client.get("/ambassadeur/qr.svg")
    assert blank.text == qr_svg(widget_address(base)) != with_answers.text
    assert client.get("/ambassadeur/qr.svg", params={"texte": "x" * 601}).status_code == 422

"""The agents' console /pro over HTTP: login required, wrong password, session expiry, CSRF,
roles, login rate limit, and the pages with the real knowledge base.

The app is the real one (uvicorn in a thread, migrations at start-up, SQLite file, session
middleware, CSP); the dialogue engine is a stub (the console does not use it), the knowledge
base is the real one (conftest's `kb`).
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from itsdangerous import TimestampSigner
from sqlalchemy import Engine, select

from actions.common import set_kb
from bot.channels.http import HttpSettings, create_app
from bot.cli import main as cli_main
from bot.console.accounts import add_agent, add_structure
from bot.console.models import ConsoleAgent
from bot.console.settings import SESSION_COOKIE
from knowledge.db import make_engine, session_scope, upgrade

try:
    from tests.fake_telegram import serve_app
    from tests.stub_engine import StubEngine
except ImportError:  # pragma: no cover - rootdir-relative imports
    from fake_telegram import serve_app  # type: ignore[no-redef]
    from stub_engine import StubEngine  # type: ignore[no-redef]

SECRET = "console-test-secret"
PASSWORD = "un mot de passe assez long"


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, kb: Any) -> None:
    monkeypatch.setenv("AIGUILLAGE_SECRET_KEY", "console-test-pepper")
    monkeypatch.setenv("AIGUILLAGE_CONSOLE_SECRET", SECRET)
    monkeypatch.setenv("AIGUILLAGE_OPENFISCA", "off")
    monkeypatch.delenv("AIGUILLAGE_REDIS_URL", raising=False)
    set_kb(kb)


@pytest.fixture
def db(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'console.sqlite3'}")
    upgrade(engine)
    structure = add_structure(engine, "France Services de Lens", "62498")
    add_agent(engine, "agent@exemple.fr", PASSWORD, structure, "agent")
    add_agent(engine, "admin@exemple.fr", PASSWORD, structure, "admin")
    return engine


@contextlib.contextmanager
def served(db: Engine) -> Iterator[httpx.Client]:
    settings = HttpSettings(rate_per_minute=6000.0, rate_burst=1000)
    app = create_app(StubEngine(), db_engine=db, settings=settings, telegram=False, warm_up=False)
    with serve_app(app) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


def token(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


def log_in(client: httpx.Client, email: str = "agent@exemple.fr", password: str = PASSWORD) -> httpx.Response:
    csrf = token(client.get("/pro/connexion").text)
    return client.post("/pro/connexion", data={"csrf": csrf, "email": email, "password": password})


def signed_session(data: dict[str, Any]) -> str:
    """A session cookie as Starlette's SessionMiddleware writes it (itsdangerous, base64 JSON)."""
    payload = base64.b64encode(json.dumps(data).encode())
    return TimestampSigner(SECRET).sign(payload).decode()


# ------------------------------------------------------------------------------------ accounts
def test_password_is_hashed_with_argon2(db: Engine) -> None:
    with session_scope(db) as session:
        stored = session.scalar(select(ConsoleAgent.password_hash).where(ConsoleAgent.email == "agent@exemple.fr"))
    assert stored is not None and stored.startswith("$argon2id$") and PASSWORD not in stored


def test_cli_creates_structure_and_agent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    monkeypatch.setenv("AIGUILLAGE_DATABASE_URL", url)
    assert cli_main(["pro", "add-structure", "CCAS d'Arras", "--commune", "Arras"]) == 0
    monkeypatch.setattr("sys.stdin", _Stdin("un autre mot de passe long\n"))
    assert cli_main(["pro", "add-agent", "--email", "A@Exemple.fr", "--structure", "CCAS d'Arras",
                     "--role", "admin"]) == 0
    monkeypatch.setattr("sys.stdin", _Stdin("court\n"))
    assert cli_main(["pro", "add-agent", "--email", "b@exemple.fr", "--structure", "CCAS d'Arras"]) == 2
    with session_scope(make_engine(url)) as session:
        emails = session.scalars(select(ConsoleAgent.email)).all()
    assert emails == ["a@exemple.fr"]


class _Stdin:
    def __init__(self, text: str) -> None:
        self.text = text

    def isatty(self) -> bool:
        return False

    def readline(self) -> str:
        return self.text


# ------------------------------------------------------------------------------------ login
def test_every_page_needs_a_login(db: Engine) -> None:
    with served(db) as client:
        for path in ("/pro", "/pro/situation", "/pro/dispositifs/prime-activite", "/pro/structure"):
            answer = client.get(path)
            assert answer.status_code == 303 and answer.headers["location"] == "/pro/connexion", path
        assert client.get("/pro/recherche", params={"q": "crèche"}).status_code == 401
        assert client.post("/pro/fiche", data={"dispositif": "prime-activite"}).status_code == 303
        assert client.post("/pro/fiche.pdf", data={"dispositif": "prime-activite"}).status_code == 303


def test_wrong_password_and_unknown_email_are_refused(db: Engine) -> None:
    with served(db) as client:
        wrong = log_in(client, password="pas le bon mot de passe")
        assert wrong.status_code == 401 and "mot de passe incorrect" in wrong.text
        assert log_in(client, email="personne@exemple.fr").status_code == 401
        assert client.get("/pro").status_code == 303
        right = log_in(client)
        assert right.status_code == 303 and right.headers["location"] == "/pro"
        desk = client.get("/pro")
        assert desk.status_code == 200 and "agent@exemple.fr" in desk.text
        assert desk.headers["cache-control"] == "no-store"
        assert "form-action 'self'" in desk.headers["content-security-policy"]
        assert "script-src 'self'" in desk.headers["content-security-policy"]
        cookie = next(c for c in client.cookies.jar if c.name == SESSION_COOKIE)
        assert cookie.path == "/pro"


def test_logout_ends_the_session(db: Engine) -> None:
    with served(db) as client:
        log_in(client)
        csrf = token(client.get("/pro").text)
        assert client.post("/pro/deconnexion", data={"csrf": csrf}).status_code == 303
        assert client.get("/pro").status_code == 303


def test_session_expires_after_the_limit(db: Engine) -> None:
    with served(db) as client:
        agent_id = 1
        now = int(time.time())
        fresh = signed_session({"agent": agent_id, "issued": now, "csrf": "x"})
        old = signed_session({"agent": agent_id, "issued": now - 9 * 3600, "csrf": "x"})
        client.cookies.set(SESSION_COOKIE, fresh, path="/pro")
        assert client.get("/pro").status_code == 200  # the crafted cookie is accepted when recent
        client.cookies.clear()
        client.cookies.set(SESSION_COOKIE, old, path="/pro")
        answer = client.get("/pro")
        assert answer.status_code == 303 and answer.headers["location"] == "/pro/connexion"
        client.cookies.clear()
        forged = signed_session({"agent": agent_id, "issued": now})[:-3] + "abc"
        client.cookies.set(SESSION_COOKIE, forged, path="/pro")
        assert client.get("/pro").status_code == 303


def test_csrf_token_is_required_on_every_form(db: Engine) -> None:
    with served(db) as client:
        client.get("/pro/connexion")
        no_token = client.post("/pro/connexion", data={"email": "agent@exemple.fr", "password": PASSWORD})
        assert no_token.status_code == 403
        assert log_in(client).status_code == 303
        facts = {"age": "30", "commune": "Lens"}
        assert client.post("/pro/situation", data=facts).status_code == 403
        assert client.post("/pro/situation", data={**facts, "csrf": "faux"}).status_code == 403
        csrf = token(client.get("/pro/situation").text)
        assert client.post("/pro/situation", data={**facts, "csrf": csrf}).status_code == 200
        fragment = client.post("/pro/situation", data=facts, headers={"X-CSRF-Token": csrf, "X-Fragment": "1"})
        assert fragment.status_code == 200 and "<html" not in fragment.text and "Dispositifs" in fragment.text
        assert client.post("/pro/fiche.pdf", data={"dispositif": "prime-activite"}).status_code == 403
        assert client.post("/pro/deconnexion").status_code == 403


def test_roles_agent_and_structure_admin(db: Engine) -> None:
    with served(db) as client:
        log_in(client)
        assert client.get("/pro/structure").status_code == 403
        csrf = token(client.get("/pro").text)
        added = client.post("/pro/structure/agents", data={"csrf": csrf, "email": "x@exemple.fr", "password": PASSWORD})
        assert added.status_code == 403
    with served(db) as client:
        log_in(client, "admin@exemple.fr")
        page = client.get("/pro/structure")
        assert page.status_code == 200 and "agent@exemple.fr" in page.text
        csrf = token(page.text)
        short = client.post("/pro/structure/agents", data={"csrf": csrf, "email": "n@exemple.fr", "password": "court"})
        assert short.status_code == 400 and "12 caractères" in short.text
        added = client.post("/pro/structure/agents",
                            data={"csrf": csrf, "email": "nouvelle@exemple.fr", "password": PASSWORD, "role": "agent"})
        assert added.status_code == 200 and "nouvelle@exemple.fr" in added.text
    with served(db) as client:
        assert log_in(client, "nouvelle@exemple.fr").status_code == 303


def test_login_attempts_are_rate_limited(db: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIGUILLAGE_CONSOLE_LOGIN_BURST", "3")
    with served(db) as client:
        statuses = [log_in(client, password=f"mauvais {n}").status_code for n in range(4)]
        assert statuses == [401, 401, 401, 429]
        blocked = log_in(client)  # even the right password waits
        assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) >= 1


# ------------------------------------------------------------------------------------ pages
def test_desk_search_is_typo_tolerant_and_filtered(db: Engine) -> None:
    with served(db) as client:
        log_in(client)
        found = client.get("/pro/recherche", params={"q": "prime d'activte"}).json()
        assert found["schemes"][0]["id"] == "prime-activite"
        near = client.get("/pro/recherche", params={"q": "", "commune": "Lens", "km": "5"}).json()
        assert near["commune"]["name"] == "Lens" and near["places"]
        assert all(p["distance_km"] is not None and p["distance_km"] <= 5 for p in near["places"])
        every = client.get("/pro/recherche").json()
        assert len(every["schemes"]) >= 60  # every scheme, not only the ones the chat shows
        family = client.get("/pro/recherche", params={"theme": "famille"}).json()
        assert family["schemes"] and len(family["schemes"]) < len(every["schemes"])
        free = client.get("/pro/recherche", params={"gratuit": "1"}).json()
        assert free["schemes"] and all(s["free"] for s in free["schemes"])
        debts = client.get("/pro/recherche", params={"q": "surendetement", "commune": "Lens"}).json()
        assert debts["schemes"][0]["id"] == "point-conseil-budget"
        names = [p["name"] for p in debts["places"]]
        assert "Mairie de Lens" in names and not any("vacances" in n for n in names)  # no weak fuzzy match
        unknown = client.get("/pro/recherche", params={"commune": "Zzyzxville"}).json()
        assert "introuvable" in unknown["warning"]


def test_scheme_sheet_shows_conditions_places_and_sources(db: Engine, kb: Any) -> None:
    with served(db) as client:
        log_in(client)
        sheet = client.get("/pro/dispositifs/avip-creches", params={"commune": "Lens"})
        assert sheet.status_code == 200
        scheme = kb.schemes["avip-creches"]
        html = sheet.text
        for step in scheme.steps:
            assert step.replace("'", "&#39;") in html
        assert "Mairie de Lens" in html and "03 21 69 86 86" in html  # from the mairies directory
        assert "Fiche vérifiée le" in html and scheme.verified.isoformat() in html
        assert "Pièces à apporter" in html
        assert client.get("/pro/dispositifs/nexiste-pas").status_code == 404
        lost = client.get("/pro/dispositifs/avip-creches", params={"commune": "Zzyzxville"})
        assert "Commune introuvable" in lost.text


def test_situation_orientation_sheet_sms_and_pdf(db: Engine, kb: Any) -> None:
    with served(db) as client:
        log_in(client)
        csrf = token(client.get("/pro/situation").text)
        facts = {"csrf": csrf, "commune": "Lens", "age": "29", "children_ages": "1, 4", "situation": "demandeur_emploi"}
        results = client.post("/pro/situation", data=facts)
        assert "Ce qu'une réponse de plus permettrait de trancher" in results.text
        assert 'value="avip-creches"' in results.text
        chosen = {**facts, "dispositif": ["avip-creches", "prime-activite"]}
        sheet = client.post("/pro/fiche", data=chosen)
        assert sheet.status_code == 200
        sms = re.search(r'<textarea id="sms"[^>]*>([^<]*)</textarea>', sheet.text)
        assert sms and 0 < len(sms.group(1)) <= 480 and "Crèches AVIP" in sms.group(1)
        pdf = client.post("/pro/fiche.pdf", data=chosen)
        assert pdf.headers["content-type"] == "application/pdf"
        assert pdf.content.startswith(b"%PDF") and b"/Count 1" in pdf.content  # one A4 page
        name = kb.schemes["avip-creches"].name
        assert name.encode("utf-16-be").hex().encode() in pdf.content  # in the document's title
        nothing = client.post("/pro/fiche", data={"csrf": csrf})
        assert nothing.status_code == 400


def test_console_forms_are_size_limited(db: Engine) -> None:
    with served(db) as client:
        log_in(client)
        csrf = token(client.get("/pro/situation").text)
        huge = client.post("/pro/situation", data={"csrf": csrf, "commune": "x" * 40_000})
        assert huge.status_code == 413
        assert client.post("/pro/situation", data={"csrf": csrf, "commune": "Lens"}).status_code == 200

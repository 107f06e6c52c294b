"""Anonymous statistics and feedback: counting orientations, the commune threshold, the exports,
`POST /api/v1/feedback`, `GET /api/v1/stats` (operator token) and `aiguillage stats`.

The conversation store and the HTTP app are the real ones (uvicorn in a thread, migrations run at
start-up, SQLite file; PostgreSQL too when the local server is there); the dialogue engine is a
small scripted one, so that the counts are exact and no model is trained.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, inspect, select, text

from bot.channels import stats
from bot.channels.http import HttpSettings, create_app
from bot.channels.stats_models import Feedback, UsageCount
from bot.channels.store import ConversationStore
from bot.cli import main as cli_main
from bot.dialogue.api import Incoming, Reply, Turn
from knowledge.db import make_engine, upgrade

try:
    from tests.conftest import PG_ADMIN_URL, require
    from tests.fake_telegram import serve_app
except ImportError:  # pragma: no cover - rootdir-relative imports
    from conftest import PG_ADMIN_URL, require  # type: ignore[no-redef]
    from fake_telegram import serve_app  # type: ignore[no-redef]

TOKEN = "operator-secret-token-for-tests"
MONDAY = dt.datetime(2026, 11, 23, 10, 0)  # ISO week 2026-W48


class ScriptedEngine:
    """« orient <need> <commune> » gives an orientation; anything else a plain reply."""

    def new_state(self) -> dict[str, Any]:
        return {"slots": {}, "turns": 0}

    def handle(self, state: dict[str, Any], incoming: Incoming) -> Turn:
        st = json.loads(json.dumps(state or self.new_state()))
        st["turns"] = st.get("turns", 0) + 1
        words = (incoming.text or "").split()
        if words[:1] != ["orient"]:
            return Turn(st, [Reply("Bonjour, que cherchez-vous ?")])
        need, commune = words[1], words[2]
        results = [
            {"scheme_id": "avip", "status": "eligible"},
            {"scheme_id": "cmg", "status": "to_check"},
            {"scheme_id": "rsa", "status": "not_eligible"},
        ]
        st["slots"].update(need=need, commune=commune, last_results=results, oriented=True)
        custom = {
            "orientation": True,
            "summary": "résumé",
            "schemes": [{"id": r["scheme_id"], "status": r["status"]} for r in results],
        }
        return Turn(st, [Reply("Voici ce qui peut vous aider."), Reply("Lieu : mairie.", custom=custom)])

    def summary(self, state: dict[str, Any]) -> dict[str, Any]:
        return dict(state.get("slots", {}))


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIGUILLAGE_SECRET_KEY", "stats-test-pepper")
    monkeypatch.delenv("AIGUILLAGE_REDIS_URL", raising=False)
    monkeypatch.delenv("AIGUILLAGE_OPERATOR_TOKEN", raising=False)


@pytest.fixture
def db(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'stats.sqlite3'}")
    upgrade(engine)
    return engine


def _store(db: Engine, day: dt.datetime = MONDAY) -> ConversationStore:
    return ConversationStore(db, ScriptedEngine(), redis_url="", clock=lambda: day)


def _orient(store: ConversationStore, need: str, commune: str, channel: str = "web") -> None:
    cid = uuid.uuid4().hex
    store.process(channel, cid, Incoming(text="bonjour", channel=channel))
    store.process(channel, cid, Incoming(text=f"orient {need} {commune}", channel=channel))


# ------------------------------------------------------------------------------------ counting
def test_one_increment_per_orientation_and_threshold(db: Engine) -> None:
    store = _store(db)
    for _ in range(12):
        _orient(store, "garde_enfant", "62427")  # Hersin-Coupigny: 12, shown
    for _ in range(3):
        _orient(store, "logement", "62041")  # Arras: 3, below 10 -> département 62
    for _ in range(2):
        _orient(store, "logement", "59350", channel="telegram")  # Lille: 2 -> département 59
    _orient(_store(db, MONDAY - dt.timedelta(days=7)), "logement", "62041")  # previous week

    # a conversation whose state stays "oriented": later plain turns add nothing
    cid = uuid.uuid4().hex
    store.process("web", cid, Incoming(text="orient logement 62041"))
    store.process("web", cid, Incoming(text="merci"))
    store.process("web", cid, Incoming(text="au revoir"))

    data = stats.export_json(db)
    totals = data["totals"]
    assert totals["orientation"] == {"total": 19}
    assert totals["need"] == {"garde_enfant": 12, "logement": 7}
    assert totals["scheme"] == {"avip": 19, "cmg": 19}, "only proposed schemes (not 'not_eligible')"
    assert totals["commune"] == {"62427": 12}
    assert totals["departement"] == {"59": 2, "62": 5}, "communes under 10 shown at département level"
    assert data["commune_threshold"] == 10

    week48 = [r for r in data["rows"] if r["week"] == "2026-W48"]
    cells = {(r["channel"], r["dimension"], r["key"]): r["count"] for r in week48}
    assert cells[("web", "commune", "62427")] == 12
    assert cells[("web", "departement", "62")] == 4
    assert cells[("telegram", "departement", "59")] == 2
    assert ("web", "commune", "62041") not in cells
    assert {r["week_start"] for r in week48} == {"2026-11-23"}
    earlier = [r for r in data["rows"] if r["week"] == "2026-W47"]
    assert {(r["dimension"], r["key"], r["count"]) for r in earlier} >= {("orientation", "total", 1)}

    # --since: from the week of that date
    later = stats.export_json(db, since=dt.date(2026, 11, 25))
    assert later["totals"]["orientation"] == {"total": 18}

    # the table holds counts, nothing that identifies a conversation
    columns = {c["name"] for c in inspect(db).get_columns("usage_counts")}
    assert columns == {"id", "week", "channel", "dimension", "key", "count"}
    with db.connect() as conn:
        rows = conn.execute(select(UsageCount.__table__)).all()
    assert len(rows) < 30, "aggregate rows, not one row per orientation"


def test_erased_conversation_keeps_only_the_anonymous_count(db: Engine) -> None:
    store = _store(db)
    cid = uuid.uuid4().hex
    store.process("web", cid, Incoming(text="orient logement 62041"))
    assert store.erase("web", cid)
    assert stats.totals(db)["orientation"] == {"total": 1}


def test_comment_scrubbing() -> None:
    cleaned = stats.scrub(
        "Appelez-moi au 06 12 34 56 78 ou +33 6.12.34.56.78, ecrire a jean.dupont@mail.fr svp"
    )
    assert cleaned is not None
    assert "06" not in cleaned and "jean" not in cleaned and "@" not in cleaned
    assert "[numéro retiré]" in cleaned and "[courriel retiré]" in cleaned
    assert stats.scrub("  \n ") is None
    assert stats.scrub("x" * 500) == "x" * 300
    assert stats.scrub("il manquait les horaires de la CAF, 3 enfants") == (
        "il manquait les horaires de la CAF, 3 enfants"
    )


def test_departement_codes() -> None:
    assert stats.departement_of("62427") == "62"
    assert stats.departement_of("2A004") == "2A"
    assert stats.departement_of("97101") == "971"
    assert stats.iso_week(stats.week_start(dt.date(2027, 1, 1))) == "2026-W53"


# ------------------------------------------------------------------------------------ HTTP
@contextlib.contextmanager
def _served(db: Engine, **settings: Any) -> Iterator[httpx.Client]:
    limits = {"rate_per_minute": 6000.0, "rate_burst": 1000, **settings}
    app = create_app(
        ScriptedEngine(), db_engine=db, settings=HttpSettings(**limits), telegram=False, warm_up=False
    )
    with serve_app(app) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


def test_feedback_round_trip_stored_without_the_conversation(db: Engine) -> None:
    with _served(db) as client:
        created = client.post("/api/v1/conversations", json={"text": "orient garde_enfant 62427"})
        cid = created.json()["conversation_id"]
        assert created.json()["replies"][-1]["custom"]["orientation"] is True
        comment = "Il manquait un numéro : 06 12 34 56 78, écrivez à moi@exemple.fr"
        answer = client.post(
            "/api/v1/feedback", json={"helpful": False, "comment": comment, "conversation_id": cid}
        )
        assert answer.status_code == 201, answer.text
        body = answer.json()
        assert body["need"] == "garde_enfant" and body["schemes"] == ["avip", "cmg"]
        assert "06 12" not in body["comment"] and "@" not in body["comment"]
        assert client.post("/api/v1/feedback", json={"helpful": True}).status_code == 201
        # refused: nothing to store, too long, not JSON
        assert client.post("/api/v1/feedback", json={}).status_code == 422
        long = client.post("/api/v1/feedback", json={"helpful": True, "comment": "x" * 301})
        assert long.status_code == 422 and "300" in long.json()["detail"]
        assert client.post("/api/v1/feedback", content=b"oui").status_code == 415

    columns = {c["name"] for c in inspect(db).get_columns("feedback")}
    assert columns == {"id", "day", "channel", "helpful", "need", "schemes", "comment"}
    with db.connect() as conn:
        rows = [r._asdict() for r in conn.execute(select(Feedback.__table__).order_by("id"))]
    assert len(rows) == 2
    first = rows[0]
    assert first["helpful"] is False and first["channel"] == "web" and first["need"] == "garde_enfant"
    assert isinstance(first["day"], dt.date) and not isinstance(first["day"], dt.datetime)
    dumped = json.dumps(rows, default=str)
    assert cid not in dumped and "06 12 34" not in dumped and "moi@exemple.fr" not in dumped
    assert "orient" not in dumped, "no message text"
    totals = stats.totals(db)["feedback"]
    assert totals == {"avec_commentaire": 1, "non": 1, "oui": 1}


def test_feedback_is_rate_limited(db: Engine) -> None:
    with _served(db, rate_per_minute=1.0, rate_burst=2) as client:
        codes = [client.post("/api/v1/feedback", json={"helpful": True}).status_code for _ in range(4)]
    # the first answer is stored; the limit (1 a minute, a burst of 2 per 10 s) then refuses
    assert codes[0] == 201 and codes[-1] == 429


def test_stats_route_needs_the_operator_token(db: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with _served(db) as client:
        for _ in range(2):
            client.post("/api/v1/conversations", json={"text": "orient logement 62041"})
        assert client.get("/api/v1/stats").status_code == 404, "no token configured: no route"
        monkeypatch.setenv("AIGUILLAGE_OPERATOR_TOKEN", TOKEN)
        assert client.get("/api/v1/stats").status_code == 401
        wrong = client.get("/api/v1/stats", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
        auth = {"Authorization": f"Bearer {TOKEN}"}
        data = client.get("/api/v1/stats", headers=auth).json()
        assert data["totals"]["orientation"] == {"total": 2}
        assert data["totals"]["departement"] == {"62": 2}
        assert "commune" not in data["totals"]
        response = client.get("/api/v1/stats?format=csv", headers=auth)
        assert response.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(response.text)))
        assert set(rows[0]) == set(stats.CSV_FIELDS)
        assert {(r["dimension"], r["key"], r["count"]) for r in rows} >= {("orientation", "total", "2")}
        future = client.get("/api/v1/stats?since=2999-01-01", headers=auth).json()
        assert future["rows"] == [] and future["since"] == "2999-01-01"
        assert client.get("/api/v1/stats?since=hier", headers=auth).status_code == 422


def test_cli_export(db: Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    store = _store(db)
    for _ in range(10):
        _orient(store, "logement", "62041")
    monkeypatch.setenv("AIGUILLAGE_DATABASE_URL", str(db.url))
    assert cli_main(["stats", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["totals"]["commune"] == {"62041": 10}, "10 reaches the threshold"
    assert cli_main(["stats", "--since", "2026-12-01"]) == 0
    assert capsys.readouterr().out.strip() == ",".join(stats.CSV_FIELDS)
    assert cli_main(["stats", "--since", "01/12/2026"]) == 2


# ------------------------------------------------------------------------------------ migration
@pytest.mark.postgres
def test_counts_on_postgresql(pg_admin: Any) -> None:
    require(pg_admin is not None, f"PostgreSQL ({PG_ADMIN_URL.split('@')[-1]})")
    name = f"aiguillage_stats_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with pg_admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}")
    try:
        upgrade(engine)
        store = _store(engine)
        for _ in range(3):
            _orient(store, "logement", "62041")
        stats.store_feedback(engine, channel="web", helpful=True, comment=None, need=None, schemes=[])
        totals = stats.totals(engine)
        assert totals["orientation"] == {"total": 3} and totals["departement"] == {"62": 3}
        assert totals["feedback"] == {"oui": 1}
    finally:
        engine.dispose()
        with pg_admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

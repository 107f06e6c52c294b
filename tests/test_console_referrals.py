"""Referral with consent: from the orientation sheet to a structure, its statuses, the person's
tracking page, the access log (who, what, when, never the content), the retention purge.

Real app over HTTP (uvicorn in a thread, SQLite file), real knowledge base; stub dialogue engine.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, inspect, select

from bot.console.accounts import add_agent, add_structure, get_agent
from bot.console.models import Referral, ReferralAccess
from bot.console.referrals import ReferralError, create_referral, purge_referrals, set_status
from knowledge.db import make_engine, session_scope, upgrade

try:
    from tests.test_console_http import PASSWORD, _env, log_in, served, token  # noqa: F401 - fixture
except ImportError:  # pragma: no cover - rootdir-relative imports
    from test_console_http import PASSWORD, _env, log_in, served, token  # type: ignore[no-redef]  # noqa: F401


@pytest.fixture
def db(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'referrals.sqlite3'}")
    upgrade(engine)
    lens = add_structure(engine, "France Services de Lens", "62498")
    ccas = add_structure(engine, "CCAS d'Arras", "62041")
    other = add_structure(engine, "Mission locale de Calais", "62193")
    add_agent(engine, "agent@exemple.fr", PASSWORD, lens)
    add_agent(engine, "ccas@exemple.fr", PASSWORD, ccas)
    add_agent(engine, "calais@exemple.fr", PASSWORD, other)
    return engine


def _sheet_form(client: Any) -> dict[str, Any]:
    csrf = token(client.get("/pro/situation").text)
    return {"csrf": csrf, "commune": "Lens", "age": "29", "children_ages": "1", "situation": "demandeur_emploi",
            "dispositif": ["avip-creches"]}  # fmt: skip


def test_referral_from_consent_to_done(db: Engine) -> None:
    with served(db) as client:
        log_in(client)
        form = _sheet_form(client)
        sheet = client.post("/pro/fiche", data=form)
        assert "Orienter vers une structure" in sheet.text and "CCAS d&#39;Arras" in sheet.text
        person = {"to_structure": "2", "person_name": "Mme Martin", "contact": "06 00 00 00 01",
                  "wish": "Trouver une place en crèche pour reprendre un emploi"}  # fmt: skip
        without = client.post("/pro/orientations", data={**form, **person})
        assert without.status_code == 400 and "accord explicite" in without.text
        with session_scope(db) as session:
            assert session.scalar(select(Referral.id)) is None  # nothing stored without consent
        sent = client.post("/pro/orientations", data={**form, **person, "consent": "oui"})
        assert sent.status_code == 201
        link = re.search(r'id="tracking" readonly value="([^"]+)"', sent.text)
        assert link and "/suivi/" in link.group(1)
        tracking = "/suivi/" + link.group(1).rsplit("/suivi/", 1)[1]
        page = client.get(tracking)
        assert page.status_code == 200 and "Envoyée" in page.text
        assert "Mme Martin" not in page.text and "06 00" not in page.text  # the status only
    with served(db) as client:  # an agent of an unrelated structure sees nothing
        log_in(client, "calais@exemple.fr")
        assert "Aucune orientation" in client.get("/pro/orientations").text
        assert client.get("/pro/orientations/1").status_code == 404
    with served(db) as client:  # the receiving structure
        log_in(client, "ccas@exemple.fr")
        listing = client.get("/pro/orientations")
        assert "France Services de Lens" in listing.text and "Envoyée" in listing.text
        assert "Mme Martin" not in listing.text  # the list shows no content
        opened = client.get("/pro/orientations/1")
        assert opened.status_code == 200 and "Mme Martin" in opened.text and "Crèches AVIP" in opened.text
        assert "Vue par la structure" in opened.text
        csrf = token(opened.text)
        refused = client.post("/pro/orientations/1/statut", data={"csrf": csrf, "status": "refused"})
        assert refused.status_code == 400 and "raison du refus" in refused.text
        assert client.post("/pro/orientations/1/statut", data={"csrf": csrf, "status": "in_progress"}).status_code == 303
        assert client.post("/pro/orientations/1/statut", data={"csrf": csrf, "status": "done"}).status_code == 303
        assert client.post("/pro/orientations/1/statut", data={"status": "done"}).status_code == 403  # CSRF
        done = client.get("/pro/orientations/1")
        assert 'id="referral-status">Terminée' in done.text
        actions = re.findall(r"agent n° (\d+) — ([\w:]+)", done.text)
        assert ("1", "created") in actions and ("2", "status:seen") in actions and ("2", "status:done") in actions
        assert client.get(tracking).text.count("Terminée") == 1
    with served(db) as client:  # the sender sees the status but cannot change it
        log_in(client)
        assert "Terminée" in client.get("/pro/orientations").text
        page = client.get("/pro/orientations/1")
        assert "Nouveau statut" not in page.text
        answer = client.post("/pro/orientations/1/statut", data={"csrf": token(page.text), "status": "refused",
                                                                 "reason": "x"})  # fmt: skip
        assert answer.status_code == 400 and "Seule la structure" in answer.text


def test_access_log_holds_no_content_and_survives_the_purge(db: Engine) -> None:
    columns = {c["name"] for c in inspect(db).get_columns("console_referral_access")}
    assert columns == {"id", "referral_id", "agent_id", "action", "at"}
    sender = get_agent(db, 1)
    receiver = get_agent(db, 2)
    assert sender is not None and receiver is not None
    long_ago = dt.datetime(2026, 1, 5, 9, 0)
    with pytest.raises(ReferralError):
        create_referral(db, sender, 2, consent=False, person_name="A", contact="B", wish="C", summary="")
    old = create_referral(db, sender, 2, consent=True, person_name="A", contact="a@exemple.fr", wish="C",
                          summary="", now=long_ago)  # fmt: skip
    recent = create_referral(db, sender, 2, consent=True, person_name="B", contact="b@exemple.fr", wish="D",
                             summary="", now=long_ago + dt.timedelta(days=80))  # fmt: skip
    set_status(db, receiver, recent.id, "in_progress", now=long_ago + dt.timedelta(days=85))
    removed = purge_referrals(db, older_than_days=90, now=long_ago + dt.timedelta(days=100))
    assert removed == 1
    with session_scope(db) as session:
        kept = session.scalars(select(Referral.id)).all()
        logged = set(session.scalars(select(ReferralAccess.referral_id)).all())
    assert kept == [recent.id] and old.id in logged


def test_aiguillage_purge_deletes_old_referrals(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    from bot.cli import main as cli_main

    url = f"sqlite:///{tmp_path / 'cron.sqlite3'}"
    db = make_engine(url)
    upgrade(db)
    sender = get_agent(db, add_agent(db, "a@exemple.fr", PASSWORD, add_structure(db, "A")))
    assert sender is not None
    target = add_structure(db, "B")
    old = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(days=91)
    create_referral(db, sender, target, consent=True, person_name="P", contact="c", wish="w", summary="", now=old)
    create_referral(db, sender, target, consent=True, person_name="Q", contact="d", wish="v", summary="")
    monkeypatch.setenv("AIGUILLAGE_DATABASE_URL", url)
    assert cli_main(["purge"]) == 0
    assert "1 orientation(s) vers une structure effacée(s)" in capsys.readouterr().out
    with session_scope(db) as session:
        assert session.scalars(select(Referral.person_name)).all() == ["Q"]


# ------------------------------------------------------------------ from the ambassadeurs' page
NEED = "Aides à regarder : Crèches AVIP (à vérifier) ; Revenu de solidarité active (peut y avoir droit)."


def _outreach(**changes: Any) -> dict[str, Any]:
    return {"commune": "62498", "structure_id": 2, "need": NEED, "contact": "06 00 00 00 09", "consent": True,
            **changes}  # fmt: skip


def test_outreach_referral_reaches_the_structure_without_logging_its_content(
    db: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    add_structure(db, "CCAS de Beauvais", "60057")  # another département: not offered at Lens
    with served(db) as client:
        pack = client.get("/ambassadeur/pack.json", params={"commune": "62498"}).json()
        assert pack["structures"] == [{"id": 2, "name": "CCAS d'Arras"}, {"id": 1, "name": "France Services de Lens"},
                                      {"id": 3, "name": "Mission locale de Calais"}]  # fmt: skip
        with caplog.at_level("INFO"):
            sent = client.post("/ambassadeur/referrals", json=_outreach())
        assert sent.status_code == 201 and sent.json() == {"status": "sent"}
        assert sent.headers["cache-control"] == "no-store" and "content-security-policy" in sent.headers
    assert "/ambassadeur/referrals" in caplog.text
    assert "06 00 00 00 09" not in caplog.text and "AVIP" not in caplog.text
    with session_scope(db) as session:
        row = session.scalars(select(Referral)).one()
        assert (row.from_structure_id, row.created_by, row.to_structure_id, row.status) == (0, 0, 2, "sent")
        assert (row.wish, row.contact, row.person_name) == (NEED, "06 00 00 00 09", "")
        assert "Lens (62498)" in row.summary
        logged = [(a.agent_id, a.action) for a in session.scalars(select(ReferralAccess))]
    assert logged == [(0, "created")]
    with served(db) as client:  # the receiving structure finds it in its usual listing
        log_in(client, "ccas@exemple.fr")
        listing = client.get("/pro/orientations")
        assert "Ambassadeur de l&#39;accès aux droits" in listing.text and "Envoyée" in listing.text
        opened = client.get(f"/pro/orientations/{row.id}")
        assert "Crèches AVIP" in opened.text and "06 00 00 00 09" in opened.text
    with served(db) as client:  # and no other structure
        log_in(client, "calais@exemple.fr")
        assert "Aucune orientation" in client.get("/pro/orientations").text


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (_outreach(consent=False), 400),  # refused without consent
        (_outreach(structure_id=999), 404),  # unknown structure
        (_outreach(commune="00000"), 400),  # unknown commune
        (_outreach(consent="true"), 422),  # types are strict
        (_outreach(structure_id="2"), 422),
        (_outreach(need=""), 422),
        (_outreach(need="x" * 1001), 422),
        (_outreach(contact="x" * 201), 422),
        (_outreach(person_name="Mme Martin"), 422),  # no other field
        ({k: v for k, v in _outreach().items() if k != "consent"}, 422),
    ],
)
def test_outreach_referral_refused(db: Engine, body: dict[str, Any], status: int) -> None:
    with served(db) as client:
        answer = client.post("/ambassadeur/referrals", json=body)
    assert answer.status_code == status, answer.text
    with session_scope(db) as session:
        assert session.scalar(select(Referral.id)) is None
    if body.get("consent") is False:
        assert "accord explicite" in answer.json()["detail"]


def test_outreach_referrals_are_rate_limited(db: Engine) -> None:
    from bot.channels.http import HttpSettings, create_app

    try:
        from tests.fake_telegram import serve_app
        from tests.test_console_http import StubEngine
    except ImportError:  # pragma: no cover - rootdir-relative imports
        from fake_telegram import serve_app  # type: ignore[no-redef]
        from test_console_http import StubEngine  # type: ignore[no-redef]
    import httpx

    settings = HttpSettings(rate_per_minute=1.0, rate_burst=2)
    app = create_app(StubEngine(), db_engine=db, settings=settings, telegram=False, warm_up=False)
    with serve_app(app) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        statuses = [client.post("/ambassadeur/referrals", json=_outreach()).status_code for _ in range(3)]
        form = client.post("/ambassadeur/referrals", data={"consent": "true"})
    assert statuses[0] == 201 and statuses[-1] == 429, statuses
    assert form.status_code in (415, 429)

"""HTTP hardening (issue 9): crafted payloads and bodies, outages, logs, headers, limits, retries.

The app runs under a real uvicorn server with the real engine (fixtures of test_http_api).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from bot.channels.http import HttpSettings, create_app, uvicorn_options
from bot.channels.store import ConversationStore
from bot.channels.store_models import ConversationRow, utcnow
from knowledge.db import make_engine, upgrade

try:
    from tests.test_http_api import API, Client, _env, _start, _store, client, make_client, served
except ImportError:  # pragma: no cover - rootdir-relative imports
    from test_http_api import (  # type: ignore[no-redef]
        API,
        Client,
        _env,
        _start,
        _store,
        client,
        make_client,
        served,
    )

__all__ = ["_env", "client", "make_client"]  # fixtures used here
RASA = "/webhooks/rest/webhook"
DEEP = '/inform{"pregnant": ' + "[" * 950 + "]" * 950 + "}"


def _post(client: Client, cid: str, text: str, **kwargs: Any) -> httpx.Response:
    return client.post(f"{API}/{cid}/messages", json={"text": text}, **kwargs)


def _texts(response: httpx.Response) -> str:
    data = response.json()
    replies = data if isinstance(data, list) else data["replies"]
    return "\n".join(r["text"] for r in replies)


# ------------------------------------------------------------------------- defect 1
def test_a_crafted_payload_cannot_break_a_conversation(client: Client) -> None:
    cid, _ = _start(client, "j'ai 34 ans et je cherche une crèche à Arras")
    attack = _post(client, cid, DEEP[:1999])
    assert attack.status_code in {200, 413}, attack.text
    attack = client.post(f"{API}/{cid}/messages", json={"text": '/inform{"pregnant": [[[[[[[[1]]]]]]]]}'})
    assert attack.status_code == 200
    assert _post(client, cid, "je suis au chômage").status_code == 200
    summary = client.get(f"{API}/{cid}/summary")
    assert summary.status_code == 200 and summary.json()["summary"]["facts"].get("age") == 34
    erased = _post(client, cid, "effacer mes données")
    assert erased.status_code == 200 and erased.json()["erased"] is True
    # the Rasa channel (no DELETE there): the same attack, then erasure by message
    sender = "victime-rasa"
    assert client.post(RASA, json={"sender": sender, "message": "bonjour"}).status_code == 200
    assert client.post(RASA, json={"sender": sender, "message": DEEP[:1999]}).status_code in {200, 413}
    assert client.post(RASA, json={"sender": sender, "message": "bonjour"}).status_code == 200
    gone = client.post(RASA, json={"sender": sender, "message": "effacer mes données"})
    assert gone.status_code == 200 and "effac" in _texts(gone)


def test_a_corrupt_stored_state_recovers_over_http(client: Client) -> None:
    cid, _ = _start(client, "bonjour")
    nested: Any = 1
    for _ in range(900):
        nested = [nested]
    store = _store(client)
    with store.db.begin() as conn:
        conn.execute(
            update(ConversationRow.__table__)
            .where(ConversationRow.__table__.c.id == store.pseudonym("web", cid))
            .values(state={"slots": {"pregnant": nested}})
        )
    assert client.get(f"{API}/{cid}/summary").status_code == 200
    again = _post(client, cid, "je cherche une crèche")
    assert again.status_code == 200 and "repars de zéro" in _texts(again)


# ------------------------------------------------------------------------- defect 2
@pytest.mark.parametrize("path", [API, f"{API}/{{cid}}/messages", RASA])
def test_deeply_nested_json_body_gets_400(client: Client, path: str) -> None:
    cid, _ = _start(client, None)
    for body in ("[" * 980, "[" * 980 + "]" * 980, '{"text": ' + "[" * 500 + "]" * 500 + "}"):
        response = client.post(
            path.format(cid=cid), content=body.encode(), headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400, (path, response.status_code)
        assert "JSON" in response.json()["detail"]


# ------------------------------------------------------------------------- defect 3, 10
@pytest.mark.parametrize(
    "payload",
    [
        '/inform{"commune": 123}',
        '/choose_scheme{"scheme": {"x": 1}}',
        '/express_need{"need": null}',
        '/inform{"age": 1e999}',
        '/inform{"children_ages": [1, [2]]}',
    ],
)
def test_wrong_payload_types_get_an_answer(client: Client, payload: str) -> None:
    cid, _ = _start(client, "bonjour")
    assert _post(client, cid, payload).status_code == 200
    assert client.get(f"{API}/{cid}/summary").status_code == 200


def test_a_lone_surrogate_is_answered_once(client: Client) -> None:
    cid, _ = _start(client, "bonjour")
    bodies = (
        rb'{"text": "je cherche \ud800 une cr\u00e8che"}',  # refused by the schema (422), no turn
        rb'{"text": "/inform{\"commune\": \"\\udfff\"}"}',  # a surrogate inside the payload
        rb'{"text": "/express_need{\"need\": \"\\ud83d\"}"}',
    )
    answered = 0
    for body in bodies:
        response = client.post(
            f"{API}/{cid}/messages", content=body, headers={"Content-Type": "application/json"}
        )
        assert response.status_code in {200, 422}, response.text
        answered += response.status_code == 200
    assert answered == 2
    assert (
        client.get(f"{API}/{cid}/summary").json()["message_count"] == 1 + answered
    )  # nothing saved then failed
    rasa = client.post(
        RASA,
        content=rb'{"sender": "s\ud800", "message": "bonjour"}',
        headers={"Content-Type": "application/json"},
    )
    assert rasa.status_code in {200, 422}


def test_payload_text_is_never_said_back(client: Client) -> None:
    cid, _ = _start(client, "bonjour")
    response = _post(client, cid, '/express_need{"need": "<b>Virement urgent au 0899 000 000</b>"}')
    assert response.status_code == 200
    assert "0899" not in response.text and "Virement" not in response.text
    assert "0899" not in str(client.get(f"{API}/{cid}/summary").json())


# ------------------------------------------------------------------------- defect 5
@pytest.fixture
def silent_redis() -> Iterator[str]:
    """A TCP port that accepts connections and never answers (a hung Redis)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    try:
        yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    finally:
        server.close()


def test_a_redis_that_never_answers_costs_little_and_readiness_says_so(
    engine: Any, tmp_path: Path, silent_redis: str
) -> None:
    db = make_engine(f"sqlite:///{tmp_path / 'silent.sqlite3'}")
    settings = HttpSettings(rate_per_minute=6000.0, rate_burst=1000, redis_url=silent_redis)
    store = ConversationStore(db, engine, redis_url=silent_redis)
    app = create_app(store=store, settings=settings, db_engine=db)
    with served(app) as client:
        cid, _ = _start(client, "bonjour")
        durations = []
        for text in ("je cherche une crèche", "à Arras", "merci"):
            started = time.monotonic()
            assert _post(client, cid, text).status_code == 200
            durations.append(time.monotonic() - started)
        print("turn durations with a silent Redis:", [round(d, 3) for d in durations])
        assert max(durations) < 3.0, durations  # before: about 7 s a turn
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["redis"] == "unreachable"


# ------------------------------------------------------------------------- defect 7
def test_a_database_outage_answers_503_with_one_log_line(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    cid, _ = _start(client, "bonjour")
    store = _store(client)
    working = store.db
    store.db = make_engine("postgresql+psycopg://nobody@127.0.0.1:9/none?connect_timeout=1")
    caplog.set_level(logging.INFO, logger="aiguillage")
    caplog.clear()
    try:
        response = _post(client, cid, "je cherche une crèche")
    finally:
        store.db = working
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert "indisponible" in response.json()["detail"]
    lines = [r for r in caplog.records if r.name.startswith("aiguillage") and r.levelno >= logging.WARNING]
    assert len(lines) == 1 and "\n" not in lines[0].getMessage(), [r.getMessage() for r in lines]
    assert _post(client, cid, "je cherche une crèche").status_code == 200  # back without a restart


# ------------------------------------------------------------------------- defect 8
def test_unknown_paths_are_not_logged_verbatim(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="aiguillage")
    for path in (
        "/x%0AFAKE%20LOG%20LINE%20status=200",
        "/appel/0612345678",
        "/api/v1/zoe.martinvalle@example.org",
        "/api/v1/conversations/abcdefgh/0612345678/x",
    ):
        client.get(path)
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("aiguillage"))
    for private in ("FAKE", "0612345678", "martinvalle", "\nFAKE"):
        assert private not in logged, logged


# ------------------------------------------------------------------------- defect 12
def test_security_headers(client: Client) -> None:
    api = client.get("/healthz")
    assert api.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in api.headers["content-security-policy"]
    demo = client.get("/widget/demo.html")
    assert demo.status_code == 200 and "script-src 'self'" in demo.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in client.get("/").headers["content-security-policy"]
    cid, _ = _start(client, None)
    assert client.get(f"{API}/{cid}/summary").headers["cache-control"] == "no-store"
    docs = client.get("/docs")
    assert docs.status_code == 200
    scripts = [line for line in docs.text.splitlines() if "<script src=" in line or "stylesheet" in line]
    assert scripts and all('integrity="sha' in line and "@5/" not in line for line in scripts)
    csp = docs.headers["content-security-policy"]
    assert "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]


def test_x_forwarded_for_is_believed_only_from_configured_proxies(engine: Any, tmp_path: Path) -> None:
    assert uvicorn_options()["proxy_headers"] is False  # uvicorn's default trusts 127.0.0.1

    def statuses(settings: HttpSettings) -> list[int]:
        db = make_engine(f"sqlite:///{tmp_path / f'xff{len(settings.trusted_proxies)}.sqlite3'}")
        upgrade(db)
        app = create_app(engine, db_engine=db, settings=settings, run_migrations=False)

        async def run() -> list[int]:
            transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 5000))
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
                return [
                    (await http.post(API, json={}, headers={"X-Forwarded-For": f"10.0.0.{i}"})).status_code
                    for i in range(4)
                ]

        return asyncio.run(run())

    assert statuses(HttpSettings(rate_per_minute=6.0, rate_burst=3)) == [201, 201, 201, 429]
    trusted = HttpSettings(rate_per_minute=6.0, rate_burst=3, trusted_proxies=["127.0.0.1"])
    assert statuses(trusted) == [201, 201, 201, 201]  # behind a configured proxy: one client each


# ------------------------------------------------------------------------- defect 13
def test_a_long_sender_gets_the_right_message(client: Client) -> None:
    response = client.post(RASA, json={"sender": "s" * 129, "message": "bonjour"})
    assert response.status_code == 422
    assert "128" in response.json()["detail"] and "2000" not in response.json()["detail"]


def test_unused_empty_conversations_are_purged(client: Client) -> None:
    empty, _ = _start(client, None)
    used, _ = _start(client, "bonjour")
    store = _store(client)
    later = utcnow().replace(microsecond=0)
    store.clock = lambda: later + dt.timedelta(hours=2)
    assert store.purge() == 1
    assert not store.exists("web", empty) and store.exists("web", used)


def test_a_retried_turn_with_an_idempotency_key_is_not_run_twice(client: Client) -> None:
    cid, _ = _start(client, "bonjour")
    headers = {"Idempotency-Key": "retry-1"}
    first = _post(client, cid, "je cherche une crèche", headers=headers)
    again = _post(client, cid, "je cherche une crèche", headers=headers)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert client.get(f"{API}/{cid}/summary").json()["message_count"] == 2
    assert _post(client, cid, "à Arras", headers={"Idempotency-Key": "retry-2"}).status_code == 200
    assert client.get(f"{API}/{cid}/summary").json()["message_count"] == 3
    rasa = [client.post(RASA, json={"sender": "r", "message": "bonjour"}, headers=headers) for _ in range(2)]
    assert rasa[0].json() == rasa[1].json()

"""HTTP channel: native JSON API, Rasa REST webhook, health, widget files, bad input, rate limits, logs.

`create_app` runs under a real uvicorn server (in a thread, lifespan included: migrations and
retention purge) with the REAL dialogue engine (conftest's `engine`) and a conversation store on
a temporary SQLite file; requests go over HTTP with httpx.
"""

from __future__ import annotations

import contextlib
import json
import logging
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from sqlalchemy import select

from bot.channels.http import MAX_TEXT_CHARS, HttpSettings, create_app
from bot.channels.store import ConversationStore
from bot.channels.store_models import ConversationRow
from bot.dialogue.api import Incoming, Turn
from knowledge.db import make_engine, upgrade

try:
    from tests.conftest import require
    from tests.fake_telegram import serve_app
except ImportError:  # pragma: no cover - rootdir-relative imports
    from conftest import require  # type: ignore[no-redef]
    from fake_telegram import serve_app  # type: ignore[no-redef]

REDIS_URL = "redis://127.0.0.1:6379/0"
FIRST = "je cherche une crèche pour mon bébé de 10 mois, je suis au chômage"
HERSIN = {"lat": 50.448, "lon": 2.649}
AVIP_EMAIL = "avip@ville-hersin-coupigny.fr"
API = "/api/v1/conversations"
UNKNOWN_ID = "AAAAAAAAAAAAAAAAAAAAAA"  # well formed, never created


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIGUILLAGE_SECRET_KEY", "http-test-pepper")
    for name in (
        "AIGUILLAGE_REDIS_URL",
        "AIGUILLAGE_TELEGRAM_TOKEN",
        "AIGUILLAGE_RETENTION_DAYS",
        "AIGUILLAGE_LOG_CONTENT",
    ):
        monkeypatch.delenv(name, raising=False)


class Client(httpx.Client):
    """httpx client of one served app; `.app` is the FastAPI application."""

    app: Any


@contextlib.contextmanager
def served(app: Any) -> Iterator[Client]:
    with serve_app(app) as server, Client(base_url=server.url, timeout=30) as client:
        client.app = app
        yield client


@pytest.fixture
def make_client(engine: Any, tmp_path: Path) -> Iterator[Callable[..., Client]]:
    """Factory: the app on the real engine, served; keyword arguments override HttpSettings."""
    with contextlib.ExitStack() as stack:

        def make(db_name: str = "http.sqlite3", **overrides: Any) -> Client:
            settings = HttpSettings(**{"rate_per_minute": 6000.0, "rate_burst": 1000, **overrides})
            db = make_engine(f"sqlite:///{tmp_path / db_name}")
            return stack.enter_context(served(create_app(engine, db_engine=db, settings=settings)))

        yield make


@pytest.fixture
def client(make_client: Callable[..., Client]) -> Client:
    return make_client()


def _store(client: Client) -> ConversationStore:
    return client.app.state.store  # type: ignore[no-any-return]


def _texts(replies: list[dict[str, Any]]) -> str:
    return "\n".join(r["text"] for r in replies)


def _start(client: Client, text: str | None = FIRST) -> tuple[str, list[dict[str, Any]]]:
    response = client.post(API, json={} if text is None else {"text": text})
    assert response.status_code == 201, response.text
    data = response.json()
    return data["conversation_id"], data["replies"]


def _say(client: Client, cid: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(f"{API}/{cid}/messages", json=body)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


# ---------------------------------------------------------------------------------- documentation
def test_openapi_documents_every_endpoint(client: Client) -> None:
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    assert set(paths[API]) == {"post"}
    assert set(paths[API + "/{conversation_id}/messages"]) == {"post"}
    assert set(paths[API + "/{conversation_id}/summary"]) == {"get"}
    assert set(paths[API + "/{conversation_id}"]) == {"delete"}
    assert set(paths["/webhooks/rest/webhook"]) == {"post"}
    assert "/healthz" in paths and "/readyz" in paths
    message = paths[API + "/{conversation_id}/messages"]["post"]
    assert {"200", "404", "413", "422", "429"} <= set(message["responses"])
    schemas = spec["components"]["schemas"]
    assert {"text", "location"} <= set(schemas["MessageIn"]["properties"])
    assert {"recipient_id", "text", "buttons"} <= set(schemas["RasaOut"]["properties"])
    assert {"title", "payload"} == set(schemas["ButtonOut"]["properties"])
    docs = client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


def test_health_and_readiness(client: Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "database": "ok", "engine": "ok"}


def test_readiness_fails_without_database(engine: Any, tmp_path: Path) -> None:
    missing = make_engine(f"sqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'db.sqlite3'}")
    app = create_app(engine, db_engine=missing, run_migrations=False, purge_on_startup=False)
    with served(app) as client:
        assert client.get("/healthz").status_code == 200  # alive...
        ready = client.get("/readyz")  # ...but not ready
        assert ready.status_code == 503
        assert ready.json()["database"] == "unreachable"


def test_demo_page_and_widget_files(client: Client) -> None:
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<script src="/widget/aiguillage-widget.js"' in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    script = client.get("/widget/aiguillage-widget.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert "innerHTML" not in script.text  # everything is rendered as text
    assert script.headers["content-encoding"] == "gzip", "compressed for poor connections"
    assert int(script.headers["content-length"]) < len(script.content) / 2
    style = client.get("/widget/aiguillage-widget.css")
    assert style.status_code == 200 and style.headers["content-type"].startswith("text/css")
    assert client.get("/widget/nothing.js").status_code == 404


def test_cors_preflight_for_the_widget_on_another_site(client: Client) -> None:
    response = client.options(
        f"{API}/{UNKNOWN_ID}/messages",
        headers={"Origin": "https://mairie.example", "Access-Control-Request-Method": "POST"},
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] in {"*", "https://mairie.example"}


# ---------------------------------------------------------------------------------- native API
def test_conversation_to_an_orientation(client: Client) -> None:
    cid, replies = _start(client)
    assert len(cid) >= 16
    assert replies[-1]["custom"]["request_location"] is True  # asks where the person lives
    assert "commune" in replies[-1]["text"]

    data = _say(client, cid, {"location": HERSIN})
    assert data["conversation_id"] == cid and data["erased"] is False
    text = _texts(data["replies"])
    assert "AVIP" in text and AVIP_EMAIL in text
    orientation = [r for r in data["replies"] if r.get("custom", {}).get("orientation")]
    assert orientation, "the orientation reply carries custom.orientation"
    summary_text = orientation[-1]["custom"]["summary"]
    assert "Hersin-Coupigny" in summary_text and AVIP_EMAIL in summary_text
    buttons = data["replies"][-1]["buttons"]
    assert buttons and all(set(b) == {"title", "payload"} for b in buttons)

    # a quick reply sends the button's payload as text
    why = next(b for b in buttons if b["payload"] == "/ask_why")
    assert _texts(_say(client, cid, {"text": why["payload"]})["replies"])

    summary = client.get(f"{API}/{cid}/summary")
    assert summary.status_code == 200
    body = summary.json()
    assert body["message_count"] == 3
    assert body["summary"]["commune"]["nom"] == "Hersin-Coupigny"
    assert body["summary"]["oriented"] is True
    assert "avip-creches" in json.dumps(body["summary"])
    assert body["expires_at"] > body["updated_at"]
    # only the engine state is stored, never what the person wrote
    with _store(client).db.connect() as conn:
        row = conn.execute(select(ConversationRow.__table__)).one()
    stored = json.dumps(row._asdict(), default=str, ensure_ascii=False)
    assert cid not in stored, "the conversation id is pseudonymised"
    for fragment in ("je cherche", "crèche pour mon bébé", "chômage"):
        assert fragment not in stored
    assert "50.448" not in stored, "the position is kept rounded (about 1 km)"


def test_quick_replies_from_the_greeting(client: Client) -> None:
    cid, replies = _start(client, "bonjour")
    buttons = replies[-1]["buttons"]
    childcare = next(b for b in buttons if "garde" in b["title"].lower() or "crèche" in b["title"].lower())
    data = _say(client, cid, {"text": childcare["payload"]})
    assert data["replies"] and "?" in _texts(data["replies"])  # the next question
    assert client.get(f"{API}/{cid}/summary").json()["summary"]["need"] == "garde_enfant"


def test_create_without_a_message_then_talk(client: Client) -> None:
    cid, replies = _start(client, None)
    assert replies == []
    summary = client.get(f"{API}/{cid}/summary").json()
    assert summary["message_count"] == 0
    assert _say(client, cid, {"text": "bonjour"})["replies"]
    assert client.get(f"{API}/{cid}/summary").json()["message_count"] == 1


def test_delete_erases_the_conversation(client: Client) -> None:
    cid, _ = _start(client)
    erased = client.delete(f"{API}/{cid}")
    assert erased.status_code == 200
    assert erased.json() == {
        "conversation_id": cid,
        "erased": True,
        "detail": "Vos données ont été effacées.",
    }
    assert client.get(f"{API}/{cid}/summary").status_code == 404
    assert client.post(f"{API}/{cid}/messages", json={"text": "Hersin-Coupigny"}).status_code == 404
    assert client.delete(f"{API}/{cid}").status_code == 404
    assert not _store(client).exists("web", cid)


@pytest.mark.parametrize("words", ["effacer mes données", "/oubli"])
def test_erase_by_message(client: Client, words: str) -> None:
    cid, _ = _start(client)
    other, _ = _start(client)
    data = _say(client, cid, {"text": words})
    assert data["erased"] is True
    assert "effacé" in _texts(data["replies"])
    assert client.get(f"{API}/{cid}/summary").status_code == 404
    assert client.get(f"{API}/{other}/summary").status_code == 200, "other conversations stay"


def test_erase_as_the_first_message_stores_nothing(client: Client) -> None:
    response = client.post(API, json={"text": "effacer mes données"})
    assert response.status_code == 201 and response.json()["erased"] is True
    assert client.get(f"{API}/{response.json()['conversation_id']}/summary").status_code == 404


# ---------------------------------------------------------------------------------- Rasa REST channel
def test_rasa_rest_webhook_shape_and_continuity(client: Client) -> None:
    sender = f"rasa-{uuid.uuid4().hex[:8]}"
    first = client.post("/webhooks/rest/webhook", json={"sender": sender, "message": FIRST})
    assert first.status_code == 200
    messages = first.json()
    assert isinstance(messages, list) and messages
    for message in messages:
        assert message["recipient_id"] == sender
        assert isinstance(message["text"], str) and message["text"]
        assert all(set(b) == {"title", "payload"} for b in message["buttons"])
    assert "commune" in messages[-1]["text"]
    second = client.post("/webhooks/rest/webhook", json={"sender": sender, "message": "Hersin-Coupigny"})
    text = _texts(second.json())
    assert "AVIP" in text and AVIP_EMAIL in text, "the second message continues the same conversation"
    stored = _store(client).load("rest", sender)
    assert stored is not None and stored.message_count == 2
    # a Rasa client erases with the same words
    gone = client.post("/webhooks/rest/webhook", json={"sender": sender, "message": "/oubli"})
    assert gone.status_code == 200 and "effacé" in _texts(gone.json())
    assert _store(client).load("rest", sender) is None


# ---------------------------------------------------------------------------------- bad input
BAD_INPUT: list[tuple[str, str, str, dict[str, Any], int, str]] = [
    # (case, method, path, request kwargs, status, words expected in "detail")
    ("empty text", "POST", "{msg}", {"json": {"text": ""}}, 400, "vide"),
    ("blank text", "POST", "{msg}", {"json": {"text": "  \n\t "}}, 400, "vide"),
    ("invisible text", "POST", "{msg}", {"json": {"text": "\u200b\u200d\x00"}}, 400, "vide"),
    ("no body", "POST", "{msg}", {}, 422, "manquant"),
    ("empty object", "POST", "{msg}", {"json": {}}, 422, "text"),
    ("text and location", "POST", "{msg}", {"json": {"text": "a", "location": HERSIN}}, 422, "soit"),
    ("number as text", "POST", "{msg}", {"json": {"text": 12}}, 422, "type invalide"),
    ("array body", "POST", "{msg}", {"json": ["bonjour"]}, 422, "objet JSON"),
    (
        "location out of range",
        "POST",
        "{msg}",
        {"json": {"location": {"lat": 91, "lon": 2}}},
        422,
        "position",
    ),
    (
        "malformed JSON",
        "POST",
        "{msg}",
        {"content": b'{"text": "bonj', "headers": {"Content-Type": "application/json"}},
        400,
        "JSON valide",
    ),
    (
        "binary body",
        "POST",
        "{msg}",
        {"content": bytes(range(256)), "headers": {"Content-Type": "application/json"}},
        400,
        "UTF-8",
    ),
    (
        "binary upload",
        "POST",
        "{msg}",
        {"content": b"\x89PNG\r\n\x1a\n", "headers": {"Content-Type": "application/octet-stream"}},
        415,
        "JSON",
    ),
    ("huge body", "POST", "{msg}", {"json": {"text": "a" * 10_000}}, 413, "trop long"),
    (
        "text over the limit",
        "POST",
        "{msg}",
        {"json": {"text": "b" * (MAX_TEXT_CHARS + 1)}},
        413,
        "trop long",
    ),
    (
        "huge body without length",
        "POST",
        "{msg}",
        {
            "content": iter([b'{"text": "', b"x" * 3000, b"x" * 3000, b'"}']),
            "headers": {"Content-Type": "application/json"},
        },
        413,
        "trop long",
    ),
    (
        "unknown conversation",
        "POST",
        f"{API}/{UNKNOWN_ID}/messages",
        {"json": {"text": "a"}},
        404,
        "inconnue",
    ),
    ("unknown summary", "GET", f"{API}/{UNKNOWN_ID}/summary", {}, 404, "inconnue"),
    ("unknown erase", "DELETE", f"{API}/{UNKNOWN_ID}", {}, 404, "inconnue"),
    (
        "malformed id",
        "POST",
        f"{API}/<script>alert(1)<script>/messages",
        {"json": {"text": "a"}},
        422,
        "identifiant",
    ),
    ("short id", "GET", f"{API}/abc/summary", {}, 422, "identifiant"),
    ("rasa without sender", "POST", "/webhooks/rest/webhook", {"json": {"message": "a"}}, 422, "sender"),
    (
        "rasa empty message",
        "POST",
        "/webhooks/rest/webhook",
        {"json": {"sender": "s-1", "message": " "}},
        400,
        "vide",
    ),
    ("wrong method", "PUT", API, {"json": {}}, 405, "Méthode"),
    ("unknown address", "GET", "/api/v1/nothing", {}, 404, "inconnue"),
]


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "words"),
    [case[1:] for case in BAD_INPUT],
    ids=[case[0] for case in BAD_INPUT],
)
def test_bad_input_gets_a_clear_answer(
    client: Client, method: str, path: str, kwargs: dict[str, Any], status: int, words: str
) -> None:
    cid, _ = _start(client, None)
    response = client.request(method, path.format(msg=f"{API}/{cid}/messages"), **kwargs)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    detail = response.json()["detail"]
    assert isinstance(detail, str) and words.lower() in detail.lower()
    # the conversation is still usable afterwards
    assert client.get(f"{API}/{cid}/summary").json()["message_count"] == 0


@pytest.mark.parametrize("text", ["😀🙏", "👍", "🤷‍♀️🤷‍♀️", "???"])
def test_emoji_only_messages_get_an_answer(client: Client, text: str) -> None:
    cid, _ = _start(client, "bonjour")
    data = _say(client, cid, {"text": text})
    assert data["replies"] and all(r["text"].strip() for r in data["replies"])
    assert client.get(f"{API}/{cid}/summary").json()["message_count"] == 2


# ---------------------------------------------------------------------------------- rate limits
def test_rate_limit_per_client(make_client: Callable[..., Client]) -> None:
    client = make_client(rate_per_minute=6.0, rate_burst=3)
    statuses = [client.post(API, json={}).status_code for _ in range(3)]
    assert statuses == [201, 201, 201]
    limited = client.post(API, json={"text": "bonjour"})
    assert limited.status_code == 429
    retry = int(limited.headers["Retry-After"])
    assert 1 <= retry <= 10  # one token every 10 s
    assert "Réessayez" in limited.json()["detail"]
    assert client.post("/webhooks/rest/webhook", json={"sender": "s", "message": "a"}).status_code == 429
    # health checks, the widget and the demo page are not limited
    assert client.get("/healthz").status_code == 200
    assert client.get("/widget/aiguillage-widget.js").status_code == 200


@pytest.mark.redis
def test_rate_limit_shared_through_redis(make_client: Callable[..., Client]) -> None:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
        available = True
    except redis.RedisError:
        available = False
    require(available, f"Redis ({REDIS_URL})")
    prefix = f"aiguillage:test:{uuid.uuid4().hex}:"
    settings = {"rate_per_minute": 6.0, "rate_burst": 3, "redis_url": REDIS_URL, "rate_key_prefix": prefix}
    worker_a = make_client("a.sqlite3", **settings)
    worker_b = make_client("b.sqlite3", **settings)  # another worker: its own memory, the same Redis
    assert [worker_a.post(API, json={}).status_code for _ in range(2)] == [201, 201]
    assert worker_b.post(API, json={}).status_code == 201
    limited = worker_b.post(API, json={})
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    assert worker_a.post(API, json={}).status_code == 429
    client = redis.Redis.from_url(REDIS_URL)
    keys = client.keys(prefix + "*")
    assert keys and client.ttl(keys[0]) > 0, "buckets expire by themselves"
    client.delete(*keys)


# ---------------------------------------------------------------------------------- logs
class _Boom:
    """An engine that fails with the message text in its exception (a careless library would)."""

    def new_state(self) -> dict[str, Any]:
        return {}

    def handle(self, state: dict[str, Any], incoming: Incoming) -> Turn:
        raise ValueError(f"cannot handle {incoming.text!r}")

    def summary(self, state: dict[str, Any]) -> dict[str, Any]:
        return {}


def test_no_message_text_phone_or_email_in_logs(
    client: Client, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret_text = "Je m'appelle Zoé Martinvalle, au RSA"
    phone, email = "06 12 34 56 78", "zoe.martinvalle@example.org"
    cid, _ = _start(client, f"{secret_text}, joignable au {phone} ou {email}")
    _say(client, cid, {"text": f"mon mail {email} et mon tel {phone}, je cherche une crèche"})
    client.post("/webhooks/rest/webhook", json={"sender": email, "message": f"{secret_text} {phone}"})
    client.post(f"{API}/{cid}/messages", json={"text": phone * 400})  # 413
    client.post(f"{API}/{cid}/messages", json={"text": 7, "other": email})  # 422

    db = make_engine(f"sqlite:///{tmp_path / 'boom.sqlite3'}")
    upgrade(db)
    boom = create_app(store=ConversationStore(db, _Boom(), redis_url=""), run_migrations=False)
    with served(boom) as failing:
        started = failing.post(API, json={})
        failed = failing.post(
            f"{API}/{started.json()['conversation_id']}/messages", json={"text": f"{secret_text} {email}"}
        )
    assert failed.status_code == 500 and failed.json() == {"detail": "Erreur interne. Réessayez plus tard."}

    server_side = [
        r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))
    ]  # not the client's
    logged = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''} {r.args!r}" for r in server_side)
    assert "POST /api/v1/conversations/{conversation_id}/messages" in logged, "requests are logged"
    assert "ValueError" in logged, "the internal error is logged (its type and place)"
    for private in (secret_text, "Zoé", "Martinvalle", phone, "0612345678", email, "crèche"):
        assert private not in logged, f"{private!r} leaked into the logs"
    assert cid not in logged, "conversations are logged by pseudonym only"

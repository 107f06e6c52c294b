"""Store hardening (issue 9): crafted payloads, corrupt states, erasure on disk, lock expiry, purge.

Real engine (conftest), real SQLite files; PostgreSQL and Redis local servers where marked.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy import Engine as DbEngine
from sqlalchemy import text, update

from bot.channels.store import REDIS_LOCK_PREFIX, ConversationStore, purge_conversations
from bot.channels.store_models import ConversationRow
from bot.dialogue.api import Incoming

try:
    from tests.conftest import require
    from tests.store_worker import CountingEngine
except ImportError:  # pragma: no cover - rootdir-relative imports
    from conftest import require  # type: ignore[no-redef]
    from store_worker import CountingEngine  # type: ignore[no-redef]

from knowledge.db import make_engine, upgrade

REPO = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("AIGUILLAGE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
TABLE = ConversationRow.__table__
FIRST = "j'ai 34 ans, je suis au RSA, je cherche une crèche pour mon bébé à Arras"
DEEP = '/inform{"pregnant": ' + "[" * 950 + "]" * 950 + "}"


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIGUILLAGE_SECRET_KEY", f"store-hardening-{uuid.uuid4().hex}")
    monkeypatch.delenv("AIGUILLAGE_REDIS_URL", raising=False)
    monkeypatch.delenv("AIGUILLAGE_RETENTION_DAYS", raising=False)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[DbEngine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'conv.sqlite3'}")
    upgrade(engine)
    yield engine
    engine.dispose()


def _texts(replies: list[Any]) -> str:
    return "\n".join(r.text for r in replies)


def _say(store: ConversationStore, who: str, text: str) -> Any:
    return store.turn("web", who, Incoming(text=text, channel="web"))


# ------------------------------------------------------------------------- defects 1, 3, 10
def test_deeply_nested_payload_does_not_break_the_conversation(db: DbEngine, engine: Any) -> None:
    store = ConversationStore(db, engine, redis_url="")
    _say(store, "victim", FIRST)
    _say(store, "victim", DEEP)  # before: stored as is; every later turn raised RecursionError
    stored = store.load("web", "victim")
    assert stored is not None and "[" not in str(stored.state["slots"].get("pregnant", ""))
    assert engine.summary(stored.state)["facts"].get("age") == 34
    assert "effac" in _texts(_say(store, "victim", "effacer mes données").replies)
    assert not store.exists("web", "victim")


@pytest.mark.parametrize(
    "payload",
    [
        '/inform{"commune": 123}',
        '/choose_scheme{"scheme": {"x": 1}}',
        '/inform{"age": "\\ud800"}',
        '/inform{"situation": ["salarie"]}',
        '/express_need{"need": ["budget"]}',
        '/inform{"unknown_slot": 1}',
    ],
)
def test_wrong_payload_types_are_refused_before_the_state(db: DbEngine, engine: Any, payload: str) -> None:
    store = ConversationStore(db, engine, redis_url="")
    _say(store, "p", "bonjour")
    result = _say(store, "p", payload)
    assert result.replies
    stored = store.load("web", "p")
    assert stored is not None
    slots = stored.state["slots"]
    assert not isinstance(slots.get("commune"), int) and not isinstance(slots.get("focus_scheme"), dict)
    assert "unknown_slot" not in slots and "\ud800" not in repr(stored.state)
    assert _say(store, "p", "je cherche une crèche").replies  # the conversation goes on


def test_payload_free_text_is_never_stored_nor_said_back(db: DbEngine, engine: Any) -> None:
    store = ConversationStore(db, engine, redis_url="")
    marker = "Appelez le 0899 000 000 XSSMARKER"
    result = _say(store, "t", '/express_need{"need": "' + marker + '"}')
    assert "XSSMARKER" not in _texts(result.replies)
    stored = store.load("web", "t")
    assert stored is not None and "XSSMARKER" not in repr(stored.state)


def test_a_payload_nobody_offered_loses_its_values(db: DbEngine, engine: Any) -> None:
    """/inform{...} typed by hand (e.g. into someone else's conversation) sets no fact."""
    store = ConversationStore(db, engine, redis_url="")
    _say(store, "o", "bonjour")
    _say(store, "o", '/inform{"age": 99, "pregnant": true, "situation": "retraite"}')
    stored = store.load("web", "o")
    assert stored is not None
    assert {"age", "pregnant", "situation"}.isdisjoint(
        k for k, v in stored.state["slots"].items() if v is not None
    )
    # the documented public payloads still work (closed sets, checked again by bot.nlu.payload)
    result = _say(store, "o", '/express_need{"need": "garde_enfant"}')
    stored = store.load("web", "o")
    assert stored is not None and stored.state["slots"].get("need") == "garde_enfant", _texts(result.replies)


def test_offered_button_payloads_are_accepted(db: DbEngine, engine: Any) -> None:
    from bot.channels.button_guard import OFFERED, guard_incoming, remember_buttons
    from bot.dialogue.api import Button, Reply

    payload = '/inform{"housing": "locataire"}'
    state = remember_buttons({}, [Reply("?", [Button("Locataire", payload), Button("Aide", "/ask_help")])])
    assert state[OFFERED] == ['inform{"housing": "locataire"}']
    kept = guard_incoming(state, Incoming(text=payload))
    assert kept.text == payload
    assert guard_incoming({}, Incoming(text=payload)).text == "/inform"
    assert guard_incoming(state, Incoming(text='/inform{"housing": "proprietaire"}')).text == "/inform"


def test_a_corrupt_stored_state_is_reset_with_a_notice(db: DbEngine, engine: Any) -> None:
    store = ConversationStore(db, engine, redis_url="")
    _say(store, "c", FIRST)
    nested: Any = []
    for _ in range(900):
        nested = [nested]
    with db.begin() as conn:
        conn.execute(
            update(TABLE)
            .where(TABLE.c.id == store.pseudonym("web", "c"))
            .values(state={"v": 1, "slots": {"pregnant": nested, "declined": []}})
        )
    result = _say(store, "c", "bonjour")
    assert "repars de zéro" in _texts(result.replies)
    stored = store.load("web", "c")
    assert stored is not None and "pregnant" not in stored.state["slots"]
    with db.begin() as conn:
        conn.execute(update(TABLE).where(TABLE.c.id == store.pseudonym("web", "c")).values(state=[1, 2]))
    assert _say(store, "c", "effacer mes données").erased


# ------------------------------------------------------------------------- defect 9
def test_erasure_leaves_nothing_readable_in_the_sqlite_files(tmp_path: Path, engine: Any) -> None:
    path = tmp_path / "erase.sqlite3"
    db = make_engine(f"sqlite:///{path}")
    upgrade(db)
    store = ConversationStore(db, engine, redis_url="")
    _say(store, "e", "j'ai 34 ans, je touche le RSA à Lens")
    _say(store, "e", "je gagne 612 euros par mois")
    _say(store, "e", "je suis locataire")
    for _ in range(3):
        _say(store, "keep", "bonjour")
    raw_before = b"".join(p.read_bytes() for p in tmp_path.glob("erase.sqlite3*"))
    # the income as the state stores it; a bare « 612 » can be part of the other conversation's
    # hexadecimal pseudonym (the clean-clone CI of 46957e8 failed on it once)
    income = b'"monthly_income": 612'
    assert b"beneficiaire_rsa" in raw_before and income in raw_before
    assert _say(store, "e", "effacer mes données").erased
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("erase.sqlite3*"))
    assert b"beneficiaire_rsa" not in raw and income not in raw and b"612 euros" not in raw
    assert store.exists("web", "keep")
    db.dispose()


@pytest.mark.postgres
def test_postgresql_erasure_makes_the_row_invisible(pg_admin: Any, engine: Any) -> None:
    """PostgreSQL: the row is gone for every query at once (the page is reused by VACUUM; see docs)."""
    require(pg_admin is not None, "PostgreSQL")
    name = f"aiguillage_erase_{uuid.uuid4().hex[:10]}"
    with pg_admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = str(pg_admin.url.set(database=name).render_as_string(hide_password=False))
    try:
        db = make_engine(url)
        upgrade(db)
        store = ConversationStore(db, engine, redis_url="")
        _say(store, "e", "j'ai 34 ans, je touche le RSA à Lens")
        assert _say(store, "e", "effacer mes données").erased
        with db.connect() as conn:
            count = conn.execute(text("SELECT count(*) FROM conversations")).scalar()
        assert count == 0
        db.dispose()
    finally:
        with pg_admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


# ------------------------------------------------------------------------- defect 6
@pytest.mark.redis
def test_a_dead_workers_lock_expires_before_the_wait_ends(db: DbEngine) -> None:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError:
        require(False, "Redis")
    store = ConversationStore(db, CountingEngine(delay=0), redis_url=REDIS_URL, wait_timeout=1.5)
    assert store.lock_timeout < store.wait_timeout
    # a worker killed mid-turn leaves its lock with the full expiry it set
    key = REDIS_LOCK_PREFIX + store.pseudonym("web", "dead")
    redis.Redis.from_url(REDIS_URL).set(key, "dead-worker-token", px=int(store.lock_timeout * 1000))
    started = time.monotonic()
    store.process("web", "dead", Incoming(text="bonjour"))  # before: StoreBusy (lock 30 s > wait 20 s)
    assert time.monotonic() - started < store.wait_timeout


# ------------------------------------------------------------------------- defect 13
def test_purge_refuses_a_negative_number_of_days(db: DbEngine, engine: Any, tmp_path: Path) -> None:
    store = ConversationStore(db, CountingEngine(delay=0), redis_url="")
    store.process("web", "active", Incoming(text="bonjour"))
    with pytest.raises(ValueError):
        purge_conversations(db, -1)
    assert store.exists("web", "active")
    env = {**os.environ, "PYTHONPATH": str(REPO), "AIGUILLAGE_DATABASE_URL": str(db.url)}
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "purge", "--days", "-1"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=120,
    )
    assert done.returncode == 2 and "positif" in done.stderr
    assert store.exists("web", "active")

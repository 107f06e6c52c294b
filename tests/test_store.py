"""Conversation store: no lost update under concurrency, restart and crash safety, pseudonyms,
retention purge, erasure, the Redis lock — on a real SQLite file AND a real PostgreSQL database.

PostgreSQL: a database named `aiguillage_store_<pid>_<random>` is created for this module and
dropped at the end. Redis: the local server (127.0.0.1:6379). Without them the cases are skipped,
or fail when CI=true (`require`). The crash test runs the real server (`python -m bot.cli serve`)
in a subprocess and kills it with SIGKILL.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from sqlalchemy import Engine as DbEngine
from sqlalchemy import delete, select, text

from bot.channels.store import REDIS_LOCK_PREFIX, ConversationStore, StoreBusy
from bot.channels.store import main as store_main
from bot.channels.store_models import ConversationRow, utcnow
from bot.dialogue.api import Incoming
from knowledge.db import make_engine, upgrade

try:
    from tests.conftest import PG_ADMIN_URL, require
    from tests.live_server import LiveServer
    from tests.store_worker import CountingEngine
except ImportError:  # pragma: no cover - rootdir-relative imports
    from conftest import PG_ADMIN_URL, require  # type: ignore[no-redef]
    from live_server import LiveServer  # type: ignore[no-redef]
    from store_worker import CountingEngine  # type: ignore[no-redef]

REPO = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("AIGUILLAGE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
TABLE = ConversationRow.__table__
FIRST = "je cherche une crèche pour mon bébé de 10 mois, je suis au chômage"
AVIP_EMAIL = "avip@ville-hersin-coupigny.fr"
KINDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


# ------------------------------------------------------------------------------------- services
@pytest.fixture(scope="module")
def pg_url(pg_admin) -> Iterator[str | None]:  # type: ignore[no-untyped-def]
    """A PostgreSQL database for this module (created, then dropped), or None without a server."""
    if pg_admin is None:
        yield None
        return
    admin = pg_admin
    name = f"aiguillage_store_{os.getpid()}_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="module")
def redis_ok() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


@pytest.fixture
def redis_url(redis_ok: bool) -> str:
    require(redis_ok, f"Redis ({REDIS_URL})")
    return REDIS_URL


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> str:
    """A pepper per test: pseudonyms (and so Redis lock keys) never collide between tests or runs."""
    key = f"store-test-{uuid.uuid4().hex}"
    monkeypatch.setenv("AIGUILLAGE_SECRET_KEY", key)
    monkeypatch.delenv("AIGUILLAGE_REDIS_URL", raising=False)
    monkeypatch.delenv("AIGUILLAGE_RETENTION_DAYS", raising=False)
    return key


@pytest.fixture
def db_url(request: pytest.FixtureRequest, tmp_path: Path, pg_url: str | None) -> str:
    kind = request.param
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'conversations.sqlite3'}"
    require(pg_url is not None, f"PostgreSQL ({PG_ADMIN_URL.split('@')[-1]})")
    assert pg_url is not None
    return pg_url


@pytest.fixture
def new_db(db_url: str) -> Iterator[Callable[[], DbEngine]]:
    """Factory: a new SQLAlchemy engine (its own pool) on the test database, schema up to date."""
    engines: list[DbEngine] = []

    def make() -> DbEngine:
        engine = make_engine(db_url)
        upgrade(engine)
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.dispose()


def _row(db: DbEngine, store: ConversationStore, channel: str, external_id: str) -> dict[str, Any] | None:
    with db.connect() as conn:
        row = conn.execute(select(TABLE).where(TABLE.c.id == store.pseudonym(channel, external_id))).first()
    return None if row is None else row._asdict()


def _text(replies: list[Any]) -> str:
    return "\n".join(r.text for r in replies)


def _hammer(targets: list[tuple[ConversationStore, str]], conversation: str, threads: int, each: int) -> None:
    """`threads` threads, each sending `each` messages to one conversation through its store."""

    def worker(index: int) -> None:
        store, channel = targets[index % len(targets)]
        for i in range(each):
            store.process(channel, conversation, Incoming(text=f"bonjour {index}-{i}", channel=channel))

    with ThreadPoolExecutor(threads) as pool:
        for future in [pool.submit(worker, i) for i in range(threads)]:
            future.result()


# ------------------------------------------------------------------------------------- concurrency
@pytest.mark.parametrize("db_url", KINDS, indirect=True)
@pytest.mark.parametrize("with_redis", [False, pytest.param(True, marks=pytest.mark.redis)])
def test_threads_on_one_conversation_lose_no_update(
    new_db: Callable[[], DbEngine], engine: Any, request: pytest.FixtureRequest, with_redis: bool
) -> None:
    url = request.getfixturevalue("redis_url") if with_redis else ""
    counting = CountingEngine(engine, delay=0.005)  # the real engine, plus a race window
    store = ConversationStore(new_db(), counting, redis_url=url)
    conversation = f"user-{uuid.uuid4().hex[:8]}"
    _hammer([(store, "web")], conversation, threads=6, each=5)
    stored = store.load("web", conversation)
    assert stored is not None
    assert stored.message_count == 30
    assert stored.state["n"] == 30, "every turn saw the state the previous one saved"
    assert stored.version == 30
    assert counting.max_inside == 1, "one turn at a time"
    assert stored.state["turns"] == 30, "the real engine's own counter agrees"


@pytest.mark.parametrize("db_url", KINDS, indirect=True)
def test_two_instances_are_serialized_by_the_database(new_db: Callable[[], DbEngine], db_url: str) -> None:
    """Two stores (two workers: separate pools and in-process locks), no Redis: the database decides.

    PostgreSQL locks the row for the turn: never two turns at once. SQLite runs the turn before
    taking its file-wide write lock: two workers may compute a turn of one conversation at once,
    but the version check replays the loser, so no update is lost either."""
    counting = CountingEngine(delay=0.01)
    one = ConversationStore(new_db(), counting, redis_url="")
    two = ConversationStore(new_db(), counting, redis_url="")
    conversation = f"user-{uuid.uuid4().hex[:8]}"
    _hammer([(one, "rest"), (two, "rest")], conversation, threads=4, each=5)  # first message races too
    stored = one.load("rest", conversation)
    assert stored is not None and stored.message_count == 20 and stored.state["n"] == 20
    assert counting.max_inside == (1 if db_url.startswith("postgresql") else counting.max_inside)
    assert counting.max_inside <= 2, "at most one turn per instance at once (in-process lock)"


@pytest.mark.parametrize("db_url", KINDS, indirect=True)
def test_a_turn_does_not_hold_up_other_conversations(new_db: Callable[[], DbEngine]) -> None:
    """While one conversation's turn is inside the engine, another conversation's turn completes:
    on SQLite the file-wide write lock is taken for the write only (it was held for the whole
    turn, which queued every conversation of the process behind the slowest one)."""
    counting = CountingEngine(delay=0)
    store = ConversationStore(new_db(), counting, redis_url="")
    store.process("web", "slow", Incoming(text="premier"))
    store.process("web", "quick", Incoming(text="premier"))
    held = threading.Event()
    counting.gate, counting.entered = held, threading.Event()
    thread = threading.Thread(target=store.process, args=("web", "slow", Incoming(text="deux")))
    thread.start()
    try:
        assert counting.entered.wait(10)
        counting.gate = None  # the next turns pass; the slow one still waits inside the engine
        done = threading.Event()
        threading.Thread(target=lambda: (store.process("web", "quick", Incoming(text="deux")), done.set())).start()
        assert done.wait(5), "the other conversation waited for the slow turn"
    finally:
        held.set()
        thread.join(10)
    for conversation in ("slow", "quick"):
        stored = store.load("web", conversation)
        assert stored is not None and stored.message_count == 2


@pytest.mark.redis
@pytest.mark.parametrize("db_url", KINDS, indirect=True)
def test_redis_lock_serializes_two_instances(new_db: Callable[[], DbEngine], redis_url: str) -> None:
    holder_engine, waiter_engine = CountingEngine(delay=0), CountingEngine(delay=0)
    holder = ConversationStore(new_db(), holder_engine, redis_url=redis_url)
    waiter = ConversationStore(new_db(), waiter_engine, redis_url=redis_url, wait_timeout=0.5)
    conversation = f"user-{uuid.uuid4().hex[:8]}"
    holder.process("web", conversation, Incoming(text="premier"))

    holder_engine.gate = threading.Event()  # the holder's next turn stops inside the engine
    holder_engine.entered.clear()
    thread = threading.Thread(target=holder.process, args=("web", conversation, Incoming(text="deux")))
    thread.start()
    assert holder_engine.entered.wait(10)
    lock_key = REDIS_LOCK_PREFIX + holder.pseudonym("web", conversation)
    assert redis.Redis.from_url(redis_url).exists(lock_key), "the turn holds the Redis lock"
    started = time.monotonic()
    with pytest.raises(StoreBusy):  # the other instance waits on the Redis lock, then gives up
        waiter.process("web", conversation, Incoming(text="trois"))
    waited = time.monotonic() - started
    assert 0.4 <= waited < 3, (
        f"refused by the Redis lock after its 0.5 s wait, not the database ({waited:.2f} s)"
    )
    assert waiter_engine.intervals == [], "the waiting instance never ran a turn"

    holder_engine.gate.set()
    thread.join(10)
    waiter.process("web", conversation, Incoming(text="trois"))
    stored = holder.load("web", conversation)
    assert stored is not None and stored.message_count == 3 and stored.state["n"] == 3
    assert not redis.Redis.from_url(redis_url).exists(lock_key), "released after the turn"


@pytest.mark.redis
@pytest.mark.parametrize("db_url", KINDS, indirect=True)
def test_a_lock_held_by_another_process_makes_the_turn_wait(
    new_db: Callable[[], DbEngine], redis_url: str
) -> None:
    store = ConversationStore(new_db(), CountingEngine(delay=0), redis_url=redis_url)
    conversation = f"user-{uuid.uuid4().hex[:8]}"
    other = redis.Redis.from_url(redis_url).lock(
        REDIS_LOCK_PREFIX + store.pseudonym("web", conversation), timeout=10, thread_local=False
    )
    assert other.acquire(blocking=False)
    threading.Timer(0.6, other.release).start()
    started = time.monotonic()
    store.process("web", conversation, Incoming(text="bonjour"))
    assert time.monotonic() - started >= 0.5, "the turn waited for the other holder"
    stored = store.load("web", conversation)
    assert stored is not None and stored.message_count == 1


@pytest.mark.redis
@pytest.mark.parametrize("db_url", KINDS, indirect=True)
def test_two_processes_sharing_redis_lose_no_update(
    new_db: Callable[[], DbEngine], db_url: str, redis_url: str, tmp_path: Path
) -> None:
    store = ConversationStore(new_db(), CountingEngine(), redis_url=redis_url)
    conversation = f"user-{uuid.uuid4().hex[:8]}"
    store.start("web", conversation)
    out = tmp_path / "intervals.jsonl"
    worker = str(REPO / "tests" / "store_worker.py")
    processes = [
        subprocess.Popen([sys.executable, worker, db_url, redis_url, "web", conversation, "15", str(out)])
        for _ in range(2)
    ]
    assert [p.wait(timeout=120) for p in processes] == [0, 0]
    stored = store.load("web", conversation)
    assert stored is not None and stored.message_count == 30 and stored.state["n"] == 30
    intervals = sorted(tuple(json.loads(line)) for line in out.read_text().splitlines())
    assert len(intervals) == 30
    overlaps = [(a, b) for a, b in zip(intervals, intervals[1:], strict=False) if b[0] < a[1]]
    assert overlaps == [], "turns of the two processes never overlapped"


# ------------------------------------------------------------------------------------- persistence
@pytest.mark.parametrize("db_url", KINDS, indirect=True)
def test_a_new_store_instance_continues_the_conversation(new_db: Callable[[], DbEngine], engine: Any) -> None:
    conversation = f"user-{uuid.uuid4().hex[:8]}"
    first = ConversationStore(new_db(), engine, redis_url="")
    replies = first.process("web", conversation, Incoming(text=FIRST, channel="web"))
    assert replies[-1].custom.get("request_location"), "asks for the commune"
    first.db.dispose()  # "restart": nothing kept in memory

    second = ConversationStore(new_db(), engine, redis_url="")
    replies = second.process("web", conversation, Incoming(text="Hersin-Coupigny", channel="web"))
    text = _text(replies)
    assert "AVIP" in text and AVIP_EMAIL in text, "the child's age and the need came from the stored state"
    stored = second.load("web", conversation)
    assert stored is not None and stored.message_count == 2
    assert second.summary("web", conversation)["commune"]["nom"] == "Hersin-Coupigny"  # type: ignore[index]


@pytest.mark.parametrize("db_url", KINDS, indirect=True)
def test_pseudonymous_ids_and_state_only(new_db: Callable[[], DbEngine], engine: Any, _env: str) -> None:
    db = new_db()
    store = ConversationStore(db, engine, redis_url="")
    telegram_id = "987654321"
    store.process(
        "telegram",
        telegram_id,
        Incoming(text="Bonjour, Zoé Martinvalle, 06 12 34 56 78, zoe@example.org, je cherche une crèche"),
    )
    row = _row(db, store, "telegram", telegram_id)
    assert row is not None
    expected = hmac.new(_env.encode(), b"telegram:987654321", hashlib.sha256).hexdigest()
    assert row["id"] == expected and row["channel"] == "telegram"
    dumped = json.dumps(row, default=str, ensure_ascii=False)
    for private in (telegram_id, "Zoé", "Martinvalle", "06 12 34 56 78", "zoe@example.org", "je cherche"):
        assert private not in dumped
    assert set(row) == {"id", "channel", "state", "created_at", "updated_at", "message_count", "version"}
    # another pepper, another id: nobody without the secret can link a row to a person
    os.environ["AIGUILLAGE_SECRET_KEY"] = "another pepper"
    assert store.pseudonym("telegram", telegram_id) != expected
    assert store.load("telegram", telegram_id) is None


# ------------------------------------------------------------------------------------- retention, erasure
@pytest.mark.parametrize("db_url", KINDS, indirect=True)
def test_purge_removes_only_old_rows(
    new_db: Callable[[], DbEngine],
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db = new_db()
    with db.begin() as conn:
        conn.execute(delete(TABLE))
    now = utcnow()
    ages = {"d45": 45, "d31": 31, "d29": 29, "d8": 8, "d2": 2, "today": 0}
    for name, days in ages.items():
        when = now - dt.timedelta(days=days)
        ConversationStore(db, CountingEngine(delay=0), redis_url="", clock=lambda when=when: when).process(
            "web", name, Incoming(text="bonjour")
        )
    store = ConversationStore(db, CountingEngine(delay=0), redis_url="")

    def left() -> set[str]:
        return {name for name in ages if store.exists("web", name)}

    assert store.purge() == 2  # default: 30 days
    assert left() == {"d29", "d8", "d2", "today"}
    assert store.purge(10) == 1
    assert left() == {"d8", "d2", "today"}
    monkeypatch.setenv("AIGUILLAGE_RETENTION_DAYS", "5")
    assert store.purge() == 1
    assert left() == {"d2", "today"}
    # the command line used by the cron job (python -m bot.channels.store purge)
    assert store_main(["purge", "--days", "1", "--db-url", db_url]) == 0
    assert "1 conversation(s)" in capsys.readouterr().out
    assert left() == {"today"}
    # the age counts from the last message: an old conversation that goes on is kept
    old = now - dt.timedelta(days=40)
    ConversationStore(db, CountingEngine(delay=0), redis_url="", clock=lambda: old).process(
        "web", "revived", Incoming(text="bonjour")
    )
    store.process("web", "revived", Incoming(text="encore"))
    assert store.purge() == 0
    assert left() | ({"revived"} if store.exists("web", "revived") else set()) == {"today", "revived"}
    stored = store.load("web", "revived")
    assert stored is not None and stored.created_at < stored.updated_at - dt.timedelta(days=39)


def test_aiguillage_purge_command(engine: Any, session_data_dir: Path, tmp_path: Path) -> None:
    """`aiguillage purge` (the documented cron command), on the default SQLite database."""
    url = f"sqlite:///{tmp_path / 'cron.sqlite3'}"
    db = make_engine(url)
    upgrade(db)
    old = utcnow() - dt.timedelta(days=40)
    ConversationStore(db, CountingEngine(delay=0), redis_url="", clock=lambda: old).process(
        "web", "ancienne", Incoming(text="bonjour")
    )
    ConversationStore(db, CountingEngine(delay=0), redis_url="").process(
        "web", "recente", Incoming(text="bonjour")
    )
    env = {**os.environ, "AIGUILLAGE_DATA_DIR": str(session_data_dir), "AIGUILLAGE_DATABASE_URL": url}
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "purge"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    assert "1 conversation(s) effacée(s)" in done.stdout
    store = ConversationStore(db, CountingEngine(delay=0), redis_url="")
    assert not store.exists("web", "ancienne") and store.exists("web", "recente")


@pytest.mark.parametrize("db_url", KINDS, indirect=True)
@pytest.mark.parametrize("words", ["effacer mes données", "/oubli"])
def test_erase(new_db: Callable[[], DbEngine], engine: Any, words: str) -> None:
    db = new_db()
    store = ConversationStore(db, engine, redis_url="")
    mine, other = f"me-{uuid.uuid4().hex[:6]}", f"other-{uuid.uuid4().hex[:6]}"
    for conversation in (mine, other):
        store.process("web", conversation, Incoming(text=FIRST))
    result = store.turn("web", mine, Incoming(text=words))
    assert result.erased and "effacé" in _text(result.replies)
    assert not store.exists("web", mine) and _row(db, store, "web", mine) is None
    assert store.exists("web", other)
    # the API and the command line erase directly
    assert store.erase("web", other) is True
    assert store.erase("web", other) is False
    assert not store.exists("web", other)


# ------------------------------------------------------------------------------------- crash
@pytest.mark.slow
def test_state_survives_a_server_crash(engine: Any, session_data_dir: Path, tmp_path: Path) -> None:
    """A real server takes a message, is killed with SIGKILL, restarts on the same database: the
    conversation goes on from its stored state."""
    database = f"sqlite:///{tmp_path / 'crash.sqlite3'}"
    server = LiveServer(session_data_dir, database, log_name=f"crash-{uuid.uuid4().hex[:6]}.log").start()
    try:
        created = httpx.post(server.url + "/api/v1/conversations", json={"text": FIRST}, timeout=30)
        assert created.status_code == 201
        cid = created.json()["conversation_id"]
        assert created.json()["replies"][-1]["custom"]["request_location"] is True
    finally:
        server.kill()
    assert server.process is not None and server.process.returncode == -9

    restarted = LiveServer(session_data_dir, database, port=server.port, log_name=server.log_path.name)
    with restarted.start():
        answer = httpx.post(
            f"{restarted.url}/api/v1/conversations/{cid}/messages",
            json={"text": "Hersin-Coupigny"},
            timeout=30,
        )
        assert answer.status_code == 200
        text = "\n".join(r["text"] for r in answer.json()["replies"])
        assert "AVIP" in text and AVIP_EMAIL in text
        summary = httpx.get(f"{restarted.url}/api/v1/conversations/{cid}/summary", timeout=30).json()
        assert summary["message_count"] == 2 and summary["summary"]["commune"]["nom"] == "Hersin-Coupigny"
    log = restarted.log()
    assert log.count("Application startup complete") == 2
    assert "status=200" in log and "crèche" not in log and cid not in log, "no message text or id in logs"

"""Conversation store: load the state, run one engine turn, save it — one turn at a time per conversation.

Every channel calls `ConversationStore.process(channel, external_id, incoming)`. Two messages of
the same conversation arriving together are serialized by three locks, outermost first:

1. an in-process lock per conversation (threads of one worker);
2. a Redis lock (redis-py `Lock`) when $AIGUILLAGE_REDIS_URL is set (several workers or hosts);
3. the database: on PostgreSQL `SELECT ... FOR UPDATE` locks the row for the turn (a new
   conversation's row is inserted first, `ON CONFLICT DO NOTHING`, then locked). On SQLite, whose
   one write lock covers the whole file, the turn runs first and only its write takes the lock
   (`BEGIN IMMEDIATE`); the write checks the row `version`, and a row changed meanwhile replays
   the turn, under the write lock this time.

The version check alone is enough for correctness; the locks keep waiting cheap. Each turn is
committed before the replies are returned, so a crash loses at most the turn in progress.
Only the engine state is stored (see `ConversationRow`), never the text of a message.

Command line (retention cron): `python -m bot.channels.store purge [--days N]`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

import redis
from redis.exceptions import LockError, RedisError
from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy import Engine as DbEngine
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, OperationalError

from bot.channels.button_guard import guard_incoming, remember_buttons
from bot.channels.redis_breaker import REDIS_TIMEOUT, CircuitBreaker, breaker_for
from bot.channels.state_check import state_problem
from bot.channels.stats import record_turn
from bot.channels.store_models import ConversationRow, pseudonymize, utcnow
from bot.dialogue.api import Button, Engine, Incoming, Reply, Turn

log = logging.getLogger("aiguillage.store")

TABLE = ConversationRow.__table__
DEFAULT_RETENTION_DAYS = 30
REDIS_LOCK_PREFIX = "aiguillage:lock:conversation:"
MAX_ATTEMPTS = 5
#: a conversation created without a message and never used is deleted after this many hours
EMPTY_CONVERSATION_HOURS = 1
RESET_NOTICE = (
    "Désolé, je n'ai pas pu reprendre notre conversation : je repars de zéro "
    "(rien de ce que vous m'aviez dit n'est gardé)."
)


#: state key of the last turn's Idempotency-Key digest and replies (only when the client sent one)
RETRY = "retry"


def _replies_from_json(items: Any) -> list[Reply]:
    replies = []
    for item in items if isinstance(items, list) else []:
        buttons = [Button(b["title"], b["payload"]) for b in item.get("buttons", [])]
        replies.append(Reply(item["text"], buttons, item.get("custom") or {}))
    return replies


class ConversationNotFound(LookupError):
    """No stored conversation for this channel and id (never created, erased or purged)."""


class ConversationExists(Exception):
    """`start` was asked to create a conversation that already exists."""


class StoreBusy(RuntimeError):
    """The conversation stayed locked longer than the wait timeout (try again later)."""


@dataclass(frozen=True)
class StoredConversation:
    id: str
    channel: str
    state: dict[str, Any]
    created_at: dt.datetime
    updated_at: dt.datetime
    message_count: int
    version: int


@dataclass(frozen=True)
class TurnResult:
    """What one turn produced: the replies to send, whether the conversation was erased, the counter."""

    replies: list[Reply]
    erased: bool = False
    message_count: int = 0


class _Conflict(Exception):
    """The row changed under us (version mismatch or concurrent insert): replay the turn."""


@dataclass(frozen=True)
class _Outcome:
    """A turn computed on a row's state: what to return, and what to write (nothing: `state` None)."""

    result: TurnResult
    state: dict[str, Any] | None = None
    erase: bool = False
    counted: bool = False  # a message was handled: the anonymous statistics count it


_SQLITE_WRITERS: dict[str, threading.Lock] = {}
_SQLITE_WRITERS_GUARD = threading.Lock()


def _sqlite_writer(db_engine: DbEngine) -> threading.Lock:
    """One lock per SQLite file in this process, shared by every store on that file."""
    database = db_engine.url.database or ":memory:"
    key = database if database == ":memory:" else os.path.realpath(database)
    with _SQLITE_WRITERS_GUARD:
        return _SQLITE_WRITERS.setdefault(key, threading.Lock())


def retention_days() -> int:
    """$AIGUILLAGE_RETENTION_DAYS (days a conversation is kept after its last message), default 30."""
    raw = os.environ.get("AIGUILLAGE_RETENTION_DAYS", "").strip()
    if not raw:
        return DEFAULT_RETENTION_DAYS
    days = int(raw)
    if days < 0:
        raise ValueError("AIGUILLAGE_RETENTION_DAYS must be >= 0")
    return days


def purge_conversations(
    db_engine: DbEngine, older_than_days: int | None = None, now: dt.datetime | None = None
) -> int:
    """Delete conversations whose last message is older than the retention period, and those created
    empty and unused for `EMPTY_CONVERSATION_HOURS`; return how many."""
    days = retention_days() if older_than_days is None else older_than_days
    if days < 0:
        raise ValueError("the retention period must be >= 0 days")
    now = now or utcnow()
    cutoff = now - dt.timedelta(days=days)
    unused = now - dt.timedelta(hours=EMPTY_CONVERSATION_HOURS)
    with db_engine.begin() as conn:
        result = conn.execute(
            delete(TABLE).where(
                (TABLE.c.updated_at < cutoff) | ((TABLE.c.message_count == 0) & (TABLE.c.updated_at < unused))
            )
        )
    removed = int(result.rowcount or 0)
    if removed:
        checkpoint_erased(db_engine)
    return removed


def checkpoint_erased(db_engine: DbEngine) -> bool:
    """SQLite: copy the write-ahead log into the database and truncate it, so that the earlier
    versions of erased rows are no longer on disk (with `secure_delete=ON`, see knowledge.db).
    PostgreSQL: nothing to do here (docs/privacy.md). False if a busy reader kept old pages."""
    if db_engine.dialect.name != "sqlite":
        return True
    try:
        with db_engine.connect() as conn:
            busy = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").first()
            conn.commit()
    except OperationalError as error:
        log.warning("erasure checkpoint failed (%s)", type(error).__name__)
        return False
    if busy and busy[0]:
        log.warning("erasure checkpoint incomplete (a reader is busy); the WAL keeps old pages for now")
        return False
    return True


class ConversationStore:
    """Persistent conversations for every channel (see the module docstring for the locking)."""

    def __init__(
        self,
        db_engine: DbEngine,
        engine: Engine,
        redis_url: str | None = None,
        *,
        lock_timeout: float = 8.0,
        wait_timeout: float = 10.0,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        """`redis_url=None` reads $AIGUILLAGE_REDIS_URL; `""` disables Redis explicitly.

        `lock_timeout`: a Redis lock expires after this many seconds (a crashed worker cannot
        block a conversation for ever); `wait_timeout`: how long a message waits for its turn.
        The lock expires before the wait ends (`lock_timeout` is capped at 80 % of the wait), so
        a message behind a worker killed mid-turn is served, not refused with 503; a turn that
        outlives its Redis lock is still serialized by the database lock.
        """
        self.db = db_engine
        self.engine = engine
        url = os.environ.get("AIGUILLAGE_REDIS_URL", "") if redis_url is None else redis_url
        # short timeouts and a circuit breaker: a Redis that never answers costs one timeout,
        # then the database lock alone serializes turns until Redis answers again
        self.redis: redis.Redis | None = (
            redis.Redis.from_url(url, socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=REDIS_TIMEOUT)
            if url
            else None
        )
        self.breaker: CircuitBreaker | None = breaker_for(url) if url else None
        self.lock_timeout = min(lock_timeout, 0.8 * wait_timeout)
        self.wait_timeout = wait_timeout
        self.clock = clock
        self._sqlite = db_engine.dialect.name == "sqlite"
        self._sqlite_writer = _sqlite_writer(db_engine) if self._sqlite else None
        self._locks: dict[str, list[Any]] = {}  # key -> [threading.Lock, users]
        self._locks_guard = threading.Lock()

    # ----------------------------------------------------------------- public API
    @staticmethod
    def pseudonym(channel: str, external_id: str) -> str:
        return pseudonymize(channel, external_id)

    def process(
        self, channel: str, external_id: str, incoming: Incoming, *, create: bool = True
    ) -> list[Reply]:
        """Run one turn and save the new state; `create=False` raises `ConversationNotFound`."""
        return self.turn(channel, external_id, incoming, create=create).replies

    def start(self, channel: str, external_id: str, incoming: Incoming | None = None) -> list[Reply]:
        """Create a conversation (fresh `engine.new_state()`), optionally with its first message."""
        return self.turn(channel, external_id, incoming, new=True).replies

    def turn(
        self,
        channel: str,
        external_id: str,
        incoming: Incoming | None,
        *,
        create: bool = True,
        new: bool = False,
        retry_key: str | None = None,
    ) -> TurnResult:
        """`process` / `start` with the details: erased (the person asked to), message count.

        `new=True` creates the conversation (`ConversationExists` if it is there already);
        `create=False` raises `ConversationNotFound` for an unknown one. `retry_key` (a digest of
        the client's Idempotency-Key): the same key as the previous turn's returns that turn's
        replies again instead of running a second turn.
        """
        key = self.pseudonym(channel, external_id)
        with self._locked(key):
            result = self._turn(key, channel, incoming, create=create or new, new=new, retry_key=retry_key)
        if result.erased:
            self.scrub()
        return result

    def load(self, channel: str, external_id: str) -> StoredConversation | None:
        key = self.pseudonym(channel, external_id)
        with self.db.connect() as conn:
            row = conn.execute(select(TABLE).where(TABLE.c.id == key)).first()
        return None if row is None else StoredConversation(**row._asdict())

    def exists(self, channel: str, external_id: str) -> bool:
        return self.load(channel, external_id) is not None

    def summary(self, channel: str, external_id: str) -> dict[str, Any] | None:
        stored = self.load(channel, external_id)
        return None if stored is None else self.engine.summary(stored.state)

    def erase(self, channel: str, external_id: str) -> bool:
        """Delete the conversation now; True if there was one."""
        key = self.pseudonym(channel, external_id)
        with self._locked(key), self._transaction() as conn:
            result = conn.execute(delete(TABLE).where(TABLE.c.id == key))
        if result.rowcount:
            self.scrub()
        return bool(result.rowcount)

    def scrub(self) -> bool:
        """Make deleted rows unreadable on disk, as far as the database allows (docs/privacy.md).

        SQLite: the connections run with `secure_delete=ON` (freed content is zeroed), and the
        write-ahead log, which still holds the earlier versions of the pages, is checkpointed
        into the database and truncated. PostgreSQL: nothing here — the row is invisible at once;
        its bytes stay in the heap page until VACUUM reuses it (autovacuum) and in the WAL until
        it is recycled. Returns False if the checkpoint could not complete (a reader was busy).
        """
        if not self._sqlite:
            return True
        with self._sqlite_writer or nullcontext():
            return checkpoint_erased(self.db)

    def purge(self, older_than_days: int | None = None) -> int:
        """Retention: delete conversations idle for more than `older_than_days` (default $AIGUILLAGE_RETENTION_DAYS or 30)."""
        return purge_conversations(self.db, older_than_days, now=self.clock())

    # ----------------------------------------------------------------- one turn
    def _turn(
        self,
        key: str,
        channel: str,
        incoming: Incoming | None,
        *,
        create: bool,
        new: bool,
        retry_key: str | None = None,
    ) -> TurnResult:
        for attempt in range(MAX_ATTEMPTS):
            try:
                if self._sqlite and attempt == 0:  # then, after a conflict, under the write lock
                    return self._turn_then_write(key, channel, incoming, create=create, new=new, retry_key=retry_key)
                with self._transaction() as conn:
                    locked = select(TABLE).where(TABLE.c.id == key).with_for_update()
                    row = self._row(conn, locked, key, channel, create=create, new=new)
                    return self._write(conn, key, channel, row, self._compute(key, row, incoming, retry_key))
            except _Conflict:
                log.warning("conversation %s changed concurrently; replaying the turn", key[:12])
            except OperationalError as error:
                if "locked" in str(error).lower():  # SQLite busy timeout
                    raise StoreBusy(key[:12]) from error
                raise
        raise StoreBusy(key[:12])

    def _turn_then_write(
        self, key: str, channel: str, incoming: Incoming | None, *, create: bool, new: bool, retry_key: str | None
    ) -> TurnResult:
        """SQLite: the engine turn runs outside the write transaction — SQLite has one writer for the
        whole file, and holding it during a turn (a few ms of Python) queued every conversation of
        the process behind it (p95 1.3 s at 30 turns/s). The write checks the row's version; a
        row changed meanwhile (another process, without Redis) replays the turn, that time under
        the write lock (so that two processes hammering one conversation cannot starve each other).
        Threads of one process never overlap on a conversation: the in-process lock comes first."""
        query = select(TABLE).where(TABLE.c.id == key)
        with self.db.connect() as conn:
            row = conn.execute(query).first()
        if row is None or new:
            with self._transaction() as conn:
                row = self._row(conn, query, key, channel, create=create, new=new)
        outcome = self._compute(key, row, incoming, retry_key)
        with self._transaction() as conn:
            return self._write(conn, key, channel, row, outcome)

    def _row(self, conn: Connection, query: Any, key: str, channel: str, *, create: bool, new: bool) -> Any:
        """The conversation's row, inserted first if absent and allowed (`ConversationNotFound`,
        `ConversationExists` otherwise); on PostgreSQL `query` locks it (FOR UPDATE)."""
        row = conn.execute(query).first()
        if row is None:
            if not create:
                raise ConversationNotFound(key[:12])
            # create the row first, then lock it: two first messages of one conversation (two
            # workers, no Redis) wait for each other instead of both running a turn
            inserted = self._insert_absent(conn, key, channel)
            row = conn.execute(query).first()
            if row is None:  # erased between the insert and the select: start again
                raise _Conflict
            if new and not inserted:
                raise ConversationExists(key[:12])
        elif new:
            raise ConversationExists(key[:12])
        return row

    def _compute(self, key: str, row: Any, incoming: Incoming | None, retry_key: str | None) -> _Outcome:
        """The turn on the row's state, without touching the database."""
        state: dict[str, Any] = row.state
        count = row.message_count
        previous = state.get(RETRY) if isinstance(state, dict) and retry_key else None
        if isinstance(previous, dict) and previous.get("key") == retry_key:
            return _Outcome(TurnResult(_replies_from_json(previous.get("replies")), message_count=count))
        if incoming is None:
            return _Outcome(TurnResult([], message_count=count), state=state)
        turn = self._handle(key, state, guard_incoming(state, incoming))
        if turn.erase:
            return _Outcome(TurnResult(list(turn.replies), erased=True), erase=True)
        state = remember_buttons(turn.state, list(turn.replies))
        replies = list(turn.replies)
        state.pop(RETRY, None)
        if retry_key:
            state[RETRY] = {"key": retry_key, "replies": [r.to_json() for r in replies]}
        return _Outcome(TurnResult(replies, message_count=count + 1), state=state, counted=True)

    def _write(self, conn: Connection, key: str, channel: str, row: Any, outcome: _Outcome) -> TurnResult:
        """Save the outcome if the row is still the version the turn read (`_Conflict` otherwise)."""
        if outcome.erase:
            conn.execute(delete(TABLE).where(TABLE.c.id == key))
            return outcome.result
        if outcome.state is None:  # a retried turn: its replies again, nothing to save
            return outcome.result
        result = conn.execute(
            update(TABLE)
            .where(TABLE.c.id == key, TABLE.c.version == row.version)
            .values(state=outcome.state, updated_at=self.clock(), message_count=outcome.result.message_count,
                    version=row.version + 1)
        )  # fmt: skip
        if result.rowcount != 1:
            raise _Conflict
        if outcome.counted:  # anonymous counts, same transaction
            record_turn(conn, channel, outcome.state, outcome.result.replies, self.clock())
        return outcome.result

    def _handle(self, key: str, state: Any, incoming: Incoming) -> Turn:
        """One engine turn; a stored state the engine cannot use is reset (short notice), not a 500 for ever."""
        problem = state_problem(state)
        if problem is None:
            try:
                return self.engine.handle(state, incoming)
            except RecursionError:
                problem = "recursion"
            except (TypeError, ValueError, KeyError, AttributeError, IndexError) as error:
                problem = type(error).__name__
        log.warning("conversation %s: unusable stored state (%s); starting again", key[:12], problem)
        turn = self.engine.handle(self.engine.new_state(), incoming)
        if turn.erase:
            return turn
        return Turn(turn.state, [Reply(RESET_NOTICE), *turn.replies], turn.erase)

    def _insert_absent(self, conn: Connection, key: str, channel: str) -> bool:
        """Insert a fresh row (version 0) unless one exists; True if this call inserted it."""
        now = self.clock()
        values = {
            "id": key,
            "channel": channel,
            "state": self.engine.new_state(),
            "created_at": now,
            "updated_at": now,
            "message_count": 0,
            "version": 0,
        }
        dialect = conn.dialect.name
        if dialect in {"postgresql", "sqlite"}:
            module = postgresql if dialect == "postgresql" else sqlite
            # PostgreSQL: waits for a concurrent uncommitted insert of the same id, then skips
            statement = (
                module.insert(TABLE)
                .values(**values)
                .on_conflict_do_nothing(index_elements=["id"])
                .returning(TABLE.c.id)
            )
            return conn.execute(statement).first() is not None
        try:
            with conn.begin_nested():
                conn.execute(insert(TABLE).values(**values))
        except IntegrityError:  # created meanwhile by another process
            return False
        return True

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        # SQLite has one writer at a time: threads of this process queue on a lock instead of
        # polling SQLite's busy handler (which sleeps up to 100 ms between tries)
        with self._sqlite_writer or nullcontext(), self.db.connect() as conn:
            if self._sqlite:  # take SQLite's write lock now, not at the first write
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                conn.begin()
            try:
                yield conn
            except BaseException:
                conn.rollback()
                raise
            conn.commit()

    # ----------------------------------------------------------------- locks
    @contextmanager
    def _locked(self, key: str) -> Iterator[None]:
        with self._locks_guard:
            entry = self._locks.setdefault(key, [threading.Lock(), 0])
            entry[1] += 1
        lock: threading.Lock = entry[0]
        try:
            if not lock.acquire(timeout=self.wait_timeout):
                raise StoreBusy(key[:12])
            try:
                with self._redis_lock(key):
                    yield
            finally:
                lock.release()
        finally:
            with self._locks_guard:
                entry[1] -= 1
                if entry[1] == 0:
                    del self._locks[key]

    def redis_available(self) -> bool | None:
        """None without Redis; else whether it answers a PING now (short timeout)."""
        if self.redis is None:
            return None
        try:
            ok = bool(self.redis.ping())
        except (RedisError, OSError):
            ok = False
        if self.breaker is not None:
            (self.breaker.success if ok else self.breaker.failure)()
        return ok

    @contextmanager
    def _redis_lock(self, key: str) -> Iterator[None]:
        if self.redis is None or (self.breaker is not None and not self.breaker.allow()):
            yield
            return
        lock = self.redis.lock(
            REDIS_LOCK_PREFIX + key,
            timeout=self.lock_timeout,
            sleep=0.02,
            blocking_timeout=self.wait_timeout,
            thread_local=False,
        )
        acquired: bool | None
        try:
            acquired = lock.acquire()
        except (RedisError, OSError) as error:  # Redis down: the database lock still serializes the turn
            if self.breaker is not None:
                self.breaker.failure()
            log.warning("redis lock unavailable (%s); relying on the database lock", type(error).__name__)
            acquired = None
        else:
            if self.breaker is not None:
                self.breaker.success()
        if acquired is False:
            raise StoreBusy(key[:12])
        try:
            yield
        finally:
            if acquired:
                try:
                    lock.release()
                except (LockError, RedisError) as error:  # expired meanwhile: the DB lock still held
                    log.warning("redis lock release failed (%s)", type(error).__name__)


def non_negative_days(raw: str) -> int:
    """argparse type of --days: an integer >= 0 (a negative one would delete active conversations)."""
    try:
        days = int(raw)
    except ValueError as error:
        raise argparse.ArgumentTypeError("--days : un nombre entier de jours") from error
    if days < 0:
        raise argparse.ArgumentTypeError("--days doit être positif ou nul")
    return days


def main(argv: list[str] | None = None) -> int:
    from knowledge.db import make_engine, upgrade

    parser = argparse.ArgumentParser(
        prog="python -m bot.channels.store", description="Conversation store tools"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    purge = sub.add_parser("purge", help="delete conversations idle for longer than the retention period")
    purge.add_argument(
        "--days",
        type=non_negative_days,
        default=None,
        help="default: $AIGUILLAGE_RETENTION_DAYS or 30 (>= 0)",
    )
    purge.add_argument("--db-url", default=None, help="default: $AIGUILLAGE_DATABASE_URL or the SQLite file")
    args = parser.parse_args(argv)
    db_engine = make_engine(args.db_url)
    upgrade(db_engine)
    removed = purge_conversations(db_engine, args.days)
    print(f"{removed} conversation(s) supprimée(s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Database engine, sessions and migrations (SQLite by default, any SQLAlchemy URL otherwise)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


class Base(DeclarativeBase):
    pass


REPO_ROOT = Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    """Where local files live (SQLite file, trained model, secret key), created on demand:
    $AIGUILLAGE_DATA_DIR, else `var/` in the source checkout, else ~/.local/share/aiguillage."""
    env = os.environ.get("AIGUILLAGE_DATA_DIR")
    if env:
        path = Path(env)
    elif (REPO_ROOT / "pyproject.toml").exists():
        path = REPO_ROOT / "var"
    else:
        path = Path.home() / ".local" / "share" / "aiguillage"
    path.mkdir(parents=True, exist_ok=True)
    return path


def database_url() -> str:
    """$AIGUILLAGE_DATABASE_URL, else an SQLite file in the data folder."""
    return os.environ.get("AIGUILLAGE_DATABASE_URL") or f"sqlite:///{data_dir() / 'aiguillage.sqlite3'}"


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    # erased conversations: overwrite freed content with zeros (see docs/privacy.md)
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def make_engine(url: str | None = None) -> Engine:
    url = url or database_url()
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 10, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


MIGRATION_LOCK_ID = 0x41494755  # "AIGU": PostgreSQL advisory lock shared by all processes


def upgrade(engine: Engine) -> None:
    """Bring the schema to the latest Alembic revision.

    Several processes may start at once (workers behind a proxy): on PostgreSQL a
    transaction-level advisory lock makes them migrate one after the other; SQLite
    serialises writers itself (busy timeout)."""
    fingerprint = migrations_fingerprint()
    if _migrated_with(engine) == fingerprint:  # up to date: no need to import Alembic (~0.3 s)
        return
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_ID})")
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        connection.execute(text("DELETE FROM kb_meta WHERE key = :key"), {"key": MIGRATIONS_KEY})
        connection.execute(
            text("INSERT INTO kb_meta (key, value) VALUES (:key, :value)"),
            {"key": MIGRATIONS_KEY, "value": fingerprint},
        )


#: kb_meta row holding the fingerprint of the migration files the schema was last brought to
MIGRATIONS_KEY = "migrations_fingerprint"


def migrations_fingerprint() -> str:
    """A digest of the migration scripts' bytes: it changes when a migration is added or edited."""
    digest = hashlib.sha256()
    for path in sorted((MIGRATIONS_DIR / "versions").glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def _migrated_with(engine: Engine) -> str | None:
    """The migrations fingerprint recorded by the last upgrade, or None (new or older database)."""
    try:
        with engine.connect() as connection:
            value = connection.execute(
                text("SELECT value FROM kb_meta WHERE key = :key"), {"key": MIGRATIONS_KEY}
            ).scalar()
    except DBAPIError:  # no kb_meta table yet
        return None
    return str(value) if value is not None else None


@lru_cache(maxsize=8)
def _sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    session = _sessionmaker(engine)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()

"""Database engine, sessions and migrations (SQLite by default, any SQLAlchemy URL otherwise)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
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
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_ID})")
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


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

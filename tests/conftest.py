"""Shared fixtures: a knowledge base on a temporary SQLite file, the trained NLU, the engine.

Services the tests need (PostgreSQL, Redis, Chromium): when CI=true a missing one is a
failure, otherwise the test is skipped with the reason (`require`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
PG_ADMIN_URL = os.environ.get(
    "AIGUILLAGE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def require(available: bool, what: str) -> None:
    """Skip (locally) or fail (in CI) when an external component is missing."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{what} est requis en CI (CI=true) mais indisponible")
    pytest.skip(f"{what} indisponible")


@pytest.fixture(scope="session")
def pg_admin():  # type: ignore[no-untyped-def]
    """An AUTOCOMMIT engine on the PostgreSQL maintenance database, or None without a server."""
    from sqlalchemy import create_engine, text

    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any failure means "no server"
        engine.dispose()
        yield None
        return
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def session_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A private data dir for the whole run (SQLite file, NLU model), set before anything loads."""
    path = tmp_path_factory.mktemp("aiguillage-data")
    old = os.environ.get("AIGUILLAGE_DATA_DIR")
    os.environ["AIGUILLAGE_DATA_DIR"] = str(path)
    yield path
    if old is None:
        os.environ.pop("AIGUILLAGE_DATA_DIR", None)
    else:
        os.environ["AIGUILLAGE_DATA_DIR"] = old


@pytest.fixture(scope="session")
def kb(session_data_dir: Path):  # type: ignore[no-untyped-def]
    from knowledge.kb import KnowledgeBase

    return KnowledgeBase.load(f"sqlite:///{session_data_dir / 'kb.sqlite3'}")


@pytest.fixture(scope="session")
def interpreter(kb):  # type: ignore[no-untyped-def]
    from bot.nlu.interpreter import Interpreter

    return Interpreter.load(kb)


@pytest.fixture(scope="session")
def engine(kb, interpreter):  # type: ignore[no-untyped-def]
    from bot.dialogue.engine import DialogueEngine

    return DialogueEngine(kb, interpreter)

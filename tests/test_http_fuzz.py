"""Schema-driven fuzzing of the HTTP API (schemathesis, in process through ASGI): no 5xx.

Every operation of /openapi.json gets generated requests, valid and invalid (positive and
negative generation: wrong types, odd Unicode, huge and nested values), on the REAL engine and
a temporary SQLite store; the operations on one conversation get half of their cases on a
conversation that exists, so that generated bodies reach the engine. At least `TOTAL` requests
(issue 9: 10,000; AIGUILLAGE_FUZZ_TOTAL to change it). `/readyz` is left out: its 503 (no
lifespan in process, so "not ready") is its contract.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from starlette.testclient import TestClient

from bot.channels.http import HttpSettings, create_app
from knowledge.db import make_engine, upgrade

TOTAL = int(os.environ.get("AIGUILLAGE_FUZZ_TOTAL", "10000"))
OPERATIONS = 7  # operations with inputs (/healthz has none: one request), feedback and stats included
PER_OPERATION = -(-TOTAL // OPERATIONS)


@pytest.fixture(scope="module")
def app(engine: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    folder: Path = tmp_path_factory.mktemp("fuzz")
    db = make_engine(f"sqlite:///{folder / 'fuzz.sqlite3'}")
    upgrade(db)
    return create_app(
        engine,
        db_engine=db,
        settings=HttpSettings(rate_per_minute=10**9, rate_burst=10**9),
        run_migrations=False,
        purge_on_startup=False,
        telegram=False,
    )


def _new_conversation(app: Any) -> str:
    with TestClient(app) as client:
        return str(client.post("/api/v1/conversations", json={"text": "bonjour"}).json()["conversation_id"])


@pytest.mark.slow
def test_no_server_error_on_generated_requests(app: Any) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations() if result.ok().path != "/readyz"]
    assert len(operations) == OPERATIONS + 1  # + /healthz
    statuses: Counter[int] = Counter()
    failures: list[tuple[str, str, int]] = []
    for operation in operations:
        strategies = [operation.as_strategy(generation_mode=mode) for mode in GenerationMode]
        if "{conversation_id}" in operation.path:
            live = {"conversation_id": _new_conversation(app)}
            strategies.append(operation.as_strategy(path_parameters=live))
            strategies.append(operation.as_strategy(path_parameters=live))

        @settings(
            max_examples=PER_OPERATION,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.generate],
        )
        @given(case=st.one_of(*strategies))
        def run(case: Any) -> None:
            response = case.call()
            statuses[response.status_code] += 1
            if response.status_code >= 500:
                failures.append((case.method, case.formatted_path, response.status_code))

        run()
    print(f"schemathesis: {sum(statuses.values())} requests, statuses {dict(sorted(statuses.items()))}")
    assert not failures, failures[:10]
    assert sum(statuses.values()) >= TOTAL, dict(statuses)

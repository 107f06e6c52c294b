"""Telegram webhook hardening (issue 9, defect 11), against the local fake Bot API.

Repeated update_id, flood-control waits inside the webhook request, body size, updates per
chat, malformed updates, and the error handler's log.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from bot.channels.store import ConversationStore
from bot.channels.telegram import CHANNEL, SECRET_HEADER, webhook_router
from bot.channels.telegram_guard import MAX_UPDATE_BYTES, PER_10_SECONDS
from bot.dialogue.api import Incoming

try:
    from tests.fake_telegram import FakeTelegram, serve_app
    from tests.test_telegram import CHAT, SECRET, TOKEN, SpyEngine, _env, _store, fake, spy
except ImportError:  # pragma: no cover - rootdir-relative imports
    from fake_telegram import FakeTelegram, serve_app  # type: ignore[no-redef]
    from test_telegram import CHAT, SECRET, TOKEN, SpyEngine, _env, _store, fake, spy  # type: ignore[no-redef]

__all__ = ["_env", "fake", "spy"]  # fixtures used here
URL = "/telegram/webhook"


@pytest.fixture
def webhook(fake: FakeTelegram, tmp_path: Path, spy: SpyEngine) -> Iterator[httpx.Client]:
    store: ConversationStore = _store(tmp_path, spy)
    app = FastAPI()
    app.include_router(webhook_router(store, token=TOKEN, secret=SECRET, base_url=fake.base_url))
    with (
        serve_app(app) as server,
        httpx.Client(base_url=server.url, timeout=30, headers={SECRET_HEADER: SECRET}) as client,
    ):
        yield client


def _update(fake: FakeTelegram, update_id: int, text: str, chat: int = CHAT) -> dict[str, Any]:
    return {"update_id": update_id, "message": fake.make_message(chat, text=text)}


def test_the_same_update_is_processed_once(fake: FakeTelegram, webhook: httpx.Client, spy: SpyEngine) -> None:
    update = _update(fake, 501, "bonjour")
    assert [webhook.post(URL, json=update).status_code for _ in range(3)] == [200, 200, 200]
    assert spy.incomings == [Incoming(text="bonjour", channel=CHANNEL)]
    assert len(fake.sent_messages(CHAT)) == 1


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
def test_flood_control_does_not_hold_the_webhook_request(fake: FakeTelegram, webhook: httpx.Client) -> None:
    fake.fail_next("sendMessage", 429, "Too Many Requests: retry after 3", retry_after=3)
    started = time.monotonic()
    assert webhook.post(URL, json=_update(fake, 601, "bonjour")).status_code == 200
    assert time.monotonic() - started < 2.5, "the webhook answered without sleeping the flood wait"
    messages = fake.wait_for_messages(CHAT, 2, timeout=15)  # the refused attempt, then the late one
    assert [m["text"] for m in messages] == ["Reçu : bonjour"] * 2


def test_oversized_bodies_are_refused(webhook: httpx.Client, spy: SpyEngine) -> None:
    body = json.dumps({"update_id": 7, "padding": "x" * (MAX_UPDATE_BYTES + 10)}).encode()
    response = webhook.post(URL, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert spy.incomings == []


def test_updates_per_chat_are_limited(fake: FakeTelegram, webhook: httpx.Client, spy: SpyEngine) -> None:
    statuses = [
        webhook.post(URL, json=_update(fake, 700 + i, f"m{i}")).status_code for i in range(PER_10_SECONDS + 8)
    ]
    assert set(statuses) == {200}  # acknowledged, so that Telegram does not re-send them
    assert len(spy.incomings) == PER_10_SECONDS
    other = webhook.post(URL, json=_update(fake, 800, "autre", chat=CHAT + 1))
    assert other.status_code == 200 and spy.incomings[-1].text == "autre"


@pytest.mark.parametrize(
    "update",
    [
        {"update_id": 901, "message": {"chat": "x"}},
        {"update_id": 902, "message": {"message_id": "a", "date": "b", "chat": {"id": CHAT}}},
        {"update_id": 903, "callback_query": [1, 2]},
        {"update_id": 904, "message": {"message_id": 1, "date": 0, "chat": {"id": CHAT, "type": 5}}},
    ],
)
def test_malformed_updates_are_acknowledged_not_500(webhook: httpx.Client, update: dict[str, Any]) -> None:
    response = webhook.post(URL, json=update)
    assert response.status_code == 200


def test_error_handler_logs_no_exception_text(
    fake: FakeTelegram, webhook: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    assert webhook.post(URL, json=_update(fake, 950, "panne")).status_code == 200
    assert "RuntimeError" in caplog.text
    assert "panne simulée" not in caplog.text


@pytest.mark.redis
def test_two_workers_sharing_redis_process_an_update_once(
    fake: FakeTelegram, tmp_path: Path, spy: SpyEngine
) -> None:
    import uuid

    import redis

    from knowledge.db import make_engine, upgrade

    url = "redis://127.0.0.1:6379/0"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError:
        pytest.skip("Redis indisponible")
    db = make_engine(f"sqlite:///{tmp_path / 'shared.sqlite3'}")
    upgrade(db)
    token = f"{uuid.uuid4().int % 10**9}:TEST-token"  # a bot id of its own: no key left by other runs
    workers = []
    for _ in range(2):
        app = FastAPI()
        store = ConversationStore(db, spy, redis_url=url)
        app.include_router(webhook_router(store, token=token, secret=SECRET, base_url=fake.base_url))
        workers.append(app)
    update = _update(fake, 1234, "bonjour")
    with serve_app(workers[0]) as first, serve_app(workers[1]) as second:
        for server in (first, second, first):
            response = httpx.post(server.url + URL, json=update, headers={SECRET_HEADER: SECRET}, timeout=30)
            assert response.status_code == 200
    assert spy.incomings == [Incoming(text="bonjour", channel=CHANNEL)]

"""Telegram channel, end to end over real HTTP: PTB <-> a fake Bot API server, the real store on SQLite."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from telegram.ext import Application

from bot.channels.store import ConversationStore
from bot.channels.telegram import (
    ALLOWED_UPDATES,
    CHANNEL,
    ERROR_TEXT,
    SECRET_HEADER,
    VOICE_TEXT,
    build_application,
    configure_webhook,
    run_polling,
    webhook_router,
)
from bot.channels.telegram_format import (
    CALLBACK_DATA_MAX_BYTES,
    LOCATION_BUTTON_TEXT,
    TELEGRAM_MAX_TEXT,
    callback_data_for,
    render_replies,
    split_text,
    tappable_phones,
    utf16_len,
)
from bot.dialogue.api import Button, Incoming, Reply, Turn
from knowledge.db import make_engine, upgrade

try:
    from tests.fake_telegram import FakeTelegram, serve_app
except ImportError:  # tests/ is not a package: pytest puts it on sys.path
    from fake_telegram import FakeTelegram, serve_app  # type: ignore[no-redef]

TOKEN = "123456:TEST-token-never-logged"
SECRET = "webhook_secret-42"
CHAT = 424242


# -- engines ----------------------------------------------------------------------------------
class RecordingEngine:
    """Wraps a real engine (the one `build_engine()` returns) and records what it sees and says."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.turns: list[tuple[Incoming, Turn]] = []
        self._lock = threading.Lock()

    def new_state(self) -> dict[str, Any]:
        return self.inner.new_state()

    def handle(self, state: dict[str, Any], incoming: Incoming) -> Turn:
        turn = self.inner.handle(state, incoming)
        with self._lock:
            self.turns.append((incoming, turn))
        return turn

    def summary(self, state: dict[str, Any]) -> dict[str, Any]:
        return self.inner.summary(state)

    @property
    def incomings(self) -> list[Incoming]:
        with self._lock:
            return [incoming for incoming, _ in self.turns]


LONG_TEXT = "\n\n".join(
    f"Paragraphe {i} : " + " ".join(f"mot{j}" for j in range(120)) for i in range(15)
)  # about 10,500 characters
assert len(LONG_TEXT) >= 10_000


class ScriptedEngine:
    """Returns the replies a test needs, whatever the real engine's wording."""

    def new_state(self) -> dict[str, Any]:
        return {"n": 0}

    def handle(self, state: dict[str, Any], incoming: Incoming) -> Turn:
        state = {"n": state.get("n", 0) + 1}
        if incoming.has_location:
            text = f"Près de {incoming.latitude:.2f}, {incoming.longitude:.2f} : le CCAS."
            return Turn(state, [Reply(text, custom={"orientation": True})])
        text = incoming.text or ""
        if text == "boutons":
            buttons = [Button("Oui", "/affirm"), Button("Non", "/deny"), Button("Je ne sais pas", "/unsure")]
            return Turn(state, [Reply("Avez-vous des enfants ?", buttons)])
        if text == "position":
            return Turn(
                state, [Reply("Dans quelle commune habitez-vous ?", custom={"request_location": True})]
            )
        if text == "position+boutons":
            reply = Reply(
                "Où habitez-vous ?", [Button("Je préfère ne pas dire", "/skip")], {"request_location": True}
            )
            return Turn(state, [reply])
        if text == "long":
            return Turn(state, [Reply(LONG_TEXT, [Button("Merci", "/thanks")])])
        if text == "panne":
            raise RuntimeError("panne simulée")
        return Turn(state, [Reply(f"Reçu : {text}")])

    def summary(self, state: dict[str, Any]) -> dict[str, Any]:
        return dict(state)


class SpyEngine(RecordingEngine):
    def __init__(self) -> None:
        super().__init__(ScriptedEngine())


# -- fixtures ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fake() -> Iterator[FakeTelegram]:
    with FakeTelegram() as server:
        yield server


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, fake: FakeTelegram) -> None:
    monkeypatch.setenv("AIGUILLAGE_SECRET_KEY", "test-pepper")  # the store's pepper: no key file
    for name in ("AIGUILLAGE_TELEGRAM_TOKEN", "AIGUILLAGE_TELEGRAM_SECRET", "AIGUILLAGE_TELEGRAM_API_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("AIGUILLAGE_REDIS_URL", raising=False)
    monkeypatch.delenv("AIGUILLAGE_RETENTION_DAYS", raising=False)
    fake.reset()


def _store(tmp_path: Path, engine: Any) -> ConversationStore:
    db = make_engine(f"sqlite:///{tmp_path / 'conversations.sqlite3'}")
    upgrade(db)
    return ConversationStore(db, engine, redis_url="")


@pytest.fixture
def real_engine(engine: Any) -> RecordingEngine:
    """The real dialogue engine (conftest's session fixture), recorded."""
    return RecordingEngine(engine)


@pytest.fixture
def spy() -> SpyEngine:
    return SpyEngine()


async def _polling(fake: FakeTelegram, store: ConversationStore) -> AsyncIterator[Application]:
    application = build_application(TOKEN, store, base_url=fake.base_url)
    await application.initialize()
    assert application.updater is not None
    await application.updater.start_polling(poll_interval=0, timeout=1, allowed_updates=ALLOWED_UPDATES)
    await application.start()
    try:
        yield application
    finally:
        await application.updater.stop()
        await application.stop()
        await application.shutdown()


@pytest.fixture
def store(tmp_path: Path, spy: SpyEngine) -> ConversationStore:
    return _store(tmp_path, spy)


@pytest.fixture
async def bot(fake: FakeTelegram, store: ConversationStore) -> AsyncIterator[Application]:
    """The bot in long polling, on the scripted engine."""
    async for application in _polling(fake, store):
        yield application


@pytest.fixture
async def real_bot(
    fake: FakeTelegram, tmp_path: Path, real_engine: RecordingEngine
) -> AsyncIterator[Application]:
    """The bot in long polling, on whatever `build_engine()` returns."""
    async for application in _polling(fake, _store(tmp_path, real_engine)):
        yield application


def _keyboard(message: dict[str, Any]) -> list[list[dict[str, Any]]]:
    markup = message.get("reply_markup") or {}
    return markup.get("inline_keyboard") or markup.get("keyboard") or []


def _titles(message: dict[str, Any]) -> list[str]:
    return [button["text"] for row in _keyboard(message) for button in row]


# -- polling, with the real engine ------------------------------------------------------------
async def test_text_message_gets_an_answer(
    fake: FakeTelegram, real_bot: Application, real_engine: RecordingEngine
) -> None:
    fake.push_text(CHAT, "Bonjour, je cherche une aide")
    messages = await fake.await_messages(CHAT)
    assert messages[0]["text"].strip()
    assert "parse_mode" not in messages[0]
    assert real_engine.incomings[0] == Incoming(text="Bonjour, je cherche une aide", channel=CHANNEL)


async def test_location_reaches_the_engine(
    fake: FakeTelegram, real_bot: Application, real_engine: RecordingEngine
) -> None:
    # a need first, then the position (in Lens, Pas-de-Calais): the engine can orient
    fake.push_text(CHAT, "j'ai des dettes")
    await fake.await_until(lambda: len(real_engine.turns) == 1)
    first = real_engine.turns[0][1]
    before = len(await fake.await_messages(CHAT, sum(len(split_text(r.text)) for r in first.replies)))
    if any(reply.custom.get("request_location") for reply in first.replies):
        assert LOCATION_BUTTON_TEXT in _titles(fake.sent_messages(CHAT)[-1])

    fake.push_location(CHAT, latitude=50.4321, longitude=2.8123)
    await fake.await_until(lambda: len(real_engine.turns) == 2)
    incoming, turn = real_engine.turns[1]
    assert incoming == Incoming(latitude=50.4321, longitude=2.8123, channel=CHANNEL)
    # French phone numbers are sent in international form, tappable in Telegram (tappable_phones)
    expected = [part for reply in turn.replies for part in split_text(tappable_phones(reply.text))]
    messages = await fake.await_messages(CHAT, before + len(expected))
    assert [m["text"] for m in messages[before:]] == expected
    # a location-based answer: the orientation (schemes, where to go), as the contract marks it
    assert any(reply.custom.get("orientation") or reply.custom.get("summary") for reply in turn.replies)


# -- polling, scripted replies ----------------------------------------------------------------
async def test_buttons_become_an_inline_keyboard(fake: FakeTelegram, bot: Application) -> None:
    fake.push_text(CHAT, "boutons")
    message = (await fake.await_messages(CHAT))[-1]
    assert message["text"] == "Avez-vous des enfants ?"
    assert _titles(message) == ["Oui", "Non", "Je ne sais pas"]
    payloads = [b["callback_data"] for row in message["reply_markup"]["inline_keyboard"] for b in row]
    assert payloads == ["/affirm", "/deny", "/unsure"]


async def test_button_tap_sends_the_payload_and_is_answered(
    fake: FakeTelegram, bot: Application, spy: SpyEngine
) -> None:
    fake.push_text(CHAT, "boutons")
    question = (await fake.await_messages(CHAT))[-1]
    shown = fake.make_message(CHAT, text=question["text"], reply_markup=question["reply_markup"])
    fake.push_callback(CHAT, "/deny", message=shown)
    await fake.await_messages(CHAT, 2)
    assert spy.incomings[-1] == Incoming(text="/deny", channel=CHANNEL)
    assert len(fake.calls_to("answerCallbackQuery")) == 1
    edit = fake.calls_to("editMessageText")[0].params
    assert edit["text"].endswith("✅ Non")
    assert "inline_keyboard" not in (edit.get("reply_markup") or {})
    assert fake.sent_messages(CHAT)[-1]["text"] == "Reçu : /deny"


async def test_old_button_tap_still_counts(fake: FakeTelegram, bot: Application, spy: SpyEngine) -> None:
    fake.fail_next("answerCallbackQuery", 400, "Bad Request: query is too old and response timeout expired")
    fake.push_callback(CHAT, "/affirm")
    await fake.await_messages(CHAT)
    assert spy.incomings == [Incoming(text="/affirm", channel=CHANNEL)]
    assert fake.sent_messages(CHAT)[-1]["text"] == "Reçu : /affirm"


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_flood_control_is_waited_out(fake: FakeTelegram, bot: Application) -> None:
    fake.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    fake.push_text(CHAT, "bonjour")
    messages = await fake.await_messages(CHAT, 2)  # the refused attempt, then the accepted one
    assert [m["text"] for m in messages] == ["Reçu : bonjour"] * 2
    assert len(fake.calls_to("sendMessage")) == 2


async def test_request_location_offers_the_location_button(fake: FakeTelegram, bot: Application) -> None:
    fake.push_text(CHAT, "position")
    message = (await fake.await_messages(CHAT))[-1]
    markup = message["reply_markup"]
    button = markup["keyboard"][0][0]
    assert button == {"text": LOCATION_BUTTON_TEXT, "request_location": True}
    assert markup["one_time_keyboard"] is True and markup["resize_keyboard"] is True

    # the next turn, without a location request, takes the keyboard away
    fake.push_text(CHAT, "Arras")
    after = (await fake.await_messages(CHAT, 2))[-1]
    assert after["reply_markup"] == {"remove_keyboard": True}


async def test_text_buttons_of_the_location_keyboard_send_their_payload(
    fake: FakeTelegram, bot: Application, spy: SpyEngine
) -> None:
    fake.push_text(CHAT, "position+boutons")
    message = (await fake.await_messages(CHAT))[-1]
    assert _titles(message) == [LOCATION_BUTTON_TEXT, "Je préfère ne pas dire"]
    fake.push_text(CHAT, "Je préfère ne pas dire")
    await fake.await_messages(CHAT, 2)
    assert spy.incomings[-1] == Incoming(text="/skip", channel=CHANNEL)


async def test_location_message_is_given_to_the_engine(
    fake: FakeTelegram, bot: Application, spy: SpyEngine
) -> None:
    fake.push_location(CHAT, latitude=50.29, longitude=2.78)
    message = (await fake.await_messages(CHAT))[-1]
    assert spy.incomings == [Incoming(latitude=50.29, longitude=2.78, channel=CHANNEL)]
    assert message["text"] == "Près de 50.29, 2.78 : le CCAS."


async def test_long_answer_is_split(fake: FakeTelegram, bot: Application) -> None:
    fake.push_text(CHAT, "long")
    await fake.await_until(lambda: any(m.get("reply_markup") for m in fake.sent_messages(CHAT)))
    messages = fake.sent_messages(CHAT)
    assert len(messages) >= 3
    assert all(0 < utf16_len(m["text"]) <= TELEGRAM_MAX_TEXT for m in messages)
    assert all(m["text"].startswith("Paragraphe") for m in messages), "cut between paragraphs"
    assert "\n\n".join(m["text"] for m in messages) == LONG_TEXT
    assert [bool(m.get("reply_markup")) for m in messages] == [False] * (len(messages) - 1) + [True]


async def test_start_says_who_we_are(
    fake: FakeTelegram, bot: Application, spy: SpyEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIGUILLAGE_RETENTION_DAYS", "45")
    fake.push_text(CHAT, "/start")
    messages = await fake.await_messages(CHAT, 3)
    text = "\n".join(m["text"] for m in messages)
    assert "automatique" in text
    assert "/oubli" in text
    assert "45 jours" in text
    assert spy.incomings == [], "/start stores nothing"


async def test_aide_lists_what_it_can_do(fake: FakeTelegram, bot: Application) -> None:
    fake.push_text(CHAT, "/aide")
    messages = await fake.await_messages(CHAT, 3)
    text = "\n".join(m["text"] for m in messages)
    assert "exemple" in text.lower() and "/oubli" in text


async def test_oubli_erases_the_conversation(
    fake: FakeTelegram, bot: Application, store: ConversationStore
) -> None:
    fake.push_text(CHAT, "bonjour")
    await fake.await_messages(CHAT)
    assert store.exists(CHANNEL, str(CHAT))

    fake.push_text(CHAT, "/oubli")
    messages = await fake.await_messages(CHAT, 2)
    assert not store.exists(CHANNEL, str(CHAT))
    assert "effacée" in messages[-1]["text"]
    assert messages[-1]["reply_markup"] == {"remove_keyboard": True}

    fake.push_text(CHAT, "/oubli")
    messages = await fake.await_messages(CHAT, 3)
    assert "rien à effacer" in messages[-1]["text"]


async def test_voice_message_gets_a_hint_not_the_engine(
    fake: FakeTelegram, bot: Application, spy: SpyEngine
) -> None:
    fake.push_message(CHAT, voice={"file_id": "v1", "file_unique_id": "v1", "duration": 3})
    messages = await fake.await_messages(CHAT)
    assert messages[-1]["text"] == VOICE_TEXT
    assert spy.incomings == []


async def test_group_chats_are_not_served(fake: FakeTelegram, bot: Application, spy: SpyEngine) -> None:
    group = fake.make_message(CHAT, text="bonjour")
    group["chat"] = {"id": -100123, "type": "group", "title": "Famille"}
    fake.push_update({"message": group})
    fake.push_text(CHAT, "après")
    await fake.await_messages(CHAT)
    assert fake.sent_messages(-100123) == []
    assert spy.incomings == [Incoming(text="après", channel=CHANNEL)]


async def test_engine_failure_apologises_and_logs_no_content(
    fake: FakeTelegram, bot: Application, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    fake.push_text(CHAT, "Je m'appelle Dominique, 06 12 34 56 78")
    fake.push_message(CHAT, contact={"phone_number": "+33612345678", "first_name": "Dominique"})
    fake.push_text(CHAT, "panne")
    messages = await fake.await_messages(CHAT, 3)
    assert messages[-1]["text"] == ERROR_TEXT
    assert "RuntimeError" in caplog.text  # the error itself is logged (its type and place)…
    assert "panne simulée" not in caplog.text  # …not its text, which may quote the message
    for secret in ("Dominique", "06 12 34 56 78", "612345678", TOKEN.split(":")[1]):
        assert secret not in caplog.text  # …never what people wrote, nor the token


# -- webhook ----------------------------------------------------------------------------------
def _update(fake: FakeTelegram, text: str) -> dict[str, Any]:
    return {"update_id": 1, "message": fake.make_message(CHAT, text=text)}


def test_webhook_checks_the_secret(fake: FakeTelegram, tmp_path: Path, spy: SpyEngine) -> None:
    app = FastAPI()
    app.include_router(
        webhook_router(_store(tmp_path, spy), token=TOKEN, secret=SECRET, base_url=fake.base_url)
    )
    with serve_app(app) as server, httpx.Client(base_url=server.url, timeout=10) as client:
        assert fake.calls_to("getMe"), "the Application starts in the lifespan"
        assert fake.calls_to("setMyCommands")
        url = "/telegram/webhook"

        missing = client.post(url, json=_update(fake, "sans secret"))
        wrong = client.post(url, json=_update(fake, "mauvais secret"), headers={SECRET_HEADER: "nope"})
        empty = client.post(url, json=_update(fake, "secret vide"), headers={SECRET_HEADER: ""})
        assert missing.status_code == 401
        assert wrong.status_code == 403
        assert empty.status_code == 403
        assert fake.sent_messages() == [] and spy.incomings == []

        bad = client.post(url, content=b"{not json", headers={SECRET_HEADER: SECRET})
        assert bad.status_code == 400

        ok = client.post(url, json=_update(fake, "bonjour"), headers={SECRET_HEADER: SECRET})
        assert ok.status_code == 200
        # the update is processed before the answer: the reply is already sent
        assert [m["text"] for m in fake.sent_messages(CHAT)] == ["Reçu : bonjour"]
        assert spy.incomings == [Incoming(text="bonjour", channel=CHANNEL)]


def test_webhook_without_a_configured_secret_refuses_everything(
    fake: FakeTelegram, tmp_path: Path, spy: SpyEngine
) -> None:
    app = FastAPI()
    app.include_router(webhook_router(_store(tmp_path, spy), token=TOKEN, secret="", base_url=fake.base_url))
    with serve_app(app) as server, httpx.Client(base_url=server.url, timeout=10) as client:
        response = client.post("/telegram/webhook", json=_update(fake, "x"), headers={SECRET_HEADER: ""})
        assert response.status_code == 403
        response = client.post(
            "/telegram/webhook", json=_update(fake, "x"), headers={SECRET_HEADER: "anything"}
        )
        assert response.status_code == 403
    assert fake.sent_messages() == [] and spy.incomings == []


def test_webhook_router_reads_the_environment(
    fake: FakeTelegram, tmp_path: Path, spy: SpyEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIGUILLAGE_TELEGRAM_TOKEN", TOKEN)
    monkeypatch.setenv("AIGUILLAGE_TELEGRAM_SECRET", SECRET)
    monkeypatch.setenv("AIGUILLAGE_TELEGRAM_API_URL", fake.base_url)
    app = FastAPI()
    app.include_router(webhook_router(_store(tmp_path, spy)))
    with serve_app(app) as server, httpx.Client(base_url=server.url, timeout=10) as client:
        response = client.post(
            "/telegram/webhook", json=_update(fake, "hello"), headers={SECRET_HEADER: SECRET}
        )
        assert response.status_code == 200
    assert fake.sent_messages(CHAT)[-1]["text"] == "Reçu : hello"


def test_webhook_mounted_by_the_http_server(
    fake: FakeTelegram, tmp_path: Path, spy: SpyEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.channels.http import create_app

    monkeypatch.setenv("AIGUILLAGE_TELEGRAM_TOKEN", TOKEN)
    monkeypatch.setenv("AIGUILLAGE_TELEGRAM_SECRET", SECRET)
    monkeypatch.setenv("AIGUILLAGE_TELEGRAM_API_URL", fake.base_url)
    app = create_app(store=_store(tmp_path, spy), run_migrations=False, purge_on_startup=False)
    with serve_app(app) as server, httpx.Client(base_url=server.url, timeout=10) as client:
        assert fake.calls_to("getMe"), "the router's lifespan runs inside the app's"
        wrong = client.post("/telegram/webhook", json=_update(fake, "x"), headers={SECRET_HEADER: "no"})
        assert wrong.status_code == 403
        long_text = "é" * 4096  # a maximal Telegram message: more than 8 KB of JSON
        ok = client.post("/telegram/webhook", json=_update(fake, long_text), headers={SECRET_HEADER: SECRET})
        assert ok.status_code == 200
    assert spy.incomings == [Incoming(text=long_text, channel=CHANNEL)]
    assert fake.sent_messages(CHAT)


async def test_set_webhook_sends_the_secret(fake: FakeTelegram) -> None:
    await configure_webhook(
        "https://exemple.fr/telegram/webhook", token=TOKEN, secret=SECRET, base_url=fake.base_url
    )
    params = fake.calls_to("setWebhook")[0].params
    assert params["url"] == "https://exemple.fr/telegram/webhook"
    assert params["secret_token"] == SECRET
    assert params["allowed_updates"] == ALLOWED_UPDATES
    commands = fake.calls_to("setMyCommands")[0].params["commands"]
    assert [c["command"] for c in commands] == ["start", "aide", "oubli"]


def test_run_polling_without_token_explains_in_french(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIGUILLAGE_TELEGRAM_TOKEN", raising=False)
    with pytest.raises(SystemExit) as exit_info:
        run_polling()
    assert "AIGUILLAGE_TELEGRAM_TOKEN" in str(exit_info.value)
    assert "n'est pas définie" in str(exit_info.value)


# -- formatting (no network) ------------------------------------------------------------------
def test_split_text_prefers_paragraphs_then_lines_then_words() -> None:
    assert split_text("court") == ["court"]
    assert split_text("  \n\n ") == []
    assert split_text("aaa\n\nbbb\n\nccc", limit=8) == ["aaa\n\nbbb", "ccc"]
    assert split_text("aaa\nbbb\nccc", limit=8) == ["aaa\nbbb", "ccc"]
    assert split_text("un deux trois", limit=8) == ["un deux", "trois"]
    assert split_text("x" * 20, limit=8) == ["x" * 8, "x" * 8, "x" * 4]


def test_split_text_counts_emoji_as_telegram_does() -> None:
    text = "📍" * 3000  # 6000 UTF-16 units
    parts = split_text(text)
    assert len(parts) == 2 and all(utf16_len(p) <= TELEGRAM_MAX_TEXT for p in parts)
    assert "".join(parts) == text


def test_long_payload_falls_back_to_the_title() -> None:
    long_payload = '/inform{"commune": "' + "x" * 80 + '"}'
    assert callback_data_for(Button("Oui", "/affirm")) == "/affirm"
    assert callback_data_for(Button("Arras", long_payload)) == "Arras"
    assert len(callback_data_for(Button("é" * 60, long_payload)).encode()) <= CALLBACK_DATA_MAX_BYTES


def test_summary_is_not_repeated() -> None:
    summary = "Aiguillage — résumé de votre orientation\nPoint conseil budget : UDAF 62"
    rendered = render_replies([Reply("Voici ce que je peux vous dire.", custom={"summary": summary})])
    assert [m.text for m in rendered.messages] == ["Voici ce que je peux vous dire."]


def test_a_keyboard_left_on_screen_is_removed_next_turn() -> None:
    asked = render_replies([Reply("Votre commune ?", custom={"request_location": True})])
    assert asked.reply_keyboard_shown and asked.reply_buttons == {}
    after = render_replies([Reply("Noté."), Reply("Et ensuite ?")], reply_keyboard_shown=True)
    assert [type(m.reply_markup).__name__ for m in after.messages] == ["ReplyKeyboardRemove", "NoneType"]
    assert not after.reply_keyboard_shown

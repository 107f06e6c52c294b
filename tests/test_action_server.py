"""The Rasa action server contract: `python -m rasa_sdk --actions actions` serves our actions.

rasa-sdk lives in a separate virtual environment (tests/rasa_env.py: `.venv-rasa/`, built once
and reused). The server runs as a real subprocess on a free loopback port, with its own
AIGUILLAGE_DATA_DIR (its knowledge base migrates and syncs itself into a fresh SQLite file on
the first call), and receives what a Rasa 3.x server sends to its action endpoint:
`{"next_action", "sender_id", "tracker", "domain", "version"}` -> `{"events", "responses"}`.
With CI=true a failure to build the environment fails the test; locally it is skipped.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from actions import ALL_ACTIONS
from knowledge.facts import FACT_NAMES

try:  # tests/ is not a package: pytest puts it on sys.path (conftest is already loaded)
    from conftest import require
    from rasa_env import RasaEnv, RasaEnvError, ensure_rasa_env
except ImportError:
    from tests.conftest import require  # type: ignore[no-redef]
    from tests.rasa_env import RasaEnv, RasaEnvError, ensure_rasa_env  # type: ignore[no-redef]

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
DOMAIN = yaml.safe_load((REPO / "data" / "rasa" / "domain.yml").read_text(encoding="utf-8"))
RASA_VERSION = "3.6.21"  # the last Rasa Open Source release, as a Rasa server reports itself
ACTION_NAMES = {
    "action_emergency", "action_scheme_info", "action_ask_question",
    "action_orientation", "action_nearby_services", "action_human_handoff", "action_answer",
    "action_shown_place",
}  # fmt: skip
# what rasa_sdk's CollectingDispatcher puts in each message (json_message becomes "custom")
MESSAGE_KEYS = {"text", "buttons", "elements", "custom", "template", "response", "image", "attachment"}
STARTUP_TIMEOUT = 90.0
CALL_TIMEOUT = 120.0  # the first call loads the knowledge base


# -- the server ---------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def rasa_env() -> RasaEnv:
    try:
        return ensure_rasa_env()
    except RasaEnvError as exc:
        require(False, f"rasa-sdk dans un environnement séparé (tests/rasa_env.py) — {exc}")
        raise  # not reached: require() fails or skips


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _log_tail(path: Path, lines: int = 40) -> str:
    text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """End the server and its Sanic worker: the process group this test started."""
    if proc.poll() is None:
        for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                proc.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue
    with contextlib.suppress(ProcessLookupError, PermissionError):  # a worker left in the group
        os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def action_server(rasa_env: RasaEnv, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir = tmp_path_factory.mktemp("rasa-action-server")
    log_path = data_dir / "action-server.log"
    port = _free_port()
    drop = {"AIGUILLAGE_DATABASE_URL", "VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(AIGUILLAGE_DATA_DIR=str(data_dir), SANIC_HOST="127.0.0.1", PYTHONUNBUFFERED="1")
    cmd = [str(rasa_env.python), "-m", "rasa_sdk", "--actions", "actions", "--port", str(port)]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"le serveur d'actions s'est arrêté (code {proc.returncode}) :\n{_log_tail(log_path)}"
                )
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"pas de réponse sur {base}/health en {STARTUP_TIMEOUT:.0f} s :\n{_log_tail(log_path)}"
                )
            time.sleep(0.25)
        yield base
    finally:
        _stop(proc)


@pytest.fixture(scope="module")
def client(action_server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=action_server, timeout=CALL_TIMEOUT) as http:
        yield http


# -- what a Rasa server sends ---------------------------------------------------------------------
def action_call(
    next_action: str,
    slots: dict[str, Any],
    text: str = "",
    intent: str = "",
    entities: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A Rasa 3.x action request: the tracker carries every domain slot (None when unset)."""
    all_slots: dict[str, Any] = dict.fromkeys(DOMAIN["slots"])
    all_slots.update(slots)
    parse_data = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.93},
        "entities": entities or [],
        "intent_ranking": [{"name": intent, "confidence": 0.93}],
    }
    return {
        "next_action": next_action,
        "sender_id": "t1",
        "tracker": {
            "sender_id": "t1",
            "slots": all_slots,
            "latest_message": parse_data,
            "latest_event_time": time.time(),
            "followup_action": None,
            "paused": False,
            "events": [
                {"event": "action", "name": "action_session_start", "timestamp": time.time()},
                {"event": "session_started", "timestamp": time.time()},
                {"event": "action", "name": "action_listen", "timestamp": time.time()},
                {"event": "user", "text": text, "parse_data": parse_data, "timestamp": time.time()},
            ],
            "latest_input_channel": "rest",
            "active_loop": {},
            "latest_action": {"action_name": "action_listen"},
            "latest_action_name": "action_listen",
        },
        "domain": DOMAIN,
        "version": RASA_VERSION,
    }


def run_action(client: httpx.Client, next_action: str, slots: dict[str, Any], **kw: Any) -> dict[str, Any]:
    response = client.post("/webhook", json=action_call(next_action, slots, **kw))
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"events", "responses"}
    for message in body["responses"]:
        assert set(message) >= MESSAGE_KEYS, message
        assert isinstance(message["buttons"], list)
    for event in body["events"]:
        assert event["event"] == "slot" and set(event) == {"event", "timestamp", "name", "value"}, event
    return body


def slot_events(body: dict[str, Any]) -> dict[str, Any]:
    return {event["name"]: event["value"] for event in body["events"] if event["event"] == "slot"}


def flat(text: str) -> str:
    return " ".join(text.split())


# -- the contract ---------------------------------------------------------------------------------
def test_health_and_action_list(client: httpx.Client) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    listed = client.get("/actions")
    assert listed.status_code == 200
    names = [item["name"] for item in listed.json()]
    assert sorted(names) == sorted(ACTION_NAMES)
    assert set(names) == {a.name() for a in ALL_ACTIONS} == set(DOMAIN["actions"])


def test_scheme_info(client: httpx.Client, kb) -> None:  # type: ignore[no-untyped-def]
    scheme = kb.scheme("point-conseil-budget")
    body = run_action(
        client,
        "action_scheme_info",
        {"focus_scheme": "point-conseil-budget"},
        text="c'est quoi un point conseil budget ?",
        intent="ask_scheme_info",
        entities=[{"entity": "scheme", "value": "point-conseil-budget", "start": 14, "end": 34}],
    )
    assert body["events"] == []
    texts = [m["text"] for m in body["responses"]]
    assert scheme.name in texts[0] and flat(scheme.summary) in flat(texts[0])
    assert any(flat(scheme.steps[0]) in flat(t) for t in texts[1:])
    last = body["responses"][-1]
    assert [b["payload"] for b in last["buttons"]] == ["/affirm", "/find_service_nearby"]
    assert all(b["title"] for b in last["buttons"])
    assert last["custom"]["scheme"] == "point-conseil-budget"
    source_urls = {s.url for s in scheme.sources if s.url}
    assert last["custom"]["links"] and {link["url"] for link in last["custom"]["links"]} <= source_urls


def test_ask_question(client: httpx.Client, kb) -> None:  # type: ignore[no-untyped-def]
    body = run_action(
        client,
        "action_ask_question",
        {"need": "garde_enfant", "candidates": ["avip-creches"], "declined": [], "questions_asked": 0},
        text="je cherche une crèche pour retrouver du travail",
        intent="check_eligibility",
    )
    slots = slot_events(body)
    fact = slots["asking"]
    assert fact in FACT_NAMES
    assert fact in {"children_count", "children_ages", "situation", "single_parent"}  # what AVIP depends on
    assert slots["questions_asked"] == 1
    question = next(q for q in kb.questions if q.fact == fact)
    (message,) = body["responses"]
    assert message["text"] == question.text
    assert message["custom"] == {"question": fact}
    assert {o.title for o in question.options} <= {b["title"] for b in message["buttons"]}


def test_orientation_avip_in_hersin_coupigny(client: httpx.Client, kb) -> None:  # type: ignore[no-untyped-def]
    scheme = kb.scheme("avip-creches")
    facts = {
        "commune": "62443",  # Hersin-Coupigny
        "children_count": 1,
        "children_ages": [1.5],
        "situation": "demandeur_emploi",
        "single_parent": True,
    }
    flow = {"need": "garde_enfant", "candidates": ["avip-creches"], "focus_scheme": "avip-creches",
            "declined": [], "questions_asked": 2, "asking": "situation"}  # fmt: skip
    body = run_action(client, "action_orientation", {**facts, **flow}, text="je suis au chômage",
                      intent="give_situation")  # fmt: skip
    slots = slot_events(body)
    assert slots["oriented"] is True and slots["asking"] is None
    (result,) = slots["last_results"]
    assert result["scheme"] == "avip-creches" and result["status"] == "eligible"
    texts = [m["text"] for m in body["responses"]]
    assert any(scheme.name in t and "vous pourriez y avoir droit" in t for t in texts)
    assert any("avip@ville-hersin-coupigny.fr" in t and "Hersin-Coupigny" in t for t in texts)
    assert not any("vous avez droit" in t.lower() for t in texts)  # never promise a right
    last = body["responses"][-1]
    assert "/ask_why" in [b["payload"] for b in last["buttons"]]
    custom = last["custom"]
    assert custom["orientation"] is True
    assert custom["schemes"] == [{"id": "avip-creches", "status": "eligible"}]
    assert "Hersin-Coupigny (62)" in custom["summary"]
    assert scheme.name in custom["summary"] and "avip@ville-hersin-coupigny.fr" in custom["summary"]


def test_emergency(client: httpx.Client, kb) -> None:  # type: ignore[no-untyped-def]
    body = run_action(client, "action_emergency", {"danger_numbers": ["3919"]},
                      text="mon mari me frappe", intent="emergency")  # fmt: skip
    assert body["events"] == [{"event": "slot", "timestamp": None, "name": "danger_numbers", "value": None},
                              {"event": "slot", "timestamp": None, "name": "numbers_given", "value": ["3919", "112", "114"]}]
    by_number = {n.number: n for n in kb.emergency}
    first = body["responses"][0]["text"]
    assert "3919" in first and by_number["3919"].name in first
    # three lines a message at most, the heading included (simulated users, rounds 16-18)
    assert all(len(r["text"].splitlines()) <= 3 for r in body["responses"])
    last = body["responses"][-1]
    assert last["custom"]["emergency"] is True
    numbers = last["custom"]["numbers"]
    assert numbers[0] == "3919" and {"112", "114"} <= set(numbers)
    assert [b["payload"] for b in last["buttons"]] == ["/affirm", "/deny"]


@pytest.mark.parametrize("name", ["action_nearby_services", "action_human_handoff"])
def test_place_actions(client: httpx.Client, name: str) -> None:
    body = run_action(client, name, {"commune": "62443", "service_type": "france-service"},
                      intent="find_service_nearby")  # fmt: skip
    events = slot_events(body)
    assert events.pop("oriented") is True
    if name == "action_nearby_services":  # the places shown, for « c'est ouvert quand ? » after
        shown = events.pop("shown_places")
        assert shown and all(key.startswith("anct-france-services--") for key in shown)
    assert events == {}
    assert body["responses"] and all(m["text"] for m in body["responses"])
    assert "/ask_human" in [b["payload"] for b in body["responses"][-1]["buttons"]]


def test_unknown_action_is_rasa_404(client: httpx.Client) -> None:
    response = client.post("/webhook", json=action_call("action_inconnue", {}))
    assert response.status_code == 404
    body = response.json()
    assert set(body) == {"error", "action_name"}
    assert body["action_name"] == "action_inconnue" and "action_inconnue" in body["error"]

"""data/rasa/domain.yml: a Rasa 3.x domain in step with data/nlu/, the actions and the facts."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from actions import ALL_ACTIONS
from knowledge.facts import FACT_NAMES
from knowledge.schema import Housing, Situation

REPO = Path(__file__).resolve().parents[1]
DOMAIN_PATH = REPO / "data" / "rasa" / "domain.yml"
NLU_DIR = REPO / "data" / "nlu"
FLOW_SLOTS = {
    "need", "service_type", "candidates", "focus_scheme", "declined", "asking", "questions_asked",
    "oriented", "last_results", "location_lat", "location_lon", "danger_numbers", "third_person", "screening",
    "plan", "shown", "role", "answer_kind", "danger_then_orientation", "workplace", "answer_passage",
    "answer_schemes", "answer_unsure", "answer_money", "workplace_commune", "shown_places", "place_question", "numbers_given", "place_schemes", "place_need", "outreach_commune",
    "workplace_schemes", "received_schemes",
}  # fmt: skip
RASA_SLOT_TYPES = {"text", "bool", "categorical", "float", "list", "any"}
SLOT_USE = re.compile(r"""(?:get_slot|slots\.get|SlotSet)\(\s*["']([a-z_]+)["']|slots\[["']([a-z_]+)["']\]""")
ANNOTATION = re.compile(r"\]\((?P<name>[A-Za-z_]+)[^)]*\)|\]\{[^}]*\"entity\"\s*:\s*\"(?P<json>[A-Za-z_]+)\"")


@pytest.fixture(scope="module")
def domain() -> dict[str, Any]:
    data = yaml.safe_load(DOMAIN_PATH.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _nlu_items() -> list[dict[str, Any]]:
    items = []
    for path in sorted(NLU_DIR.glob("*.yml")):
        items += yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu", [])
    return items


def _keys(node: Any) -> list[Any]:
    if isinstance(node, dict):
        return [*node, *(k for v in node.values() for k in _keys(v))]
    if isinstance(node, list):
        return [k for v in node for k in _keys(v)]
    return []


def test_domain_loads_as_rasa_3_domain(domain: dict[str, Any]) -> None:
    assert domain["version"] == "3.1"
    assert set(domain) <= {"version", "intents", "entities", "slots", "actions", "responses", "forms",
                           "session_config", "config"}  # fmt: skip
    # YAML 1.1 reads bare yes/no/on/off keys as booleans: every key must stay a string
    assert all(isinstance(k, str) for k in _keys(domain))
    for section in ("intents", "entities", "actions"):
        names = domain[section]
        assert all(isinstance(n, str) for n in names), section
        assert len(names) == len(set(names)), f"doublon dans {section}"
    assert domain["session_config"]["session_expiration_time"] >= 0


def test_intents_are_those_of_the_nlu_data(domain: dict[str, Any]) -> None:
    nlu_intents = {item["intent"] for item in _nlu_items() if "intent" in item}
    assert nlu_intents, "aucune intention dans data/nlu"
    assert set(domain["intents"]) == nlu_intents


def test_entities_cover_the_nlu_annotations(domain: dict[str, Any]) -> None:
    annotated = set()
    for item in _nlu_items():
        for match in ANNOTATION.finditer(item.get("examples", "")):
            annotated.add(match.group("name") or match.group("json"))
    assert {"commune", "age", "child_age"} <= annotated
    assert annotated <= set(domain["entities"])


def test_slots_are_the_facts_and_the_flow(domain: dict[str, Any]) -> None:
    slots = domain["slots"]
    assert set(slots) == set(FACT_NAMES) | FLOW_SLOTS
    for name, slot in slots.items():
        assert slot["type"] in RASA_SLOT_TYPES, name
        assert slot["influence_conversation"] is False, name
        assert slot["mappings"] == [{"type": "custom"}], name
    assert slots["situation"]["values"] == [s.value for s in Situation]
    assert slots["housing"]["values"] == [h.value for h in Housing]
    assert slots["commune"]["type"] == "text"  # an INSEE code such as "01004" keeps its zero
    assert {n for n, s in slots.items() if s["type"] == "list"} >= {"children_ages", "candidates", "declined"}


def test_slots_cover_what_the_actions_read_and_set(domain: dict[str, Any]) -> None:
    used = set()
    for path in sorted((REPO / "actions").glob("*.py")):
        for match in SLOT_USE.finditer(path.read_text(encoding="utf-8")):
            used.add(match.group(1) or match.group(2))
    assert {"focus_scheme", "asking", "danger_numbers", "oriented"} <= used
    assert used <= set(domain["slots"]), "slots lus ou écrits par actions/ absents du domaine"


def test_actions_are_the_custom_actions(domain: dict[str, Any]) -> None:
    assert sorted(domain["actions"]) == sorted(action.name() for action in ALL_ACTIONS)

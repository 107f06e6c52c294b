"""Conversation tests as data: tests/conversations/*.yml, run through the real engine.

Each file: `name`, optional `tags`, and `turns`: a list of `{user: text}` or
`{location: {lat, lon}}` with an optional `expect` block:
  mentions / not_mentions   substrings of the turn's replies (case- and accent-insensitive)
  first_mentions            substrings of the turn's FIRST reply (danger: numbers come first)
  any_of_mentions           at least one of these substrings
  asks                      the fact the assistant is now asking (or null)
  orientation               a reply carries the final orientation (custom.orientation)
  status                    {scheme_id: eligible|not_eligible|to_check} in the last results
  facts                     {fact: value} now known
  buttons                   button titles (substrings) offered in this turn
  erase                     the turn erased the conversation
  emergency                 the emergency numbers were given
Every turn also checks that every phone number and email shown exists in the knowledge base.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from bot.dialogue.api import Incoming, Turn
from knowledge.contacts import contacts_for
from knowledge.models import ServiceRow
from knowledge.placedata import PLACE_ORIGIN
from knowledge.textnorm import fold

CONVERSATIONS = sorted((Path(__file__).parent / "conversations").glob("*.yml"))
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
PHONE = re.compile(r"(?<!\d)(?:\+33\s?|0)[1-9](?:[\s.-]?\d{2}){4}(?!\d)")


def load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


_KNOWN: dict[int, tuple[set[str], set[str]]] = {}


def known_contacts(kb) -> tuple[set[str], set[str]]:  # type: ignore[no-untyped-def]
    if id(kb) not in _KNOWN:
        _KNOWN[id(kb)] = _known_contacts(kb)
    return _KNOWN[id(kb)]


def _known_contacts(kb) -> tuple[set[str], set[str]]:  # type: ignore[no-untyped-def]
    emails, phones = set(), set()
    for service in kb.services:
        contacts = contacts_for(service, "residents")  # a resident is never given a professionals' contact
        if contacts.get("courriel"):
            emails.add(contacts["courriel"].lower())
        if contacts.get("telephone"):
            phones.add(re.sub(r"\D", "", contacts["telephone"]))
        for text in (service.description or "",):
            emails.update(e.lower() for e in EMAIL.findall(text))
    # the directories of places (France Services, mairies) are part of the knowledge base too
    with kb.places.engine.connect() as connection:
        query = select(ServiceRow.data).where(ServiceRow.origin == PLACE_ORIGIN)
        for (data,) in connection.execute(query):
            if data.get("courriel"):
                emails.add(data["courriel"].lower())
            if data.get("telephone"):
                phones.add(re.sub(r"\D", "", data["telephone"]))
    for scheme in kb.schemes.values():
        for text in [scheme.description, *scheme.steps, *(scheme.conditions_text or [])]:
            emails.update(e.lower() for e in EMAIL.findall(text))
            phones.update(re.sub(r"\D", "", p) for p in PHONE.findall(text))
    return emails, phones


def run_turn(engine, state: dict[str, Any], turn: dict[str, Any]) -> Turn:  # type: ignore[no-untyped-def]
    if "location" in turn:
        loc = turn["location"]
        return engine.handle(state, Incoming(latitude=loc["lat"], longitude=loc["lon"], channel="test"))
    return engine.handle(state, Incoming(text=str(turn["user"]), channel="test"))


def check_expectations(result: Turn, expect: dict[str, Any], where: str) -> None:
    texts = "\n".join(r.text for r in result.replies)
    folded = fold(texts)
    for needle in expect.get("mentions", []):
        assert fold(needle) in folded, f"{where}: « {needle} » absent de :\n{texts}"
    for needle in expect.get("not_mentions", []):
        assert fold(needle) not in folded, f"{where}: « {needle} » ne devrait pas apparaître :\n{texts}"
    if "any_of_mentions" in expect:
        assert any(fold(n) in folded for n in expect["any_of_mentions"]), (
            f"{where}: aucun de {expect['any_of_mentions']} dans :\n{texts}"
        )
    for needle in expect.get("first_mentions", []):
        assert fold(needle) in fold(result.replies[0].text), (
            f"{where}: « {needle} » absent de la 1re réponse : {result.replies[0].text}"
        )
    slots = result.state.get("slots", {}) if result.state else {}
    if "asks" in expect:
        assert slots.get("asking") == expect["asks"], (
            f"{where}: question attendue {expect['asks']}, posée {slots.get('asking')}\n{texts}"
        )
    if "orientation" in expect:
        oriented = any(r.custom.get("orientation") for r in result.replies)
        assert oriented == expect["orientation"], f"{where}: orientation={oriented}\n{texts}"
    for scheme, status in (expect.get("status") or {}).items():
        results = {r["scheme"]: r["status"] for r in slots.get("last_results") or []}
        assert results.get(scheme) == status, (
            f"{where}: {scheme} attendu {status}, obtenu {results.get(scheme)}\n{texts}"
        )
    for fact, value in (expect.get("facts") or {}).items():
        assert slots.get(fact) == value, f"{where}: fait {fact} attendu {value!r}, obtenu {slots.get(fact)!r}"
    titles = [b.title for r in result.replies for b in r.buttons]
    for title in expect.get("buttons", []):
        assert any(fold(title) in fold(t) for t in titles), f"{where}: bouton « {title} » absent de {titles}"
    if "erase" in expect:
        assert result.erase == expect["erase"], f"{where}: erase={result.erase}"
    if expect.get("emergency"):
        assert any(r.custom.get("emergency") for r in result.replies), (
            f"{where}: numéros d'urgence absents\n{texts}"
        )


@pytest.mark.parametrize("path", CONVERSATIONS, ids=[p.stem for p in CONVERSATIONS])
def test_conversation(path: Path, engine, kb) -> None:  # type: ignore[no-untyped-def]
    spec = load(path)
    emails, phones = known_contacts(kb)
    state = engine.new_state()
    for index, turn in enumerate(spec["turns"], 1):
        where = f"{path.name} tour {index} ({turn.get('user', 'position')!r})"
        result = run_turn(engine, state, turn)
        assert result.replies, f"{where}: aucune réponse"
        for reply in result.replies:
            assert reply.text.strip(), f"{where}: réponse vide"
            for email in EMAIL.findall(reply.text):
                assert email.lower() in emails, f"{where}: courriel hors base : {email}"
            for phone in PHONE.findall(reply.text):
                assert re.sub(r"\D", "", phone) in phones, f"{where}: téléphone hors base : {phone}"
        check_expectations(result, turn.get("expect") or {}, where)
        state = engine.new_state() if result.erase else result.state


def test_there_are_enough_conversations() -> None:
    assert len(CONVERSATIONS) >= 60, f"{len(CONVERSATIONS)} conversations (au moins 60 attendues)"

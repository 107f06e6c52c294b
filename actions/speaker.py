"""What a professional writing for someone is not told: to send the person to their own kind of place.

An agent of France Services is never told "France Services peut vous aider", nor given the nearest
France Services; a CCAS agent, the CCAS. Which kind of place the speaker works in is read from the
conversation (`workplace`: a service type of needs.yml); an agent who did not say is taken for a
France Services agent, the assistant's main professional audience.
"""

from __future__ import annotations

import re
from typing import Any

from actions.common import needs_catalogue
from knowledge.textnorm import fold

DEFAULT_WORKPLACE = {"agent": "france-service"}
_SENTENCE = re.compile(r"(?<=[.!?;])\s+")
#: a place's door lists alternatives (« CCAS de votre commune ou France Services la plus proche »),
#: then what to ask for (« , en demandant l'épicerie… »)
_ASKING = re.compile(r",\s*(?=en demandant\b)")
_ALTERNATIVE = re.compile(r"\s*(?:,\s*ou|\bou\b|,)\s+")
_BRACKETS = re.compile(r"\([^()]*\)")


def workplace(slots: dict[str, Any]) -> str | None:
    """The speaker's kind of place: only an agent has one."""
    role = slots.get("role") or ""
    if role not in DEFAULT_WORKPLACE:
        return None
    return slots.get("workplace") or DEFAULT_WORKPLACE[role]


def _kind(slots: dict[str, Any]) -> dict[str, Any]:
    """The speaker's kind of place — none when it serves one commune and the person lives in
    another (an Amiens CCAS agent may send a family of Longueau to the Longueau CCAS)."""
    place = workplace(slots)
    kind = needs_catalogue().get(place or "", {}) if place else {}
    theirs, person = slots.get("workplace_commune"), slots.get("commune")
    if kind.get("communal") and theirs and person and theirs != person:
        return {}
    return kind


def own_networks(slots: dict[str, Any]) -> set[str]:
    """The networks of the speaker's own kind of place (none for a resident)."""
    return set(_kind(slots).get("networks") or [])


#: an ambassadeur is one of the ambassadeurs de l'accès aux droits
ROLE_OWN_SCHEMES = {"ambassadeur": ("ambassadeurs-acces-aux-droits",)}


def own_schemes(slots: dict[str, Any]) -> set[str]:
    """The schemes that are the speaker's own kind of place (France Services for its agents, the
    CCAS for a CCAS agent, the ambassadeurs for an ambassadeur): never proposed to them. Only a
    workplace the agent named counts here (a mediator or a social worker may well send the person
    to France Services)."""
    said = _kind(slots) if slots.get("role") == "agent" and slots.get("workplace") else {}
    return {*(said.get("own_schemes") or []), *ROLE_OWN_SCHEMES.get(slots.get("role") or "", ())}


def names_own_door(text: str, slots: dict[str, Any]) -> bool:
    words = [fold(w) for w in _kind(slots).get("mentions") or []]
    folded = f" {fold(text)} "
    return any(f" {w} " in folded for w in words)


def without_own_door(text: str, slots: dict[str, Any]) -> str:
    """The text without its sentences that send the person to the speaker's own kind of place."""
    if not _kind(slots):
        return text
    parts = _SENTENCE.split(text)
    dropped = [names_own_door(p, slots) for p in parts]
    kept = []
    for index, part in enumerate(parts):
        if dropped[index]:
            continue
        if part.endswith(";") and (index + 1 >= len(parts) or dropped[index + 1]):
            part = part[:-1].rstrip() + "."  # « demandez à la CAF ; sinon, au CCAS. » without the CCAS
        kept.append(part)
    return " ".join(kept)


def door_without_own(door: str, slots: dict[str, Any]) -> str:
    """A place's door without the alternatives that are the speaker's own kind of place: « CCAS de
    votre commune ou France Services la plus proche, en demandant X » for a France Services agent
    is « CCAS de votre commune, en demandant X ». Unchanged when every alternative is theirs."""
    if not _kind(slots) or not names_own_door(door, slots):
        return door
    head, asking = (_ASKING.split(door, maxsplit=1) + [""])[:2]
    kept = [a for a in _alternatives(head) if not names_own_door(a, slots)]
    if not kept:
        return door
    return " ou ".join(kept) + (f", {asking}" if asking else "")


def _alternatives(text: str) -> list[str]:
    """« A, B ou C (x, y) » → [A, B, C (x, y)]: separators inside brackets do not split."""
    hidden: list[str] = []

    def hide(match: re.Match[str]) -> str:
        hidden.append(match.group())
        return f"\x00{len(hidden) - 1}\x00"

    parts = _ALTERNATIVE.split(_BRACKETS.sub(hide, text))
    restore = re.compile(r"\x00(\d+)\x00")
    return [restore.sub(lambda m: hidden[int(m.group(1))], p) for p in parts if p]

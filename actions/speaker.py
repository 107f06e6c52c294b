"""What a professional writing for someone is not told: to send the person to their own kind of place.

An agent of France Services is never told "France Services peut vous aider", nor given the nearest
France Services; a CCAS agent, the CCAS. Which kind of place the speaker works in is read from the
conversation (`workplace`: a service type of needs.yml); an agent who did not say is taken for a
France Services agent, the assistant's main professional audience.

Every step of a fiche said in a reply goes through `for_speaker`: the speaker's own kind of place is
taken out of a list of places (« demandez à la mairie, au CCAS ou à France Services »), else the
sentence goes; and for whoever writes for the person, « vous » becomes « la personne ».
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from actions.common import get_kb, is_third_person, needs_catalogue, public_fits
from bot.dialogue.responses import about_the_person
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
    """The speaker's kind of place. When it serves one commune and the person lives in another, only
    their own place by its name: an Amiens CCAS agent may send a family of Longueau to the Longueau
    CCAS, not to « le CCAS d'Amiens »."""
    place = workplace(slots)
    kind = needs_catalogue().get(place or "", {}) if place else {}
    theirs, person = slots.get("workplace_commune"), slots.get("commune")
    if kind.get("communal") and theirs and person and theirs != person:
        commune = get_kb().gazetteer.get(str(theirs))
        if commune is None:
            return {}
        return {"mentions": [f"{m} {of} {commune.nom}" for m in kind.get("mentions") or [] for of in ("de", "d'", "du")]}
    return kind


#: an ambassadeur is one of the ambassadeurs de l'accès aux droits
ROLE_OWN_SCHEMES = {"ambassadeur": ("ambassadeurs-acces-aux-droits",)}


def own_schemes(slots: dict[str, Any]) -> set[str]:
    """The schemes that are the speaker's own kind of place (France Services for its agents, the
    CCAS for a CCAS agent, the ambassadeurs for an ambassadeur): never proposed to them. An agent who
    did not say where they work is taken for a France Services agent here too, as for the doors: the
    fiche « France Services » was offered to France Services agents who had not said it (sc-086,
    sc-088, sc-089, sc-091, rounds 28-29). A scheme the agent named as their workplace
    (`workplace_schemes`: « je suis conseillère à la mission locale ») is not offered either."""
    return {*(_kind(slots).get("own_schemes") or []), *ROLE_OWN_SCHEMES.get(slots.get("role") or "", ()),
            *(slots.get("workplace_schemes") or [])}


def names_own_door(text: str, slots: dict[str, Any]) -> bool:
    return _names(text, _kind(slots).get("mentions") or [])


def own_place_check(slots: dict[str, Any]) -> Callable[[Any], bool]:
    """Whether a place is of the speaker's own kind: of its networks, or named after it in its name or
    its own address (« ccas@fresnes-sur-escaut.fr »): the France Services that a CCAS runs is the CCAS
    agent's own structure, whatever network carries it (sc-079). The kind is read once for a list."""
    kind = _kind(slots)
    networks, mentions = set(kind.get("networks") or []), kind.get("mentions") or []

    def is_own(service: Any) -> bool:
        mailbox = (service.courriel or "").split("@")[0]
        return bool(networks.intersection(service.reseaux_porteurs)) or _names(f"{service.nom} {mailbox}", mentions)

    return is_own


def _names(text: str, mentions: list[str]) -> bool:
    """The text names one of these kinds of place (their `mentions`, folded, as whole words)."""
    folded = f" {fold(text)} "
    return any(f" {fold(w)} " in folded for w in mentions)


def without_own_door(text: str, slots: dict[str, Any]) -> str:
    """The text without what sends the person to the speaker's own kind of place: the place taken
    out of a list of places (« demandez à la mairie, au CCAS ou à France Services » is « demandez à
    la mairie ou au CCAS » for a France Services agent), else the whole sentence."""
    return _without_places(text, _kind(slots).get("mentions") or [], drop=True)


def not_for_the_person(slots: dict[str, Any]) -> list[str]:
    """How texts name the kinds of place whose public the known facts rule the person out of
    (needs.yml `publics`): the mission locale for a man of 45."""
    return [m for kind in needs_catalogue().values() if kind.get("publics") and kind.get("mentions")
            and not public_fits(kind["publics"], slots) for m in kind["mentions"]]


def _without_places(text: str, mentions: list[str], drop: bool) -> str:
    """The text without the places it names among `mentions`: taken out of a list of places, else
    (`drop`) the whole sentence, or the sentence kept as it stands."""
    if not mentions:
        return text
    # « (mairie, France Services, site des missions locales) »: the list in brackets first
    text = _BRACKETS.sub(lambda m: _without_in_brackets(m.group(), mentions), text)
    parts = _SENTENCE.split(text)
    parts = [p if not _names(p, mentions) else
             _without_alternative(p, mentions, capital=index == 0 or not parts[index - 1].endswith(";"))
             for index, p in enumerate(parts)]
    dropped = [drop and _names(p, mentions) for p in parts]
    kept = []
    for index, part in enumerate(parts):
        if dropped[index]:
            continue
        if part.endswith(";") and (index + 1 >= len(parts) or dropped[index + 1]):
            part = part[:-1].rstrip() + "."  # « demandez à la CAF ; sinon, au CCAS. » without the CCAS
        kept.append(part)
    out = " ".join(kept)
    # « … ; beaucoup tiennent des permanences » when the clause before it went
    return out[:1].upper() + out[1:] if text[:1].isupper() else out


def _without_in_brackets(brackets: str, mentions: list[str]) -> str:
    """« (mairie, France Services, site des missions locales) » without the places named, when each
    is one item of the list; unchanged otherwise."""
    if not _names(brackets, mentions):
        return brackets
    items = [i.strip() for i in brackets[1:-1].split(",")]
    kept = [i for i in items if not _names(i, mentions)]
    if len(items) < 2 or not kept or not all(_LIST_ITEM.match(i) for i in items if _names(i, mentions)):
        return brackets
    return "(" + ", ".join(kept) + ")"


#: a place in a list of places: a few words (« France Services », « au CCAS de votre commune »)
_PLACE_ARTICLE = r"(?:à|au|aux|auprès de|le|la|les|l'|un|une|votre|vos|son|sa|ses|des|du|de)\b\s*"
_LIST_ITEM = re.compile(rf"^(?:{_PLACE_ARTICLE}(?:\S+\s*){{1,4}}|(?:\S+\s*){{1,3}})$", re.IGNORECASE)
_PLACE_HEAD = re.compile(rf"^{_PLACE_ARTICLE}", re.IGNORECASE)


def _named_head(item: str, mentions: list[str]) -> str | None:
    """What follows a place named at the head of a list's last item (« à France Services où trouver
    un conseiller » → « où trouver un conseiller »), or None."""
    names = "|".join(re.escape(m) for m in mentions)
    head = re.match(rf"^(?:{_PLACE_ARTICLE})?(?:la |une )?(?:maison )?(?:{names})\b(.*)$", item.strip(), re.IGNORECASE)
    return head.group(1) if head and names and not _names(head.group(1), mentions) else None


def _without_alternative(sentence: str, mentions: list[str], capital: bool = True) -> str:
    """The sentence without the items of its list of places named in `mentions`, when they are short
    list items and something is left; else the sentence unchanged."""
    body = sentence.rstrip()
    end = body[-1] if body and body[-1] in ".;!" else ""
    items = _alternatives(body[: len(body) - len(end)] if end else body)
    named = [_names(item, mentions) for item in items]
    if len(items) < 2 or all(named):
        return sentence
    tail = ""
    if named[-1] and not _LIST_ITEM.match(items[-1].strip()) and (rest := _named_head(items[-1], mentions)) is not None:
        tail, items, named = rest, items[:-1], named[:-1]  # « … ou à France Services où trouver… »
    # a list of places: every item after the first (which holds the verb) is a few words, the last
    # one kept may go on (« …, à la mission locale ou à votre référent RSA de vous orienter… ») —
    # not « …ou au CCAS, qui peuvent monter le dossier » (sc-090, round 23)
    middle_ok = all(_LIST_ITEM.match(i.strip()) for i in items[1:-1])
    last = items[-1].strip()
    last_ok = bool(_LIST_ITEM.match(last)) or (not named[-1] and bool(_PLACE_HEAD.match(last)))
    if len(items) > 1 and not (middle_ok and last_ok) or (named[0] and not _LIST_ITEM.match(items[0].strip())):
        return sentence
    kept = [item for item, gone in zip(items, named, strict=True) if not gone]
    joined = (kept[0] if len(kept) == 1 else ", ".join(kept[:-1]) + " ou " + kept[-1]) + tail
    first = joined[:1].upper() if capital and sentence[:1].isupper() else joined[:1]
    return first + joined[1:] + end


def for_speaker(text: str, slots: dict[str, Any]) -> str:
    """A fiche's text as said to whoever writes: without sending an agent to their own kind of place,
    nor the person to a kind of place that is not for them (a mission locale at 45), and about « la
    personne » when someone writes for her."""
    text = _without_places(without_own_door(text, slots), not_for_the_person(slots), drop=False)
    return about_the_person(text) if text and is_third_person(slots) else text


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

"""Whom a message is about: the speaker, or someone they describe (bot/nlu/person.yml).

An agent or an ambassadeur writes "une dame de 52 ans, elle habite à Lens": the facts are the
person's, and replies speak of "la personne". The speaker's workplace ("je travaille au CCAS
d'Amiens") is not the person's commune. Cue phrases are data; this module only reads them.

spaCy's parser was measured for this (fr_core_news_md, p50 24 ms per message, load 12 on 2 cores;
the morphologizer alone 2 ms): the person of a subject pronoun is a closed class, so the cues do.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from knowledge.facts import SITUATION_WORDS
from knowledge.textnorm import fold, fold_same_length
from knowledge.yamlio import load_yaml

PERSON_PATH = Path(__file__).with_name("person.yml")
_CLAUSE = re.compile(r"[.;!?\n]|,|\bmais\b|\bet (?=elle|il|la personne|cette personne)")


def _phrases(phrases: list[str]) -> re.Pattern[str]:
    """One pattern matching any of the phrases as whole words, longest first."""
    folded = sorted({fold(p) for p in phrases}, key=len, reverse=True)
    return re.compile(r"\b(?:" + "|".join(re.escape(p) for p in folded) + r")\b")


@lru_cache(maxsize=1)
def _person_data() -> dict[str, Any]:
    """bot/nlu/person.yml, read once."""
    return dict(load_yaml(PERSON_PATH.read_text(encoding="utf-8")))


@lru_cache(maxsize=1)
def _patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """(third-person cues, workplace cues) from person.yml."""
    data = _person_data()
    return _phrases(data["third_person"]), _phrases(data["workplace"])


def speaks_of_someone_else(text: str) -> bool:
    """ "une dame de 52 ans", "elle habite à Lens", "son fils de 4 ans", "je reçois un usager"."""
    third, _ = _patterns()
    return bool(third.search(fold(text)))


def clause_at(text: str, start: int) -> str:
    """The clause of `text` that contains the character at `start` (commas and full stops split)."""
    begin, end = clause_span(text, start)
    return text[begin:end]


def clause_span(text: str, start: int) -> tuple[int, int]:
    """Where the clause that contains the character at `start` begins and ends."""
    begin = 0
    for match in _CLAUSE.finditer(text):
        if match.end() <= start:
            begin = match.end()
        elif match.start() >= start:
            return begin, match.start()
    return begin, len(text)


#: how far before a commune a cue of `elsewhere` counts (« chez le cardiologue à Amiens »)
ELSEWHERE_WINDOW = 45


@lru_cache(maxsize=1)
def _place_cues() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """(elsewhere cues, home cues) from person.yml."""
    data = _person_data()
    return _phrases(data["elsewhere"]), _phrases(data["home"])


def is_elsewhere(text: str, start: int) -> bool:
    """Whether a commune named at `start` is where the person goes, not where they live: a cue of
    `elsewhere` just before it, with no home cue after that cue."""
    elsewhere, home = _place_cues()
    window = fold(text[max(0, start - ELSEWHERE_WINDOW) : start])
    cues = list(elsewhere.finditer(window))
    return bool(cues) and not home.search(window[cues[-1].end():])


def is_workplace(text: str, start: int) -> bool:
    """Whether a place named at `start` is where the speaker works ("je travaille au CCAS d'Amiens",
    « agente FS de Lumbres »), not where the person lives: a workplace cue in its clause, and no home
    cue between that cue and the place (« … une dame qui habite à Moislains »: her home)."""
    _, workplace = _patterns()
    return _cued_in_clause(text, start, workplace)


@lru_cache(maxsize=1)
def _outreach_cues() -> re.Pattern[str]:
    return _phrases(_person_data()["outreach_place"])


def is_outreach_place(text: str, start: int) -> bool:
    """Whether a commune named at `start` is where the speaker meets the person (« je suis sur le marché
    de Péronne avec une dame »): likely her commune, not surely (person.yml `outreach_place`)."""
    return _cued_in_clause(text, start, _outreach_cues())


def _cued_in_clause(text: str, start: int, cue: re.Pattern[str]) -> bool:
    """A cue in the clause of the place at `start`, and no home cue between the last cue before the place
    and the place (« j'habite à Lens, au marché de Lens » : Lens is the home)."""
    _, home = _place_cues()
    begin, end = clause_span(text, start)
    if not cue.search(fold(text[begin:end])):
        return False
    before = fold(text[begin:start])
    cues = list(cue.finditer(before))
    return not home.search(before[cues[-1].end():] if cues else before)


@lru_cache(maxsize=1)
def _work_words() -> re.Pattern[str]:
    return _phrases(SITUATION_WORDS["salarie"])


def works_only_as_speaker(text: str) -> bool:
    """Whether the only work the message says is the speaker's own (« je travaille au CCAS
    d'Hazebrouck, une famille me demande… »): not a wage of the person concerned."""
    _, workplace = _patterns()
    folded = fold(text)
    return bool(workplace.search(folded)) and not _work_words().search(workplace.sub(" ", folded))


@lru_cache(maxsize=1)
def _sex_cues() -> dict[str, dict[str, re.Pattern[str]]]:
    """{"self"|"other": {"femme"|"homme": pattern}} from person.yml `sex`."""
    data = _person_data()["sex"]
    return {whose: {sex: _phrases(cues) for sex, cues in groups.items()} for whose, groups in data.items()}


def sex_of_person(text: str, about_someone_else: bool) -> str | None:
    """ "femme" or "homme" when the words say which the person concerned is, else None (person.yml
    `sex`): the speaker's words about themself, or, when the message is about someone else, the
    words about that person. Cues for both say nothing."""
    folded = fold(text)
    cues = _sex_cues()
    for whose in ("self", "other") if about_someone_else else ("self",):
        found = {sex for sex, pattern in cues[whose].items() if pattern.search(folded)}
        if len(found) == 1:
            return found.pop()
        if found:
            return None
    return None


@lru_cache(maxsize=1)
def _writing_for() -> re.Pattern[str]:
    return _phrases(_person_data()["writing_for"])


def writes_for_someone(text: str) -> bool:
    """ "pour mon pote", "mon petit-fils de 16 ans": the writer says they write for someone else."""
    return bool(_writing_for().search(fold(text)))


#: greetings before a role said at the message's start (« Bonjour, ambassadrice à Fourmies… »)
_GREETING = re.compile(r"^(?:(?:bonjour|bonsoir|bjr|slt|salut|hello|hi|coucou|madame|monsieur)\W*)*")


@lru_cache(maxsize=1)
def _declared_roles() -> list[tuple[str, re.Pattern[str], re.Pattern[str] | None]]:
    """(role, phrases anywhere, phrases at the start) from person.yml `declared_roles`."""
    out = []
    for role, phrases in (_person_data().get("declared_roles") or {}).items():
        anywhere = [p for p in phrases if not p.startswith("^")]
        start = [p[1:] for p in phrases if p.startswith("^")]
        out.append((role, _phrases(anywhere), re.compile(r"^" + _phrases(start).pattern) if start else None))
    return out


def declared_role(text: str) -> str | None:
    """The role the writer says they have (person.yml `declared_roles`): « je suis ambassadrice »,
    « Agent d'accueil mairie : … »; the first said when two are. None when the writer says none."""
    folded = fold(text)
    opening = _GREETING.sub("", folded.strip())
    found = []
    for role, anywhere, start in _declared_roles():
        where = [m.start() for m in anywhere.finditer(folded)]
        if start is not None and start.search(opening):
            where.append(0)
        if where:
            found.append((min(where), role))
    return min(found)[1] if found else None


@lru_cache(maxsize=1)
def _own_home() -> re.Pattern[str]:
    return _phrases(_person_data()["own_home"])


def speaks_of_own_home(text: str) -> bool:
    """ "mon appart", "je suis seule avec ma fille": the writer's own home or family life."""
    return bool(_own_home().search(fold(text)))


@lru_cache(maxsize=1)
def _own_child() -> re.Pattern[str]:
    return _phrases(list(_person_data().get("own_child") or []))


def own_child_clauses(text: str) -> list[str]:
    """The clauses that name the writer's own child (person.yml `own_child`): « ma fille de 12 ans
    est handicapée », "my son is disabled"."""
    return [c for c in _CLAUSE.split(text) if _own_child().search(fold(c))]


_CLAUSE_END = re.compile(r"[,;.!?:\n]")


@lru_cache(maxsize=1)
def _hypothesis_cue() -> re.Pattern[str]:
    return _phrases([*(_person_data().get("hypotheses") or []), *(_person_data().get("descriptions") or [])])


def without_hypotheses(text: str) -> str:
    """The message without its conditional clauses (person.yml `hypotheses`) and those describing a
    place or a scheme (`descriptions`): « et s'il est à la rue, il peut aller où ? » says nothing of his
    housing, « un atelier où on est salarié » nothing of his work; « je suis locataire si ça compte »
    does. A clause runs from its cue to the next punctuation mark (or the end)."""
    same = fold_same_length(text)
    kept, at = [], 0
    for cue in _hypothesis_cue().finditer(same):
        if cue.start() < at:
            continue
        end = _CLAUSE_END.search(text, cue.end())
        kept.append(text[at:cue.start()])
        at = end.start() if end else len(text)
    kept.append(text[at:])
    return "".join(kept)

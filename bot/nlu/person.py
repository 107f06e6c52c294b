"""Whom a message is about: the speaker, or someone they describe (bot/nlu/person.yml).

An agent or an ambassadeur writes "une dame de 52 ans, elle habite à Lens": the facts are the
person's, and replies speak of "la personne". The speaker's workplace ("je travaille au CCAS
d'Amiens") is not the person's commune. Cue phrases are data; this module only reads them.

spaCy's parser was measured for this (fr_core_news_md, p50 24 ms per message on this machine,
over the 20 ms turn budget); the person of a subject pronoun is a closed class, so the cues do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from knowledge.textnorm import fold

PERSON_PATH = Path(__file__).with_name("person.yml")
_CLAUSE = re.compile(r"[.;!?\n]|,|\bmais\b|\bet (?=elle|il|la personne|cette personne)")


@dataclass(frozen=True)
class PersonCues:
    third_person: tuple[str, ...]
    workplace: tuple[str, ...]

    def _phrase_re(self, phrases: tuple[str, ...]) -> re.Pattern[str]:
        return re.compile(r"\b(?:" + "|".join(re.escape(fold(p)) for p in sorted(phrases, key=len, reverse=True)) + r")\b")


@lru_cache(maxsize=1)
def _patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    data = yaml.safe_load(PERSON_PATH.read_text(encoding="utf-8"))
    cues = PersonCues(tuple(data["third_person"]), tuple(data["workplace"]))
    return cues._phrase_re(cues.third_person), cues._phrase_re(cues.workplace)


def speaks_of_someone_else(text: str) -> bool:
    """ "une dame de 52 ans", "elle habite à Lens", "son fils de 4 ans", "je reçois un usager"."""
    third, _ = _patterns()
    return bool(third.search(fold(text.replace("'", " ").replace("’", " "))))


def clause_at(text: str, start: int) -> str:
    """The clause of `text` that contains the character at `start` (commas and full stops split)."""
    begin = 0
    for match in _CLAUSE.finditer(text):
        if match.end() <= start:
            begin = match.end()
        elif match.start() >= start:
            return text[begin : match.start()]
    return text[begin:]


def is_workplace(text: str, start: int) -> bool:
    """Whether a place named at `start` is where the speaker works ("je travaille au CCAS d'Amiens")."""
    _, workplace = _patterns()
    clause = clause_at(text, start)
    return bool(workplace.search(fold(clause.replace("'", " ").replace("’", " "))))

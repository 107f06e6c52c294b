"""Load the assistant's texts (responses.yml, English in responses.en.yml) and fill their placeholders.

The language of the replies is a context variable set once per turn (`set_language`, called by
bot/dialogue/turn_start.py): `say()` and `label()` read it, so their callers do not change. A key
with no English version falls back to French.
"""

from __future__ import annotations

import itertools
import re
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path
from typing import Any

from knowledge.yamlio import load_yaml

RESPONSES_PATH = Path(__file__).with_name("responses.yml")
RESPONSES_PATHS = {"fr": RESPONSES_PATH, "en": Path(__file__).with_name("responses.en.yml")}
LANGUAGES = tuple(RESPONSES_PATHS)
_counter = itertools.count()
_language: ContextVar[str] = ContextVar("aiguillage_reply_language", default="fr")


def set_language(lang: str) -> None:
    """The language of the replies of this turn ("fr" or "en"; anything else is French)."""
    _language.set(lang if lang in RESPONSES_PATHS else "fr")


def current_language() -> str:
    return _language.get()


@lru_cache(maxsize=len(RESPONSES_PATHS))
def _load(lang: str) -> dict[str, Any]:
    return load_yaml(RESPONSES_PATHS[lang].read_text(encoding="utf-8")) or {}


def responses(lang: str | None = None) -> dict[str, Any]:
    """The texts in `lang` (default: the turn's language), French for keys not translated."""
    lang = lang or current_language()
    if lang == "fr":
        return _load("fr")
    return {**_load("fr"), **_load(lang)}


def localized(item: Any, field: str) -> str:
    """A content field in the turn's language: `summary_en` for English when the item has one."""
    french = str(getattr(item, field))
    if current_language() == "fr":
        return french
    return str(getattr(item, f"{field}_{current_language()}", None) or french)


def localized_list(item: Any, field: str) -> list[str]:
    """A list field in the turn's language (`steps_en` for English when it is there, item for item)."""
    french = list(getattr(item, field) or [])
    if current_language() == "fr":
        return french
    translated = getattr(item, f"{field}_{current_language()}", None)
    return list(translated) if translated and len(translated) == len(french) else french


def de(name: str) -> str:
    """French "de" before a place name: "d'Arras", "du Touquet", "des Mureaux", "de Lens"."""
    from knowledge.textnorm import strip_accents

    if name.startswith("Le "):
        return "du " + name[3:]
    if name.startswith("Les "):
        return "des " + name[4:]
    if strip_accents(name[:1]).lower() in "aeiouyh":
        return "d'" + name
    return "de " + name


def say(key: str, variant: int | None = None, **values: Any) -> str:
    """The text for `key` with {placeholders} filled; variants rotate unless `variant` is given."""
    if "commune" in values and "de_commune" not in values:
        values["de_commune"] = de(str(values["commune"]))
    entry = responses()[key]
    if isinstance(entry, list):
        index = variant if variant is not None else next(_counter)
        entry = entry[index % len(entry)] if variant is not None or len(entry) > 1 else entry[0]
    return str(entry).format(**values).strip()


def say_about(key: str, third_person: bool, **values: Any) -> str:
    """`key`, or its `<key>_other` wording when someone writes for the person concerned (« près de
    chez elle » for an agent, « près de chez vous » for the person)."""
    other = f"{key}_other"
    return say(other if third_person and other in responses() else key, **values)


def say_all(key: str, **values: Any) -> list[str]:
    """Every variant of `key` (for multi-part messages such as `help`)."""
    return [str(t).format(**values).strip() for t in responses()[key]]


def need_title(need_id: str, french: str) -> str:
    """A need's button title in the turn's language (`need_buttons` in responses.en.yml)."""
    if current_language() == "fr":
        return french
    return str((_load(current_language()).get("need_buttons") or {}).get(need_id, french))


def label(group: str, key: str) -> str:
    texts = responses()
    return str(texts[group].get(key, _load("fr")[group][key]))


def about_the_person(text: str) -> str:
    """A sentence written to « vous » said about the person concerned (`third_person_rewrites`):
    « Vous êtes au RSA » → « La personne est au RSA » at the start, « elle est » elsewhere."""
    for pattern, after in _third_person_rewrites():
        text = pattern.sub(lambda m, a=after: _same_case(m, a), text)
    return text


@lru_cache(maxsize=1)
def _third_person_rewrites() -> list[tuple[re.Pattern[str], str]]:
    pairs = _load("fr").get("third_person_rewrites") or []
    return [(re.compile(rf"\b{re.escape(before)}\b", re.IGNORECASE), after) for before, after in pairs]


def _same_case(match: re.Match[str], after: str) -> str:
    """The rewrite in the case of what it replaces; at the start of a sentence or clause, « elle »
    has nothing to refer to yet and is « la personne » (« D'après ce que je sais : la personne
    pourrait y avoir droit », not « elle », said of a young man: sc-080, round 32)."""
    opens = match.start() == 0 or match.string[max(0, match.start() - 2) : match.start()].strip() in {".", ";", ":"}
    upper = match.group()[0].isupper()
    if opens and after.startswith("elle"):
        return ("La personne" if upper else "la personne") + after[4:]
    return after[0].upper() + after[1:] if upper else after

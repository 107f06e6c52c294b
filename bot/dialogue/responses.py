"""Load the assistant's texts (responses.yml) and fill their placeholders."""

from __future__ import annotations

import itertools
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

RESPONSES_PATH = Path(__file__).with_name("responses.yml")
_counter = itertools.count()


@lru_cache(maxsize=1)
def responses() -> dict[str, Any]:
    return yaml.safe_load(RESPONSES_PATH.read_text(encoding="utf-8"))


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


def say_all(key: str, **values: Any) -> list[str]:
    """Every variant of `key` (for multi-part messages such as `help`)."""
    return [str(t).format(**values).strip() for t in responses()[key]]


def label(group: str, key: str) -> str:
    return str(responses()[group][key])

"""Aids people name that the knowledge base does not cover yet (knowledge/content/uncovered.yml).

The assistant says it does not know them yet, then gives the doors of the topic's need: an honest
« je ne connais pas encore la pension de réversion » instead of the ASPA shown as if it answered.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from knowledge.content import CONTENT_DIR
from knowledge.textnorm import fold
from knowledge.yamlio import load_yaml

UNCOVERED_PATH = CONTENT_DIR / "uncovered.yml"
_WORDS = re.compile(r"\w+")


@dataclass(frozen=True)
class UncoveredTopic:
    id: str
    name: str
    name_en: str
    aliases: tuple[str, ...]
    need: str
    doors: tuple[str, ...] = ()
    #: where to ask, as an official page says it word for word: {"quote", "url", "site", "verified"}
    where: dict[str, str] | None = None
    #: said too when the writer's own child is the one with this need (« ma fille de 12 ans est handicapée »)
    for_own_child: bool = False


def load_topics(path: Path = UNCOVERED_PATH) -> list[UncoveredTopic]:
    data = load_yaml(path.read_text(encoding="utf-8")) if path.exists() else None
    return [
        UncoveredTopic(id=str(t["id"]), name=str(t["name"]), name_en=str(t.get("name_en") or t["name"]),
                       aliases=tuple(fold(str(a)) for a in t.get("aliases") or []), need=str(t["need"]),
                       doors=tuple(str(d) for d in t.get("doors") or []),
                       where={k: str(v) for k, v in t["where"].items()} if t.get("where") else None,
                       for_own_child=bool(t.get("for_own_child")))
        for t in (data or {}).get("topics") or []
    ]


@lru_cache(maxsize=1)
def topics() -> dict[str, UncoveredTopic]:
    return {t.id: t for t in load_topics()}


def named_topics(text: str) -> list[str]:
    """The uncovered topics a message names (whole folded phrases), in the order of the file."""
    padded = f" {' '.join(_WORDS.findall(fold(text)))} "
    return [t.id for t in topics().values() if any(f" {alias} " in padded for alias in t.aliases)]


def for_own_child(needs: Iterable[str]) -> list[str]:
    """The uncovered topics about a child with one of these needs (`for_own_child`): the AEEH for a
    disabled child, whom the AAH (adults) does not concern."""
    wanted = set(needs)
    return [t.id for t in topics().values() if t.for_own_child and t.need in wanted]

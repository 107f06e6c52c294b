"""Read NLU training data in the Rasa 3.x YAML format (data/nlu/*.yml)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from knowledge.yamlio import load_yaml

DEFAULT_DATA_DIR = Path(__file__).resolve().parents[2] / "data" / "nlu"
_ENTITY_MARKUP = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")


@dataclass(frozen=True)
class Example:
    text: str
    intent: str


def strip_entity_markup(text: str) -> str:
    """ "j'habite à [Arras](commune)" -> "j'habite à Arras"."""
    return _ENTITY_MARKUP.sub(r"\1", text)


def read_nlu_file(path: Path) -> list[Example]:
    data = load_yaml(path.read_text(encoding="utf-8")) or {}
    examples: list[Example] = []
    for block in data.get("nlu") or []:
        intent = block.get("intent")
        if not intent:
            continue  # synonyms, lookups, regexes
        raw = block.get("examples") or ""
        for line in raw.splitlines():
            line = line.strip()
            if line.startswith("- "):
                text = strip_entity_markup(line[2:].strip())
                if text:
                    examples.append(Example(text, intent))
    return examples


def load_examples(path: Path | str | None = None) -> list[Example]:
    """All examples from a file or a folder of Rasa NLU YAML files, duplicates removed."""
    path = Path(path) if path else DEFAULT_DATA_DIR
    files = sorted(path.glob("**/*.yml")) if path.is_dir() else [path]
    seen: set[tuple[str, str]] = set()
    out: list[Example] = []
    for file in files:
        for example in read_nlu_file(file):
            key = (example.text.lower(), example.intent)
            if key not in seen:
                seen.add(key)
                out.append(example)
    if not out:
        raise FileNotFoundError(f"aucun exemple NLU trouvé dans {path}")
    return out

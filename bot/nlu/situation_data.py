"""Labelled situations (data/situations/*.yml) and what the content says, as training examples.

A situation example says what a message is about: its needs and schemes (multi-label), who is
speaking (`role`) and what kind of answer is asked (`asks`). Besides the labelled descriptions,
every scheme's name, aliases, summary and description and every need's label and keywords
become examples, so content editors extend the reader by editing the knowledge base.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from knowledge.content import CONTENT_DIR
from knowledge.yamlio import load_yaml

log = logging.getLogger(__name__)

DEFAULT_SITUATIONS_DIR = Path(__file__).resolve().parents[2] / "data" / "situations"
#: situations in English read by the English reader only: beside the French examples of the one
#: reader, they moved French readings (held-out set: irrelevant 16.0 -> 17.5 %)
ENGLISH_SITUATIONS_DIR = DEFAULT_SITUATIONS_DIR.with_name("situations_en")
#: turns of these intents (data/nlu/) are about no need and no scheme: a greeting, "je ne sais pas",
#: a commune, an age, an income given in answer to a question. They teach the reader what an answer
#: that brings nothing new looks like, so that "Liévin" or "jsp" read as no need at all.
EMPTY_INTENTS = ("greet", "goodbye", "thanks", "affirm", "deny", "dont_know", "ask_why", "erase_data",
                 "ask_human", "give_age", "give_location", "give_income", "out_of_scope")
ROLES = ("self", "relative", "agent", "ambassadeur")
ASKS = ("orientation", "info", "conditions", "where", "contact", "how", "documents", "amount", "summary")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class SituationExample:
    text: str
    needs: tuple[str, ...] = ()
    schemes: tuple[str, ...] = ()
    #: None when the example says nothing about the speaker or the question (content texts)
    role: str | None = None
    asks: str | None = None
    lang: str = "fr"
    origin: str = "data"


@dataclass
class Vocabulary:
    """The label ids the knowledge base knows: labels outside it are dropped with a warning."""

    needs: set[str]
    schemes: set[str]
    dropped: dict[str, int] = field(default_factory=dict)

    def keep(self, kind: str, ids: Iterable[Any]) -> tuple[str, ...]:
        known = self.needs if kind == "needs" else self.schemes
        kept = []
        for ident in ids or ():
            ident = str(ident)
            if ident in known:
                kept.append(ident)
            else:
                self.dropped[ident] = self.dropped.get(ident, 0) + 1
        return tuple(dict.fromkeys(kept))


def load_content() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(needs, schemes) as plain dicts, read from the YAML content."""
    needs = load_yaml((CONTENT_DIR / "needs.yml").read_text(encoding="utf-8"))["needs"]
    schemes = [
        load_yaml(path.read_text(encoding="utf-8"))
        for path in sorted((CONTENT_DIR / "schemes").glob("*.yml"))
    ]
    return needs, schemes


def vocabulary() -> Vocabulary:
    needs, schemes = load_content()
    return Vocabulary({n["id"] for n in needs}, {s["id"] for s in schemes})


def read_situation_file(path: Path, vocab: Vocabulary) -> list[SituationExample]:
    data = load_yaml(path.read_text(encoding="utf-8")) or {}
    out = []
    for item in data.get("situations") or []:
        text = str(item.get("text") or "").strip()
        if not text:
            continue
        role = item.get("role") or "self"
        asks = item.get("asks") or "orientation"
        out.append(
            SituationExample(
                text=text,
                needs=vocab.keep("needs", item.get("needs")),
                schemes=vocab.keep("schemes", item.get("schemes")),
                role=role if role in ROLES else "self",
                asks=asks if asks in ASKS else "orientation",
                lang=str(item.get("lang") or "fr"),
                origin=path.name,
            )
        )
    return out


def content_examples(vocab: Vocabulary) -> list[SituationExample]:
    """What the knowledge base itself says about each need and scheme."""
    needs, schemes = load_content()
    need_of: dict[str, list[str]] = {}
    for need in needs:
        for scheme_id in need.get("schemes") or []:
            need_of.setdefault(scheme_id, []).append(need["id"])
    out: list[SituationExample] = []
    for need in needs:
        for text in [need.get("label", ""), *[str(k) for k in need.get("keywords") or []]]:
            if text.strip():
                out.append(SituationExample(text, needs=(need["id"],), origin="needs.yml"))
    for scheme in schemes:
        owners = need_of.get(scheme["id"], [])
        scheme_needs = vocab.keep("needs", owners) if len(owners) <= 2 else ()
        texts = [scheme["name"], *[str(a) for a in scheme.get("aliases") or []]]
        texts += [str(s) for s in scheme.get("situations") or []]
        texts += [str(scheme.get("summary") or ""), str(scheme.get("summary_en") or "")]
        texts += [s for s in _SENTENCE_END.split(str(scheme.get("description") or "")) if len(s) > 30][:4]
        for text in texts:
            if text.strip():
                out.append(
                    SituationExample(text.strip(), needs=scheme_needs, schemes=(scheme["id"],), origin="schemes")
                )
    return out


def empty_examples() -> list[SituationExample]:
    """The intent examples that carry no need and no scheme (EMPTY_INTENTS), labelled as such."""
    from bot.nlu.data import load_examples

    return [SituationExample(e.text, origin="nlu") for e in load_examples() if e.intent in EMPTY_INTENTS]


def _files(paths: Path | Sequence[Path] | None) -> list[Path]:
    """The YAML files of these files or folders, in the order of their names."""
    folders = [Path(p) for p in ([paths] if isinstance(paths, (str, Path)) else paths or [DEFAULT_SITUATIONS_DIR])]
    found = [f for p in folders for f in (sorted(p.glob("**/*.yml")) if p.is_dir() else [p])]
    return sorted(found, key=lambda f: (f.name, str(f)))


def load_situations(path: Path | Sequence[Path] | None = None, with_content: bool = True) -> list[SituationExample]:
    """Labelled situations from files or folders, plus the content's own texts and the intent
    examples that are about nothing (`with_content`)."""
    vocab = vocabulary()
    files = _files(path)
    examples: list[SituationExample] = []
    for file in files:
        examples += read_situation_file(file, vocab)
    if with_content:
        examples += content_examples(vocab) + empty_examples()
    if vocab.dropped:
        log.warning("labels absent from the knowledge base, ignored: %s", sorted(vocab.dropped))
    seen: set[str] = set()
    unique = []
    for example in examples:
        key = example.text.lower()
        if key not in seen:
            seen.add(key)
            unique.append(example)
    return unique


def sources_fingerprint(path: Path | Sequence[Path] | None = None, version: int = 0) -> str:
    """A digest of the files the reader learns from (its data and the content), read as bytes:
    checking that a saved reader is up to date costs no YAML parsing at start-up."""
    data = _files(path)
    from bot.nlu.data import DEFAULT_DATA_DIR

    content = [CONTENT_DIR / "needs.yml", *sorted((CONTENT_DIR / "schemes").glob("*.yml")),
               *sorted(DEFAULT_DATA_DIR.glob("*.yml"))]
    digest = hashlib.sha256(f"v{version}".encode())
    for file in [*data, *content]:
        digest.update(file.name.encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()[:16]

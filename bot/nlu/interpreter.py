"""The NLU facade: text -> {"intent", "entities", "language"} (Rasa's parse shape).

Button payloads in Rasa's syntax (`/inform{"situation": "salarie"}`) bypass the classifier.
The trained model is cached on disk and retrained automatically when data/nlu/ changes.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.nlu.classifier import FALLBACK_INTENT, IntentClassifier, data_fingerprint
from bot.nlu.data import DEFAULT_DATA_DIR, load_examples
from bot.nlu.entities import Entity, EntityExtractor, detect_language
from bot.nlu.model_file import load_or_train
from bot.nlu.payload import parse_payload, vocabulary_for
from bot.nlu.situation import Situation, SituationReader, load_readers, reader_file_name, train_reader
from knowledge.db import data_dir
from knowledge.kb import KnowledgeBase

log = logging.getLogger(__name__)
_PAYLOAD = re.compile(r"^/(\w+)(\{.*\})?\s*$", re.S)


def default_model_path() -> Path:
    return Path(os.environ.get("AIGUILLAGE_NLU_MODEL") or data_dir() / "models" / "nlu.joblib")


@dataclass
class ParseResult:
    text: str
    intent: str
    confidence: float
    entities: list[Entity] = field(default_factory=list)
    language: str = "fr"
    ranking: list[tuple[str, float]] = field(default_factory=list)
    #: what the message is about (needs, schemes, speaker, question); None for button payloads
    situation: Situation | None = None

    def values(self, name: str) -> list[Any]:
        return [e.value for e in self.entities if e.entity == name]

    def first(self, name: str) -> Any:
        values = self.values(name)
        return values[0] if values else None

    def to_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "intent": {"name": self.intent, "confidence": round(self.confidence, 4)},
            "intent_ranking": [{"name": n, "confidence": round(c, 4)} for n, c in self.ranking],
            "entities": [e.to_json() for e in self.entities if e.entity != "language"],
            "language": self.language,
            "situation": (self.situation or Situation()).to_json(),
        }


def train_and_save(
    data: Path | None = None, out: Path | None = None, progress: bool = False
) -> IntentClassifier:
    from tqdm import tqdm

    examples = load_examples(data or DEFAULT_DATA_DIR)
    bar = tqdm(total=4, desc="NLU", disable=not progress, file=sys.stderr)

    def step(message: str) -> None:
        bar.set_postfix_str(message)
        bar.update(1)

    classifier = IntentClassifier.train(examples, progress=step)
    out = out or default_model_path()
    classifier.save(out)
    step("lecteur de situations")
    train_reader(out=out.with_name(reader_file_name("fr")))
    step("lecteur de situations en anglais")
    train_reader(out=out.with_name(reader_file_name("en")), language="en")
    bar.close()
    return classifier


def load_classifier(path: Path | None = None, auto_train: bool = True) -> IntentClassifier:
    """The saved model, retrained first if missing or if the training data changed."""
    path = path or default_model_path()
    return load_or_train(
        path, IntentClassifier.load, data_fingerprint(load_examples(DEFAULT_DATA_DIR)),
        lambda: train_and_save(out=path), auto_train, "modèle NLU",
        "Entraînement du modèle de langage (première utilisation, deux minutes environ)…",
    )


class Interpreter:
    def __init__(self, kb: KnowledgeBase, classifier: IntentClassifier, reader: SituationReader,
                 readers: dict[str, SituationReader] | None = None) -> None:
        """`reader` reads French (and any language without its own reader); `readers`, others by
        language (the English reader, which learns from the English situations too)."""
        self.kb = kb
        self.classifier = classifier
        self.reader = reader
        self.readers = {**(readers or {}), "fr": reader}
        self.extractor = EntityExtractor(kb)
        self.payload_vocabulary = vocabulary_for(kb, self.extractor)

    @classmethod
    def load(cls, kb: KnowledgeBase | None = None, model_path: Path | None = None) -> Interpreter:
        classifier = load_classifier(model_path)
        readers = load_readers(model_path.parent if model_path else None)
        return cls(kb or KnowledgeBase.load(), classifier, readers["fr"], readers)

    def parse(self, text: str) -> ParseResult:
        return self.parse_many([text])[0]

    def parse_many(self, texts: list[str]) -> list[ParseResult]:
        results: list[ParseResult | None] = [None] * len(texts)
        to_classify: list[int] = []
        for index, text in enumerate(texts):
            payload = _PAYLOAD.match(text.strip()) if text else None
            if payload:
                results[index] = self._parse_payload(text, payload)
            elif not text or not re.search(r"\w", text):
                results[index] = ParseResult(
                    text or "", FALLBACK_INTENT, 0.0, [], detect_language(text or "")
                )
            else:
                to_classify.append(index)
        batch = [texts[i] for i in to_classify]
        predictions = self.classifier.predict_many(batch) if batch else []
        found = [self.extractor.extract(text) for text in batch]
        # a commune's name says where, not what: « montreuil » pulled the reading towards the
        # examples written in Montreuil (93) and « pas de taf » fell under its threshold
        languages = [next((e.value for e in entities if e.entity == "language"), "fr") for entities in found]
        situations = self._read([without_places(t, e) for t, e in zip(batch, found, strict=True)], languages)
        for index, prediction, situation, entities, language in zip(
                to_classify, predictions, situations, found, languages, strict=True):
            results[index] = ParseResult(
                texts[index],
                prediction.intent,
                prediction.confidence,
                entities,
                language,
                prediction.ranking,
                with_named_schemes(situation, entities),
            )
        return [r for r in results if r is not None]

    def _read(self, texts: list[str], languages: list[str]) -> list[Situation]:
        """Each text read by the reader of its language (the French one when it has none)."""
        out: list[Situation | None] = [None] * len(texts)
        for language in dict.fromkeys(languages):
            reader = self.readers.get(language, self.reader)
            rows = [i for i, lang in enumerate(languages) if lang == language]
            for i, situation in zip(rows, reader.read_many([texts[i] for i in rows]), strict=True):
                out[i] = situation
        return [s for s in out if s is not None]

    def _parse_payload(self, text: str, _match: re.Match[str]) -> ParseResult:
        """A button payload, validated (bot.nlu.payload); an invalid one is the fallback intent."""
        payload = parse_payload(text, self.payload_vocabulary)
        if payload is None:
            return ParseResult(text, FALLBACK_INTENT, 0.0, [], "fr")
        entities = [Entity(k, v, extractor="payload") for k, v in payload.values.items()]
        return ParseResult(text, payload.intent, 1.0, entities, "fr", [(payload.intent, 1.0)])


def without_places(text: str, entities: list[Entity]) -> str:
    """The text without the communes' names found in it (what the situation reader reads)."""
    spans = sorted((e.start, e.end) for e in entities
                   if e.entity == "commune" and e.start is not None and e.end is not None)
    kept, last = [], 0
    for start, end in spans:
        if start >= last:  # two readings of one name overlap: the first is cut
            kept.append(text[last:start])
            last = end
    return "".join(kept) + text[last:]


def with_named_schemes(situation: Situation, entities: list[Entity]) -> Situation:
    """A scheme named by one of its proper names (knowledge-base aliases) is read for sure."""
    named = [e.value for e in entities if e.entity == "scheme" and e.extractor in ("alias", "fuzzy")]
    if not named:
        return situation
    learned = [(s, c) for s, c in situation.schemes if s not in named]
    situation.schemes = [(s, 1.0) for s in dict.fromkeys(named)] + learned
    return situation

"""Intent classifier: character and word n-grams on normalised text + spaCy word vectors.

Character n-grams make it robust to typos and SMS spelling; fr_core_news_md's static
vectors bring synonyms the training data never saw. A logistic regression gives
probabilities; below `threshold` the intent becomes `nlu_fallback` (Rasa's name).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline

from bot.nlu.data import Example
from bot.nlu.normalize import normalize

SPACY_MODEL = "fr_core_news_md"
FALLBACK_INTENT = "nlu_fallback"
DEFAULT_THRESHOLD = 0.30
MODEL_VERSION = 1


@lru_cache(maxsize=1)
def spacy_nlp() -> Any:
    """fr_core_news_md, loaded once (tokenizer and vectors are all the classifier needs)."""
    import spacy

    return spacy.load(
        SPACY_MODEL, exclude=["parser", "ner", "morphologizer", "attribute_ruler", "lemmatizer"]
    )


class SpacyVectors(BaseEstimator, TransformerMixin):
    """Mean static word vector of the message (unit length), from fr_core_news_md."""

    def fit(self, texts: Sequence[str], y: Any = None) -> SpacyVectors:
        return self

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        rows = [unit_vector(text) for text in texts]
        return np.vstack(rows) if rows else np.zeros((0, spacy_nlp().vocab.vectors_length))


@lru_cache(maxsize=512)
def unit_vector(text: str) -> np.ndarray:
    """The message's mean word vector, unit length; cached because the intent classifier and the
    situation reader both read the same message."""
    vector = spacy_nlp().make_doc(text.lower()).vector
    norm = np.linalg.norm(vector)
    out = vector / norm if norm > 0 else vector
    out.setflags(write=False)
    return out


def build_features(use_vectors: bool = True) -> FeatureUnion:
    """Character and word n-grams of the normalised text, plus spaCy's mean word vector."""
    features: list[tuple[str, Any]] = [
        (
            "chars",
            TfidfVectorizer(
                analyzer="char_wb",
                ngram_range=(2, 5),
                sublinear_tf=True,
                preprocessor=normalize,
                min_df=1,
                max_features=80_000,
            ),
        ),
        (
            "words",
            TfidfVectorizer(
                analyzer="word",
                ngram_range=(1, 2),
                sublinear_tf=True,
                preprocessor=normalize,
                token_pattern=r"(?u)\b\w+\b",
            ),
        ),
    ]
    if use_vectors:
        features.append(("vectors", SpacyVectors()))
    return FeatureUnion(features, transformer_weights={"chars": 1.0, "words": 0.8, "vectors": 0.9})


def build_pipeline(use_vectors: bool = True) -> Pipeline:
    return Pipeline(
        [
            ("features", build_features(use_vectors)),
            ("clf", LogisticRegression(C=12.0, max_iter=4000, class_weight="balanced")),
        ]
    )


def data_fingerprint(examples: Sequence[Example]) -> str:
    digest = hashlib.sha256()
    for example in examples:
        digest.update(f"{example.intent}\t{example.text}\n".encode())
    digest.update(f"v{MODEL_VERSION}".encode())
    return digest.hexdigest()[:16]


@dataclass
class Prediction:
    intent: str
    confidence: float
    ranking: list[tuple[str, float]] = field(default_factory=list)


class IntentClassifier:
    def __init__(
        self, pipeline: Pipeline, threshold: float = DEFAULT_THRESHOLD, meta: dict[str, Any] | None = None
    ) -> None:
        self.pipeline = pipeline
        self.threshold = threshold
        self.meta = meta or {}

    @property
    def labels(self) -> list[str]:
        return list(self.pipeline.classes_)

    @classmethod
    def train(
        cls,
        examples: Sequence[Example],
        threshold: float = DEFAULT_THRESHOLD,
        progress: Callable[[str], None] | None = None,
    ) -> IntentClassifier:
        started = time.perf_counter()
        texts = [e.text for e in examples]
        intents = [e.intent for e in examples]
        if progress:
            progress("chargement de fr_core_news_md")
        spacy_nlp()
        if progress:
            progress(f"apprentissage sur {len(texts)} exemples, {len(set(intents))} intentions")
        pipeline = build_pipeline()
        pipeline.fit(texts, intents)
        meta = {
            "examples": len(texts), "intents": sorted(set(intents)), "fingerprint": data_fingerprint(examples),
            "train_seconds": round(time.perf_counter() - started, 2), "version": MODEL_VERSION,
        }  # fmt: skip
        return cls(pipeline, threshold, meta)

    def predict(self, text: str) -> Prediction:
        return self.predict_many([text])[0]

    def predict_many(self, texts: Sequence[str]) -> list[Prediction]:
        probabilities = self.pipeline.predict_proba(list(texts))
        labels = self.pipeline.classes_
        out = []
        for row in probabilities:
            order = np.argsort(row)[::-1]
            ranking = [(str(labels[i]), float(row[i])) for i in order[:5]]
            intent, confidence = ranking[0]
            if confidence < self.threshold:
                intent = FALLBACK_INTENT
            out.append(Prediction(intent, confidence, ranking))
        return out

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        joblib.dump({"pipeline": self.pipeline, "threshold": self.threshold, "meta": self.meta}, path)

    @classmethod
    def load(cls, path: Path) -> IntentClassifier:
        data = joblib.load(path)
        return cls(data["pipeline"], data["threshold"], data.get("meta"))

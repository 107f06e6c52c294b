"""Intent classifier: what kind of turn a message is (a greeting, a fact, a need...).

Trained with scikit-learn (bot/nlu/training.py: character and word n-grams of the normalised
text plus fr_core_news_md word vectors, logistic regression), then kept compiled
(bot/nlu/features.py): reading a message needs neither scikit-learn nor spaCy. Below
`threshold` the intent becomes `nlu_fallback` (Rasa's name).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bot.nlu.data import Example
from bot.nlu.features import CompiledFeatures, LinearScores
from bot.nlu.model_file import load_model, save_model
from bot.nlu.vectors import VECTORS_VERSION, word_vectors

FALLBACK_INTENT = "nlu_fallback"
DEFAULT_THRESHOLD = 0.30
#: bump when the features or the saved form change: saved models are then retrained
MODEL_VERSION = 2


def data_fingerprint(examples: Sequence[Example]) -> str:
    digest = hashlib.sha256()
    for example in examples:
        digest.update(f"{example.intent}\t{example.text}\n".encode())
    digest.update(f"v{MODEL_VERSION}.{VECTORS_VERSION}".encode())
    return digest.hexdigest()[:16]


@dataclass
class Prediction:
    intent: str
    confidence: float
    ranking: list[tuple[str, float]] = field(default_factory=list)


class IntentClassifier:
    def __init__(
        self,
        features: CompiledFeatures,
        model: LinearScores,
        labels: list[str],
        threshold: float = DEFAULT_THRESHOLD,
        meta: dict[str, Any] | None = None,
    ) -> None:
        self.features = features
        self.model = model
        self.labels = labels
        self.threshold = threshold
        self.meta = meta or {}

    @classmethod
    def train(
        cls,
        examples: Sequence[Example],
        threshold: float = DEFAULT_THRESHOLD,
        progress: Callable[[str], None] | None = None,
    ) -> IntentClassifier:
        from bot.nlu.training import build_pipeline

        started = time.perf_counter()
        texts = [e.text for e in examples]
        intents = [e.intent for e in examples]
        if progress:
            progress("vecteurs de mots de fr_core_news_md")
        word_vectors()
        if progress:
            progress(f"apprentissage sur {len(texts)} exemples, {len(set(intents))} intentions")
        pipeline = build_pipeline()
        pipeline.fit(texts, intents)
        clf = pipeline.named_steps["clf"]
        meta = {
            "examples": len(texts), "intents": sorted(set(intents)), "fingerprint": data_fingerprint(examples),
            "train_seconds": round(time.perf_counter() - started, 2), "version": MODEL_VERSION,
        }  # fmt: skip
        features = CompiledFeatures.from_union(pipeline.named_steps["features"])
        labels = [str(c) for c in clf.classes_]
        return cls(features, LinearScores(clf.coef_, clf.intercept_), labels, threshold, meta)

    def probabilities(self, text: str) -> np.ndarray:
        """Every intent's probability (multinomial logistic regression: a softmax of the scores)."""
        scores = self.model.scores(self.features.encode(text)).astype(np.float64)
        scores -= scores.max()
        exp = np.exp(scores)
        return exp / exp.sum()

    def predict(self, text: str) -> Prediction:
        return self.predict_many([text])[0]

    def predict_many(self, texts: Sequence[str]) -> list[Prediction]:
        out = []
        for text in texts:
            row = self.probabilities(text)
            order = np.argsort(row)[::-1]
            ranking = [(self.labels[i], float(row[i])) for i in order[:5]]
            intent, confidence = ranking[0]
            if confidence < self.threshold:
                intent = FALLBACK_INTENT
            out.append(Prediction(intent, confidence, ranking))
        return out

    def save(self, path: Path) -> None:
        save_model(path, {"features": self.features, "model": self.model, "labels": self.labels,
                          "threshold": self.threshold, "meta": self.meta})  # fmt: skip

    @classmethod
    def load(cls, path: Path) -> IntentClassifier:
        data = load_model(path, required="model")
        return cls(data["features"], data["model"], data["labels"], data["threshold"], data.get("meta"))

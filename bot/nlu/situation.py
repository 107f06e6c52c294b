"""The situation reader: what a message is about, beyond what kind of turn it is.

For every message it reads, at once: all the needs present and every scheme named or
*described* (multi-label, one-vs-rest logistic regressions), who is speaking (the person, a
relative, an agent, an ambassadeur) and what kind of answer is asked (orientation, info,
conditions, where, contact, how, documents, amount). One feature space is shared by the four
heads: the intent classifier's character and word n-grams plus `fr_core_news_md` word vectors,
compiled after training (bot/nlu/features.py) so that reading needs no scikit-learn.
The needs are also read sentence by sentence, so that a second need said in a sentence of its own
is not drowned by the first.
Learned from `data/situations/` and the content's own texts (see situation_data.py).
"""

from __future__ import annotations

import logging
import re
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bot.nlu.features import CompiledFeatures, LinearScores
from bot.nlu.model_file import OutdatedModel, load_model, load_or_train, save_model
from bot.nlu.situation_data import (
    DEFAULT_SITUATIONS_DIR,
    ENGLISH_SITUATIONS_DIR,
    SituationExample,
    load_situations,
    sources_fingerprint,
)
from bot.nlu.vectors import VECTORS_VERSION, word_vectors

log = logging.getLogger(__name__)

#: bump when the features, the training or the saved form change: saved readers are then retrained
MODEL_VERSION = 3
#: what the saved reader's fingerprint is made with, beside its data: this code and the word vectors
FINGERPRINT_VERSION = MODEL_VERSION * 100 + VECTORS_VERSION
#: a label is read when its probability reaches this (tuned by cross-validation, docs/situations.md)
DEFAULT_THRESHOLDS = {"needs": 0.35, "schemes": 0.35}
#: at most this many needs and schemes per message: a person rarely brings more at once
MAX_NEEDS = 4
MAX_SCHEMES = 6
#: schemes under this probability are not kept even as a relevance (noise)
RELEVANCE_FLOOR = 0.05
#: L2 penalty of the one-vs-rest heads (SGD, logistic loss): chosen by cross-validation
ALPHA = 3e-5
#: epochs of the one-vs-rest heads: enough to converge, so that the reader no longer depends on the
#: order the examples are shuffled in (at 15 epochs, another random seed moved the held-out recall
#: by 1.5 points and any new example by as much; at 30 and 60, two seeds agree; docs/situations.md)
EPOCHS = 60
#: each label's positive examples weigh (n / 2 n_pos) to this power: 1 is scikit-learn's "balanced"
#: (every rare scheme read everywhere once converged), 0 no weight (rare schemes never read)
CLASS_WEIGHT_POWER = 0.85
#: a message of several sentences has its needs read in each sentence of at least this many words too
#: (« c'est urgent svp » says no need by itself)
SENTENCE_MIN_WORDS = 6
_SENTENCE_END = re.compile(r"(?<=[.!?;…])\s+|\n+")


@dataclass
class Situation:
    needs: list[tuple[str, float]] = field(default_factory=list)
    schemes: list[tuple[str, float]] = field(default_factory=list)
    role: str = "self"
    asks: str = "orientation"
    role_confidence: float = 0.0
    asks_confidence: float = 0.0
    #: every scheme's probability, under the threshold too (the orientation ranks a need's schemes by it)
    relevance: dict[str, float] = field(default_factory=dict)
    #: every need's probability, under the threshold too (a question after an orientation is about the
    #: need shown it is likeliest about: « elle peut aller ou ce soir » after violence and a bed, 0.2)
    need_relevance: dict[str, float] = field(default_factory=dict)
    #: every kind of answer's probability (a question after an orientation takes the likeliest question)
    asks_scores: dict[str, float] = field(default_factory=dict)

    @property
    def need_ids(self) -> list[str]:
        return [n for n, _ in self.needs]

    @property
    def scheme_ids(self) -> list[str]:
        return [s for s, _ in self.schemes]

    def to_json(self) -> dict[str, Any]:
        return {
            "needs": [{"id": n, "confidence": round(c, 4)} for n, c in self.needs],
            "schemes": [{"id": s, "confidence": round(c, 4)} for s, c in self.schemes],
            "role": {"name": self.role, "confidence": round(self.role_confidence, 4)},
            "asks": {"name": self.asks, "confidence": round(self.asks_confidence, 4)},
        }


class _Head:
    """One output of the reader: multi-label (needs, schemes) or single-label (role, asks).

    Trained with scikit-learn, then kept as one weight matrix by feature (LinearScores) so that
    reading a message is a gather of its feature rows and one small product.
    """

    def __init__(self, name: str, multilabel: bool, C: float, class_weight: str | None = "balanced") -> None:
        self.name = name
        self.multilabel = multilabel
        self.C = C
        self.class_weight = class_weight
        self.classes: list[str] = []
        self.model: LinearScores | None = None

    def fit(self, X: Any, labels: Sequence[Any]) -> _Head:
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.linear_model import LogisticRegression
        from sklearn.preprocessing import MultiLabelBinarizer

        if self.multilabel:
            binarizer = MultiLabelBinarizer()
            Y = binarizer.fit_transform(labels)
            keep = Y.sum(axis=0) > 0
            self.classes = [str(c) for c in binarizer.classes_[keep]]
            with warnings.catch_warnings():  # a fixed number of epochs is the point: no tolerance
                warnings.simplefilter("ignore", ConvergenceWarning)
                estimators = [self._estimator(column).fit(X, column) for column in Y[:, keep].T]
            weights = np.vstack([e.coef_.ravel() for e in estimators])
            bias = np.array([float(np.ravel(e.intercept_)[0]) for e in estimators])
            self.model = LinearScores(weights, bias)
            return self
        self.classes = sorted({str(label) for label in labels})
        if len(self.classes) == 1:
            return self
        class_weight: Any = self.class_weight
        if class_weight == "sqrt":  # half-way between none and "balanced" (n / (k * n_c)), in log scale
            counts = {c: sum(1 for label in labels if str(label) == c) for c in self.classes}
            class_weight = {c: (len(labels) / (len(counts) * n)) ** 0.5 for c, n in counts.items()}
        single = LogisticRegression(C=self.C, max_iter=3000, class_weight=class_weight).fit(X, labels)
        self.classes = [str(c) for c in single.classes_]
        coef, intercept = single.coef_, single.intercept_
        if len(self.classes) == 2:  # binary: one row for the second class
            coef, intercept = np.vstack([-coef, coef]) / 2, np.array([-intercept[0], intercept[0]]) / 2
        self.model = LinearScores(coef, intercept)
        return self

    @staticmethod
    def _estimator(column: np.ndarray) -> Any:
        """One label's binary classifier, its positives weighed by CLASS_WEIGHT_POWER."""
        from sklearn.linear_model import SGDClassifier

        n, positives = len(column), int(column.sum())
        weights = {0: (n / (2 * (n - positives))) ** CLASS_WEIGHT_POWER, 1: (n / (2 * positives)) ** CLASS_WEIGHT_POWER}
        return SGDClassifier(
            loss="log_loss", alpha=ALPHA, class_weight=weights, max_iter=EPOCHS, tol=None, random_state=13
        )

    def proba(self, encoded: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        """Each label's probability for one message (its encoded feature row)."""
        if self.model is None:
            return np.ones(1)
        scores = self.model.scores(encoded).astype(np.float64)
        if self.multilabel:
            return 1.0 / (1.0 + np.exp(-scores))
        scores -= scores.max()
        exp = np.exp(scores)
        return exp / exp.sum()


class SituationReader:
    def __init__(
        self,
        features: CompiledFeatures,
        heads: dict[str, _Head],
        thresholds: dict[str, float] | None = None,
        meta: dict[str, Any] | None = None,
    ) -> None:
        self.features = features
        self.heads = heads
        self.thresholds = dict(thresholds or DEFAULT_THRESHOLDS)
        self.meta = meta or {}

    # ------------------------------------------------------------------ training
    @classmethod
    def train(
        cls,
        examples: Sequence[SituationExample],
        progress: Callable[[str], None] | None = None,
        thresholds: dict[str, float] | None = None,
    ) -> SituationReader:
        from bot.nlu.training import build_features

        started = time.perf_counter()
        word_vectors()
        texts = [e.text for e in examples]
        union = build_features()
        X = union.fit_transform(texts)
        heads: dict[str, _Head] = {}
        if progress:
            progress(f"situations : {len(texts)} exemples")
        heads["needs"] = _Head("needs", True, C=8.0).fit(X, [e.needs for e in examples])
        heads["schemes"] = _Head("schemes", True, C=8.0).fit(X, [e.schemes for e in examples])
        for name in ("role", "asks"):
            rows = [i for i, e in enumerate(examples) if getattr(e, name) is not None]
            labels = [getattr(examples[i], name) for i in rows]
            default = "self" if name == "role" else "orientation"
            # the kind of answer asked: the rare kinds (a phone number, papers) are weighted by the
            # square root of "balanced", not fully ("je voudrais savoir pour la cantine" is not a
            # request for a phone number)
            head = _Head(name, False, C=6.0, class_weight="balanced" if name == "role" else "sqrt")
            heads[name] = head.fit(X[rows], labels) if rows else head.fit(X[:1], [default])
        meta = {
            "examples": len(texts),
            "labelled": sum(1 for e in examples if e.origin not in ("needs.yml", "schemes", "nlu")),
            "train_seconds": round(time.perf_counter() - started, 2),
            "version": MODEL_VERSION,
        }
        return cls(CompiledFeatures.from_union(union), heads, thresholds, meta)

    # ------------------------------------------------------------------ reading
    def read(self, text: str) -> Situation:
        return self.read_many([text])[0]

    def read_many(self, texts: Sequence[str]) -> list[Situation]:
        if not texts:
            return []
        out = []
        for text in texts:
            probas = self._probas(text)
            role, role_c = self._single("role", probas["role"])
            asks, asks_c = self._single("asks", probas["asks"])
            out.append(
                Situation(
                    needs=self._multi("needs", probas["needs"], MAX_NEEDS),
                    schemes=self._multi("schemes", probas["schemes"], MAX_SCHEMES),
                    role=role,
                    asks=asks,
                    role_confidence=role_c,
                    asks_confidence=asks_c,
                    relevance=self._above("schemes", probas["schemes"], RELEVANCE_FLOOR),
                    need_relevance=self._above("needs", probas["needs"], RELEVANCE_FLOOR),
                    asks_scores=self._above("asks", probas["asks"], 0.0),
                )
            )
        return out

    def scores(self, text: str, head: str) -> dict[str, float]:
        """Every label's probability for one text (evaluation, debugging)."""
        return dict(zip(self.heads[head].classes, map(float, self._probas(text)[head]), strict=True))

    def _probas(self, text: str) -> dict[str, np.ndarray]:
        """Every head's probabilities for one message, the needs the best of the whole message's and
        of each of its sentences' (docs/situations.md « Fifteenth pass »)."""
        encoded = self.features.encode(text)
        probas = {name: head.proba(encoded) for name, head in self.heads.items()}
        sentences = [s for s in _SENTENCE_END.split(text) if len(s.split()) >= SENTENCE_MIN_WORDS]
        if len(sentences) > 1:
            needs = self.heads["needs"]
            for sentence in sentences:
                probas["needs"] = np.maximum(probas["needs"], needs.proba(self.features.encode(sentence)))
        return probas

    def _multi(self, name: str, row: np.ndarray, limit: int) -> list[tuple[str, float]]:
        classes = self.heads[name].classes
        threshold = self.thresholds.get(name, 0.5)
        order = np.argsort(row)[::-1][:limit]
        return [(classes[i], float(row[i])) for i in order if row[i] >= threshold]

    def _above(self, name: str, row: np.ndarray, floor: float) -> dict[str, float]:
        classes = self.heads[name].classes
        return {classes[i]: float(row[i]) for i in np.flatnonzero(row >= floor)}

    def _single(self, name: str, row: np.ndarray) -> tuple[str, float]:
        classes = self.heads[name].classes
        best = int(np.argmax(row))
        return classes[best], float(row[best])

    # ------------------------------------------------------------------ persistence
    def save(self, path: Path) -> None:
        save_model(path, {"features": self.features, "heads": self.heads, "thresholds": self.thresholds,
                          "meta": self.meta})  # fmt: skip

    @classmethod
    def load(cls, path: Path) -> SituationReader:
        data = load_model(path, required="heads")
        if not isinstance(data["features"], CompiledFeatures):
            raise OutdatedModel(f"lecteur de situations d'un ancien format : {path}")
        return cls(data["features"], data["heads"], data.get("thresholds"), data.get("meta"))


#: the readers by the language of the message: the English one learns from the English situations too
READER_LANGUAGES = ("fr", "en")


def default_reader_path(language: str = "fr") -> Path:
    from bot.nlu.interpreter import default_model_path

    return default_model_path().with_name(reader_file_name(language))


def reader_file_name(language: str = "fr") -> str:
    return "situation.joblib" if language == "fr" else f"situation_{language}.joblib"


def _sources(data: Path | None, language: str) -> list[Path]:
    return [data or DEFAULT_SITUATIONS_DIR, *([ENGLISH_SITUATIONS_DIR] if language == "en" else [])]


def train_reader(data: Path | None = None, out: Path | None = None, language: str = "fr") -> SituationReader:
    sources = _sources(data, language)
    reader = SituationReader.train(load_situations(sources))
    reader.meta["fingerprint"] = sources_fingerprint(sources, FINGERPRINT_VERSION)
    reader.meta["language"] = language
    reader.save(out or default_reader_path(language))
    return reader


def load_reader(path: Path | None = None, auto_train: bool = True, language: str = "fr") -> SituationReader:
    """The saved reader, retrained first if missing or if its data or the content changed."""
    path = path or default_reader_path(language)
    return load_or_train(
        path, SituationReader.load, sources_fingerprint(_sources(None, language), FINGERPRINT_VERSION),
        lambda: train_reader(out=path, language=language), auto_train, "modèle de situations",
        "Entraînement du lecteur de situations (une minute et demie environ)…",
    )


def load_readers(model_dir: Path | None = None, auto_train: bool = True) -> dict[str, SituationReader]:
    """The reader of each language, saved in `model_dir` beside the intent model (default: the data
    folder's models), each retrained first if outdated (`load_reader`)."""
    return {language: load_reader(model_dir / reader_file_name(language) if model_dir else None, auto_train, language)
            for language in READER_LANGUAGES}

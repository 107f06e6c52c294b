"""Training-time feature extraction with scikit-learn (never imported when reading a message).

The features: character n-grams (2–5, inside word boundaries) and word 1–2-grams of the
normalised text, tf-idf with sublinear tf, plus the message's mean word vector from
fr_core_news_md (bot/nlu/vectors.py). Character n-grams make it robust to typos and SMS
spelling; the vectors bring synonyms the training data never saw. Once fitted, the union is
compiled into `bot.nlu.features.CompiledFeatures` for reading.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline

from bot.nlu.features import CHAR_RANGE, WORD_RANGE
from bot.nlu.normalize import normalize
from bot.nlu.vectors import DIMENSIONS, word_vectors

BLOCK_WEIGHTS = {"chars": 1.0, "words": 0.8, "vectors": 0.9}


class WordVectorFeatures(BaseEstimator, TransformerMixin):
    """The message's unit mean word vector (the same function reading uses)."""

    def fit(self, texts: Sequence[str], y: Any = None) -> WordVectorFeatures:
        return self

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        vectors = word_vectors()
        rows = [vectors.unit_vector(text) for text in texts]
        return np.vstack(rows) if rows else np.zeros((0, DIMENSIONS))


def build_features(use_vectors: bool = True) -> FeatureUnion:
    """Character and word n-grams of the normalised text, plus the mean word vector."""
    features: list[tuple[str, Any]] = [
        ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=CHAR_RANGE, sublinear_tf=True,
                                  preprocessor=normalize, min_df=1, max_features=80_000)),
        ("words", TfidfVectorizer(analyzer="word", ngram_range=WORD_RANGE, sublinear_tf=True,
                                  preprocessor=normalize, token_pattern=r"(?u)\b\w+\b")),
    ]  # fmt: skip
    if use_vectors:
        features.append(("vectors", WordVectorFeatures()))
    return FeatureUnion(features, transformer_weights=dict(BLOCK_WEIGHTS))


def build_pipeline(use_vectors: bool = True) -> Pipeline:
    """The intent classifier as scikit-learn trains it (and cross-validates it)."""
    return Pipeline(
        [
            ("features", build_features(use_vectors)),
            ("clf", LogisticRegression(C=12.0, max_iter=4000, class_weight="balanced")),
        ]
    )

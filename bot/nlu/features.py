"""A message's features at reading time, without scikit-learn.

The classifiers are trained with scikit-learn (`build_features` in training.py: character and
word n-grams of the normalised text, tf-idf, plus the mean word vector), then *compiled*: the
fitted vocabularies, idf weights and block weights are kept as plain dicts and arrays, and a
message is turned into (feature indices, values) here. Importing scikit-learn costs ~1.9 s at
start-up and its FeatureUnion ~1 ms per message; this costs neither. `tests/test_nlu_features.py`
checks the result equals scikit-learn's transform.

The n-grams of a message are cut once (`analyse`) and shared by the intent classifier and the
situation reader, whose vocabularies differ.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from bot.nlu.normalize import normalize
from bot.nlu.vectors import word_vectors

_WHITE_SPACES = re.compile(r"\s\s+")  # as scikit-learn's char_wb analyzer
_WORD = re.compile(r"(?u)\b\w+\b")  # the word vectorizer's token_pattern
CHAR_RANGE = (2, 5)
WORD_RANGE = (1, 2)


@dataclass(frozen=True)
class Analysis:
    chars: Counter[str]
    words: Counter[str]
    vector: np.ndarray


@lru_cache(maxsize=512)
def analyse(text: str) -> Analysis:
    """The message cut into character n-grams (inside word boundaries), word 1–2-grams, and its
    unit mean word vector (cached: both classifiers read the same message)."""
    normalised = normalize(text)
    return Analysis(_char_ngrams(normalised), _word_ngrams(normalised), word_vectors().unit_vector(text))


def _char_ngrams(text: str) -> Counter[str]:
    grams: Counter[str] = Counter()
    low, high = CHAR_RANGE
    for word in _WHITE_SPACES.sub(" ", text).split():
        padded = f" {word} "
        length = len(padded)
        for n in range(low, high + 1):
            if n > length:  # the whole padded word was the last n-gram
                break
            for start in range(length - n + 1):
                grams[padded[start : start + n]] += 1
    return grams


def _word_ngrams(text: str) -> Counter[str]:
    tokens = _WORD.findall(text)
    grams: Counter[str] = Counter(tokens)
    for n in range(max(2, WORD_RANGE[0]), WORD_RANGE[1] + 1):
        for start in range(len(tokens) - n + 1):
            grams[" ".join(tokens[start : start + n])] += 1
    return grams


class _TfidfBlock:
    """One fitted TfidfVectorizer (sublinear tf, l2 norm), as a vocabulary and idf weights."""

    def __init__(self, vocabulary: dict[str, int], idf: np.ndarray, weight: float) -> None:
        self.vocabulary = vocabulary
        self.idf = idf.astype(np.float64)
        self.weight = weight

    def encode(self, grams: Counter[str]) -> tuple[np.ndarray, np.ndarray]:
        found = [(self.vocabulary[g], c) for g, c in grams.items() if g in self.vocabulary]
        if not found:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        index = np.fromiter((i for i, _ in found), dtype=np.int64, count=len(found))
        values = np.fromiter((1.0 + math.log(c) for _, c in found), dtype=np.float64, count=len(found))
        values *= self.idf[index]
        values *= self.weight / np.linalg.norm(values)
        return index, values


class CompiledFeatures:
    """The runtime form of a fitted `build_features()` union: chars, words, then the vector."""

    def __init__(self, chars: _TfidfBlock, words: _TfidfBlock, vector_weight: float) -> None:
        self.chars = chars
        self.words = words
        self.vector_weight = vector_weight
        self.size = len(chars.vocabulary) + len(words.vocabulary) + word_vectors().table.shape[1]

    @classmethod
    def from_union(cls, union: Any) -> CompiledFeatures:
        """From scikit-learn's fitted FeatureUnion (training time only)."""
        parts = dict(union.transformer_list)
        weights = union.transformer_weights or {}

        def block(name: str) -> _TfidfBlock:
            vectorizer = parts[name]
            vocabulary = {str(g): int(i) for g, i in vectorizer.vocabulary_.items()}
            return _TfidfBlock(vocabulary, np.asarray(vectorizer.idf_), float(weights.get(name, 1.0)))

        return cls(block("chars"), block("words"), float(weights.get("vectors", 1.0)))

    def encode(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """The message as (feature indices, values): the non-zero entries of its feature row."""
        analysis = analyse(text)
        char_index, char_values = self.chars.encode(analysis.chars)
        word_index, word_values = self.words.encode(analysis.words)
        offset = len(self.chars.vocabulary)
        vector_start = offset + len(self.words.vocabulary)
        vector_index = np.arange(vector_start, vector_start + analysis.vector.shape[0])
        index = np.concatenate([char_index, word_index + offset, vector_index])
        values = np.concatenate([char_values, word_values, analysis.vector * self.vector_weight])
        return index, values.astype(np.float32)

    def dense(self, texts: list[str]) -> np.ndarray:
        """Feature rows as a dense matrix (tests and evaluation)."""
        out = np.zeros((len(texts), self.size), dtype=np.float32)
        for row, text in enumerate(texts):
            index, values = self.encode(text)
            out[row, index] = values
        return out


class LinearScores:
    """A linear model's weights kept by feature (rows) so that a message's scores are a gather of
    its few hundred feature rows and one small product."""

    def __init__(self, weights_by_label: np.ndarray, bias: np.ndarray) -> None:
        self.columns = np.ascontiguousarray(np.asarray(weights_by_label, dtype=np.float32).T)
        self.bias = np.asarray(bias, dtype=np.float32)

    def scores(self, encoded: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        index, values = encoded
        return values @ self.columns[index] + self.bias

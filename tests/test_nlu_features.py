"""The compiled features and linear scores read a message exactly as scikit-learn would.

Reading a message uses bot/nlu/features.py (no scikit-learn, no spaCy at run time); training uses
scikit-learn's FeatureUnion and LogisticRegression (bot/nlu/training.py). The two must agree, or
the models would be read with other features than those they learnt on.
"""

from __future__ import annotations

import numpy as np
import pytest

from bot.nlu.data import DEFAULT_DATA_DIR, load_examples
from bot.nlu.features import CompiledFeatures, LinearScores, analyse
from bot.nlu.vectors import word_vectors

ODD_TEXTS = [
    "Jsuis au RSA, g 2 enfants!!!",
    "  espaces   multiples\tet\nretours  ",
    "a",
    "l'école d'aujourd'hui, c'est-à-dire peut-être… 3€ 12h",
    "I need help with my rent",
    "😀😀 ???",
    "x" * 300,
    "mots inconnus zzqqyy wwkkjj",
    "",
]


@pytest.fixture(scope="module")
def fitted():  # type: ignore[no-untyped-def]
    from bot.nlu.training import build_pipeline

    examples = load_examples(DEFAULT_DATA_DIR)[::4]
    pipeline = build_pipeline()
    pipeline.fit([e.text for e in examples], [e.intent for e in examples])
    held = [e.text for e in load_examples(DEFAULT_DATA_DIR)[1::37]]
    return pipeline, held + ODD_TEXTS


def test_compiled_features_equal_scikit_learn_transform(fitted) -> None:  # type: ignore[no-untyped-def]
    pipeline, texts = fitted
    union = pipeline.named_steps["features"]
    expected = union.transform(texts).toarray()
    compiled = CompiledFeatures.from_union(union)
    got = compiled.dense(texts)
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() < 1e-5


def test_compiled_scores_give_scikit_learn_probabilities(fitted) -> None:  # type: ignore[no-untyped-def]
    pipeline, texts = fitted
    clf = pipeline.named_steps["clf"]
    compiled = CompiledFeatures.from_union(pipeline.named_steps["features"])
    model = LinearScores(clf.coef_, clf.intercept_)
    expected = pipeline.predict_proba(texts)
    for text, row in zip(texts, expected, strict=True):
        scores = model.scores(compiled.encode(text)).astype(np.float64)
        got = np.exp(scores - scores.max())
        got /= got.sum()
        assert np.abs(got - row).max() < 1e-4, text


def test_word_vectors_follow_spacy_cuts_for_known_words() -> None:
    vectors = word_vectors()
    assert vectors.tokens("L'école d'aujourd'hui, peut-être?") == [
        "l'", "école", "d'", "aujourd'hui", ",", "peut-être", "?",
    ]  # fmt: skip
    assert np.isclose(np.linalg.norm(vectors.unit_vector("une crèche à Liévin")), 1.0)
    assert not vectors.unit_vector("zzqqyy").any()  # no known word: no direction


def test_a_message_is_cut_once_for_both_models() -> None:
    analyse.cache_clear()
    analyse("je cherche une crèche")
    analyse("je cherche une crèche")
    assert analyse.cache_info().hits == 1

"""Property-based tests (hypothesis): no exception on any text, from the answer parsers to the NLU.

Texts mix arbitrary Unicode (lone surrogates excluded: the HTTP layer refuses or replaces them)
with the words and shapes the parsers look for, so that the interesting branches are reached.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.nlu.normalize import normalize
from bot.nlu.payload import PAYLOAD_INTENTS, PayloadVocabulary, parse_payload
from knowledge.answers import (
    is_dont_know,
    parse_age,
    parse_children,
    parse_choice,
    parse_money,
    parse_pregnancy,
    parse_quotient,
    parse_yes_no,
    words_to_digits,
)

WORDS = [
    "j'ai", "ans", "enfants", "enfant", "de", "mois", "euros", "€", "par", "mois", "oui", "non",
    "je", "sais", "pas", "RSA", "chômage", "Arras", "Lens", "62000", "à", "au", "enceinte", "QF",
    "quotient", "1 200", "1.5", "-3", "deux", "vingt-et-un", "mille", "k€", "/inform", "{", "}",
    "\n", "  ", "😀", "\u200d", "\u202e", "%0A", "<script>", "0612345678", "a", "l'", "d'",
]  # fmt: skip
TEXT = st.one_of(
    st.text(st.characters(exclude_categories=("Cs",)), max_size=300),
    st.lists(st.sampled_from(WORDS), max_size=40).map(" ".join),
    st.lists(st.one_of(st.sampled_from(WORDS), st.text(max_size=5).filter(str.isprintable)), max_size=30).map(
        "".join
    ),
)
FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(TEXT)
def test_answer_parsers_never_raise(text: str) -> None:
    words_to_digits(text)
    parse_yes_no(text)
    is_dont_know(text)
    parse_age(text)
    parse_age(text, bare_number_ok=False)
    parse_children(text)
    parse_children(text, expecting=True)
    parse_pregnancy(text)
    money = parse_money(text)
    assert money is None or money == money  # never NaN
    parse_quotient(text)
    parse_choice(text, {"locataire": ["locataire", "je loue"], "proprietaire": ["proprio"]})
    normalize(text)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
NAMES = st.sampled_from(["age", "commune", "need", "scheme", "situation", "pregnant", "children_ages", "x"])


@FAST
@given(
    st.sampled_from(sorted(PAYLOAD_INTENTS) + ["nope", "inform"]),
    st.dictionaries(NAMES, JSON_VALUES, max_size=4),
)
def test_payload_parser_accepts_only_valid_values(intent: str, data: dict[str, Any]) -> None:
    vocabulary = PayloadVocabulary(needs=frozenset({"budget"}), schemes=frozenset({"avip"}))
    payload = parse_payload(f"/{intent}{json.dumps(data)}", vocabulary)
    if payload is None:
        return
    assert payload.intent in PAYLOAD_INTENTS
    for name, value in payload.values.items():
        assert vocabulary.check(name, value) == value
        assert not isinstance(value, dict)
        if isinstance(value, str):
            assert len(value) <= 64


@FAST
@given(TEXT)
def test_payload_parser_never_raises_on_any_text(text: str) -> None:
    parse_payload("/" + text, PayloadVocabulary())
    parse_payload(text, PayloadVocabulary())


@pytest.fixture(scope="module")
def nlu(interpreter: Any) -> Any:
    return interpreter


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(text=TEXT)
def test_nlu_parse_and_entities_never_raise(nlu: Any, text: str) -> None:
    result = nlu.parse(text)
    data = result.to_json()
    assert isinstance(data["intent"]["name"], str)
    json.dumps(data, ensure_ascii=False)  # serialisable (no surrogate, no NaN object)
    nlu.extractor.extract(text)

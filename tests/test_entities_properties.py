"""Property tests: the entity extractor and the answer parsers never raise, and stay fast."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.nlu.entities import EntityExtractor
from knowledge import answers, numbers

pytestmark = pytest.mark.filterwarnings("ignore")

#: any text: every code point (control characters and lone surrogates included), and French-like
#: fragments glued together so numbers, units and place cues meet in unusual orders
FRAGMENTS = ["j'ai", "2", "enfants", "de", "3", "et", "7", "ans", "à", "Lens", "mois", "un", "une", ",",
             "Saint-Denis", "62530", "QF", "€", "1 200", "elle", "habite", "\n", "(", ")", "jumeaux", "bébé",
             "je travaille au CCAS d'", "de la", "a", "ham", "eu", "\ud800", "\x00", "ｓｔ", "œ"]
texts = st.one_of(
    st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=300),
    st.lists(st.sampled_from(FRAGMENTS), max_size=60).map(" ".join),
    st.recursive(st.sampled_from(FRAGMENTS), lambda inner: st.tuples(inner, inner).map(lambda t: f"({t[0]} {t[1]})"),
                 max_leaves=30),
)
PARSERS = [
    numbers.parse_money, numbers.parse_quotient, numbers.parse_age, numbers.parse_pregnancy,
    numbers.find_self_age, numbers.find_other_age, numbers.find_income,
    lambda t: numbers.parse_children(t), lambda t: numbers.parse_children(t, expecting=True),
    answers.parse_yes_no, answers.is_dont_know, lambda t: answers.parse_choice(t, {"a": ["b c"]}),
]


@pytest.fixture(scope="module")
def extractor(kb) -> EntityExtractor:  # type: ignore[no-untyped-def]
    return EntityExtractor(kb)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=texts)
def test_answer_parsers_never_raise(text: str) -> None:
    for parse in PARSERS:
        parse(text)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=texts)
def test_extractor_never_raises(extractor: EntityExtractor, text: str) -> None:
    for entity in extractor.extract(text):
        entity.to_json()


@pytest.mark.parametrize(
    "text",
    [
        "a\n" * 900,
        "à " * 2000,
        "de la " * 1500,
        "1 et " * 1500 + "ans",
        "(" * 3000 + ")" * 3000,
        "Saint-" * 1000,
        "x" * 100_000,
    ],
)
def test_huge_texts_stay_fast(extractor: EntityExtractor, text: str) -> None:
    start = time.perf_counter()
    extractor.extract(text)
    for parse in PARSERS:
        parse(text)
    assert time.perf_counter() - start < 1.0

"""Eligibility reasons are keyed templates (knowledge/content/reasons.yml), said in French and English.

The French sentence stays in `reasons` (`kb eligibility --json`); the English one, one for one, in
`reasons_en`, which an English reply shows.
"""

from __future__ import annotations

import string

import pytest

from knowledge.eligibility import EligibilityEngine, _wording, said

HIRSON = "02381"
LILLE = "59350"


@pytest.fixture(scope="module")
def elig(kb) -> EligibilityEngine:  # type: ignore[no-untyped-def]
    return EligibilityEngine(kb.gazetteer)


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_reason_has_both_languages_with_the_same_placeholders() -> None:
    reasons = _wording()["reasons"]
    assert len(reasons) >= 40
    for key, entry in reasons.items():
        assert entry.get("fr") and entry.get("en"), key
        assert _placeholders(entry["fr"]) == _placeholders(entry["en"]), key


def test_a_fragment_is_said_in_the_language_of_its_sentence() -> None:
    span = said("span_from_to", low=said("years", n=3), high=said("years", n=6))
    sentence = said("children_do_not_fit", span=span, ages=said("years", n=9))
    assert sentence.fr == "Ce dispositif concerne les enfants de 3 ans à 6 ans ; vos enfants ont 9 ans."
    assert sentence.en == "This scheme is for children from 3 years to 6 years; your children are 9 years."


@pytest.mark.parametrize(
    ("scheme", "facts", "french", "english"),
    [
        ("ancv-depart-18-25", {"age": 20}, "Âge : 20 ans, dans la tranche prévue (de 18 à 25 ans).",
         "Age: 20, within the range (from 18 to 25)."),
        ("ancv-depart-18-25", {"age": 40}, "or ce dispositif est pour les personnes de 18 à 25 ans",
         "but this scheme is for people from 18 to 25"),
        ("nutri-cheques", {"commune": LILLE}, "n'en fait pas partie", "is not part of it"),
        ("avip-creches", {"children_count": 1, "children_ages": [1.17], "situation": "demandeur_emploi"},
         "14 mois", "14 months"),
    ],
)
def test_results_carry_their_reasons_in_both_languages(kb, elig, scheme, facts, french, english) -> None:  # type: ignore[no-untyped-def]
    result = elig.evaluate(kb.schemes[scheme], facts)
    assert len(result.reasons_en) == len(result.reasons) >= 1
    assert french in " ".join(result.reasons)
    assert english in " ".join(result.reasons_en)
    assert result.reasons_in("en") == result.reasons_en and result.reasons_in("fr") == result.reasons
    assert result.to_json()["reasons_en"] == result.reasons_en

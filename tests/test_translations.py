"""The fiches' English texts (`steps_en`, `conditions_text_en`, `amount_en`): faithful translations
of verified French texts, shown to people who write in English."""

from __future__ import annotations

import re

import pytest

from bot.dialogue.responses import localized_list, set_language
from knowledge.schema import Scheme

DIGITS = re.compile(r"\d+")


def test_every_scheme_is_translated_and_keeps_every_number(kb) -> None:  # type: ignore[no-untyped-def]
    for scheme in kb.schemes.values():
        assert scheme.steps_en is not None, scheme.id
        assert scheme.conditions_text_en is not None or not scheme.conditions_text, scheme.id
        assert scheme.amount_en or not scheme.amount, scheme.id
        pairs = scheme.english_pairs()  # item for item: the schema refuses lists of another length
        assert len(pairs) == len(scheme.steps) + len(scheme.conditions_text) + bool(scheme.amount), scheme.id
        for french, english in pairs:  # a number added, dropped or changed is a new fact (« 24 h sur 24 » : one 24)
            assert set(DIGITS.findall(french)) == set(DIGITS.findall(english)), (scheme.id, english)


def test_the_turn_language_picks_the_translation_item_for_item(kb) -> None:  # type: ignore[no-untyped-def]
    scheme = kb.schemes["point-conseil-budget"]
    try:
        set_language("en")
        assert localized_list(scheme, "steps") == scheme.steps_en
        set_language("fr")
        assert localized_list(scheme, "steps") == scheme.steps
    finally:
        set_language("fr")


def test_a_translation_must_match_the_french_item_for_item(kb) -> None:  # type: ignore[no-untyped-def]
    data = kb.schemes["point-conseil-budget"].model_dump()
    data["steps_en"] = data["steps_en"][:-1] + ["an extra step", "and another"]
    with pytest.raises(ValueError, match="item for item"):
        Scheme.model_validate(data)

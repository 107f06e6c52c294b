"""A sentence written to « vous » said about the person concerned (bot.dialogue.responses.about_the_person)."""

from __future__ import annotations

import pytest

from bot.dialogue.responses import about_the_person


@pytest.mark.parametrize(("written", "said"), [
    # at the start of a clause « elle » would refer to nothing: « la personne » (sc-080, a young man)
    ("D'après ce que je sais : vous pourriez y avoir droit.", "D'après ce que je sais : la personne pourrait y avoir droit."),
    ("Vous êtes au RSA.", "La personne est au RSA."),
    # inside a sentence, the pronoun refers to the person just named
    ("Vous êtes au RSA et vous pourriez y avoir droit.", "La personne est au RSA et elle pourrait y avoir droit."),
    ("Si vous êtes allocataire, demandez à la CAF.", "Si elle est allocataire, demandez à la CAF."),
])
def test_the_person_is_named_where_a_clause_starts(written: str, said: str) -> None:
    assert about_the_person(written) == said

"""The held-out follow-up question set (tests/followups/*.yml) played through the dialogue engine.

After an orientation, « c'est gratuit ? », « ça dure combien de temps ? », « son salaire compte ? »
must be answered by the fiche's own sentence, or honestly said not to be in it. Measured on
2026-11-29 (docs/followups.md): answered 37.9 % → 54.0 %, quotes beside the point 36.4 % (8 of 22)
→ 29.1 % (25 of 86), honest when the fiche does not say 97.0 % → 92.5 %. The floors sit a little
under the figures measured; raise them as the answers improve.
"""

from __future__ import annotations

import pytest

from bot.dialogue.followups_eval import (
    DEFAULT_DIR,
    FollowUpCase,
    FollowUpResult,
    evaluate,
    load_cases,
    markdown,
)

ANSWERED_MIN = 0.52
BESIDE_MAX = 0.32
HONEST_MIN = 0.90


def test_the_follow_up_set_is_large_and_its_answers_are_the_fiches_sentences(kb) -> None:  # type: ignore[no-untyped-def]
    from actions.passages import sentences

    cases = load_cases(DEFAULT_DIR, known=kb.schemes)
    assert len(cases) >= 250
    assert sum(1 for c in cases if not c.answerable) >= 50  # questions the fiche does not answer
    assert {c.role for c in cases} >= {"self", "agent", "relative", "ambassadeur"}
    for case in cases:
        assert set(case.expect) <= set(case.shown), case.id
        for scheme_id, expected in case.expect.items():
            assert set(expected) <= set(sentences(kb.schemes[scheme_id])), case.id


def test_a_quote_beside_the_point_is_counted_and_a_tied_pair_is_two_quotes() -> None:
    case = FollowUpCase(id="t", shown=["a"], text="c'est gratuit ?", about="a", asks="amount",
                        expect={"a": ["Le service est gratuit."]})
    right = FollowUpResult(case=case, replies="« Le service est gratuit. »", quotes=["Le service est gratuit."])
    beside = FollowUpResult(case=case, replies="« Ouvert le lundi. »", quotes=["Ouvert le lundi."])
    assert right.answered and not right.beside
    assert not beside.answered and beside.beside == ["Ouvert le lundi."]


def test_a_proper_names_words_answer_nothing(kb) -> None:  # type: ignore[no-untyped-def]
    """« c'est payé ? » was answered by the sentence naming « Participation et Fraternité »: the
    words with a capital inside a scheme's name are not matched (a cost word, « participation »)."""
    from actions.passages import ranked_passages

    ranked = ranked_passages(kb.schemes["ambassadeurs-acces-aux-droits"], "c'est payé ?")
    assert all(score == 0.0 for score, sentence in ranked if "Participation et Fraternité" in sentence)


def test_a_situation_said_before_the_question_is_not_a_precise_question(kb) -> None:  # type: ignore[no-untyped-def]
    """sc-066: « … voudrait devenir ambassadrice de l'accès aux droits. Comment elle fait ? » asks the
    steps, which say « comment le devenir »; it was met with « ma fiche ne répond pas précisément »
    because the situation's words counted as the question's. The sentence that asks is read alone;
    a precise question stays precise, and a comma does not cut one."""
    from actions.passages import asked_clause, asks_beyond_kind

    scheme = kb.schemes["ambassadeurs-acces-aux-droits"]
    opening = ("Bonjour, une personne que j'ai aidée voudrait faire comme moi, devenir ambassadrice "
               "de l'accès aux droits. Comment elle fait ?")
    assert asked_clause(opening) == "Comment elle fait ?"
    assert not asks_beyond_kind(scheme, opening, "how")
    assert asks_beyond_kind(scheme, "Elle a 45 ans. Elle doit faire les démarches elle-même ?", "how")
    assert asked_clause("c'est pour les gens au RSA, ou pas ?") == "c'est pour les gens au RSA, ou pas ?"
    assert asked_clause("merci") == "merci"


def test_a_source_quote_about_another_territory_is_not_the_fiches_word(kb) -> None:  # type: ignore[no-untyped-def]
    """« c'est ouvert quel jour ? » in Beauvais was answered by a source quote about a mobile Restos centre
    « dans le sud-est de la Seine-et-Marne, 2 ou 3 jours par semaine » (sc-037, round 50): a quote that
    names départements or régions none of which is the person's is left out; the fiche's own text stays."""
    from actions.passages import said_elsewhere, sentences

    restos = kb.schemes["restos-du-coeur"]
    quote = next(q for q in sentences(restos) if "Seine-et-Marne" in q)
    assert said_elsewhere(quote, ("60", "32"))  # Oise, Hauts-de-France
    assert not said_elsewhere(quote, ("77", "11"))  # Seine-et-Marne itself
    assert not said_elsewhere("Les Restos du Cœur distribuent des paniers-repas.", ("60", "32"))  # names nothing
    assert quote not in sentences(restos, ("60", "32"))
    assert restos.summary.split(". ")[0] in " ".join(sentences(restos, ("60", "32")))


def test_a_source_quote_cut_in_the_middle_of_a_sentence_is_not_quoted(kb) -> None:  # type: ignore[no-untyped-def]
    """« le propriétaire peut être obligé de faire des travaux ? » got « oilhi.beta.gouv.fr (dans le 59 et le
    62) - La plateforme … - CAF, ARS, DDTM », a list cut from a seed, as the fiche's word (sc-090, round 51)."""
    from actions.passages import sentences

    signal = kb.schemes["signalement-logement-indigne"]
    assert any(s.quote and s.quote.startswith("oilhi") for s in signal.sources)
    assert not any(sentence.startswith("oilhi") for sentence in sentences(signal))


@pytest.mark.slow
def test_follow_up_gate(engine, kb) -> None:  # type: ignore[no-untyped-def]
    report = evaluate(engine, load_cases(DEFAULT_DIR, known=kb.schemes))
    summary = markdown(report)
    assert report.answered_rate >= ANSWERED_MIN, summary
    assert report.beside_rate <= BESIDE_MAX, summary
    assert report.honest_rate >= HONEST_MIN, summary

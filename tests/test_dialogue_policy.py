"""The dialogue policy on a given situation reading (issue 7): the situation reader's output is
set by the test, so each rule of the turn table is checked on its own.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from bot.dialogue.api import Incoming, Turn
from bot.dialogue.engine import TURN_RULES, DialogueEngine
from bot.nlu.interpreter import ParseResult
from bot.nlu.situation import Situation
from knowledge.textnorm import fold


class _Scripted:
    """The real interpreter, with the situation reading replaced by the test's."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.extractor = real.extractor
        self.reader = None
        self.next: Situation | None = None

    def parse(self, text: str) -> ParseResult:
        parse = self.real.parse(text)
        if self.next is not None and not text.startswith("/"):
            parse = replace(parse, situation=self.next)
        return parse


def situation(needs: list[str] = (), schemes: list[str] = (), role: str = "self",  # type: ignore[assignment]
              asks: str = "orientation") -> Situation:
    return Situation(needs=[(n, 0.99) for n in needs], schemes=[(s, 0.99) for s in schemes], role=role,
                     asks=asks, role_confidence=0.95, asks_confidence=0.95)


@pytest.fixture()
def bot(kb, interpreter):  # type: ignore[no-untyped-def]
    scripted = _Scripted(interpreter)
    engine = DialogueEngine(kb, scripted)  # type: ignore[arg-type]
    state: dict[str, Any] = {"greeted": True, **engine.new_state()}
    state["greeted"] = True

    def say(text: str, reading: Situation | None = None) -> Turn:
        nonlocal state
        scripted.next = reading
        turn = engine.handle(state, Incoming(text=text, channel="test"))
        state = turn.state
        return turn

    say.state = lambda: state  # type: ignore[attr-defined]
    return say


def text_of(turn: Turn) -> str:
    return fold("\n".join(r.text for r in turn.replies))


def rules_of(turn: Turn) -> list[str]:
    return [e["rule"] for e in turn.state.get("events", []) if "rule" in e]


def test_the_table_reads_like_the_flow_chart() -> None:
    names = [r.name for r in TURN_RULES]
    assert names.index("a question about a scheme: answer it") < names.index("a situation: orient on every need")
    assert names[-1] == "facts, yes/no, anything else"
    assert len(names) <= 20


def test_every_need_is_oriented_shelter_and_food_first(bot) -> None:  # type: ignore[no-untyped-def]
    turn = bot("impayés de cantine et EDF, et le frigo est vide, j'habite à Fruges",
               situation(["cantine", "energie", "alimentation"], ["cantine-a-1-euro", "epiceries-solidaires"]))
    plan = turn.state["slots"]["plan"]
    assert [item["need"] for item in plan][:3] == ["alimentation", "cantine", "energie"]
    text = text_of(turn)
    assert "pour se nourrir" in text and "pour la cantine scolaire" in text and "energie" in text


def test_a_scheme_without_checkable_condition_is_a_place_not_a_right(bot) -> None:  # type: ignore[no-untyped-def]
    turn = bot("je n'arrive plus à gérer mon budget, j'habite à Arras", situation(["budget"], ["point-conseil-budget"]))
    lines = [r.text for r in turn.replies if "Point conseil budget" in r.text and "Un lieu" in r.text]
    assert lines and "Un lieu qui peut aider pour le budget" in lines[0]
    assert "✅ Point conseil budget" not in "\n".join(r.text for r in turn.replies)


def test_follow_up_questions_are_answered_not_repeated(bot) -> None:  # type: ignore[no-untyped-def]
    bot("je n'arrive plus à gérer mon budget, j'habite à Arras", situation(["budget"], ["point-conseil-budget"]))
    papers = bot("quels papiers ?", situation(asks="documents"))
    assert "papiers" in text_of(papers) and "pas compris" not in text_of(papers)
    assert not any(r.custom.get("orientation") for r in papers.replies)
    amount = bot("combien ?", situation(asks="amount"))
    assert "point conseil budget" in text_of(amount)
    how = bot("comment faire ?", situation(asks="how"))
    assert "comment faire" in text_of(how) and "rendez vous" in text_of(how)


def test_a_refused_commune_is_never_asked_again(bot) -> None:  # type: ignore[no-untyped-def]
    bot("je cherche une épicerie solidaire", situation(["alimentation"], ["epiceries-solidaires"], asks="where"))
    assert bot.state()["slots"].get("asking") == "commune"
    bot("je ne sais pas", situation())
    assert "commune" in bot.state()["slots"]["declined"]
    again = bot("où est la France Services la plus proche ?", situation(asks="where"))
    assert bot.state()["slots"].get("asking") != "commune"
    assert "dans quelle commune" not in text_of(again)


def test_not_the_problem_drops_the_need(bot) -> None:  # type: ignore[no-untyped-def]
    bot("je n'ai plus de voiture pour aller au travail, j'habite à Arras", situation(["mobilite"], ["plateforme-mobilite"]))
    turn = bot("non, la voiture c'est pas le problème", situation(["mobilite"]))
    assert "mobilite" in turn.state["slots"]["dropped_needs"]
    assert "plateforme" not in text_of(turn)
    again = bot("je ne veux pas de transport", situation(["mobilite"]))
    assert "plateforme" not in text_of(again)  # a dropped need is not read again


def test_the_same_need_again_is_not_the_same_answer_again(bot) -> None:  # type: ignore[no-untyped-def]
    first = bot("je n'ai plus de voiture pour aller au travail, j'habite à Arras", situation(["mobilite"]))
    assert any(r.custom.get("orientation") for r in first.replies)
    again = bot("le transport c'est pas le problème, il me faut un lit", situation(["mobilite"]))
    assert not any(r.custom.get("orientation") for r in again.replies)
    assert "ce qui manque" in text_of(again)


def test_agent_gets_third_person_and_no_france_services_door(bot) -> None:  # type: ignore[no-untyped-def]
    turn = bot("Agente à la France Services de Desvres, je reçois une dame de 52 ans au RSA, quelles aides ?",
               situation(["ressources"], ["rsa"], role="agent"))
    slots = turn.state["slots"]
    assert slots["role"] == "agent" and slots.get("third_person")
    assert slots.get("commune") is None  # Desvres is where the agent works, not where the person lives
    assert "adressez-vous a la mairie" not in text_of(turn)


def test_a_scheme_the_base_does_not_know_is_said_honestly(bot) -> None:  # type: ignore[no-untyped-def]
    turn = bot("c'est quoi la prime zorglub ?", situation(asks="info"))
    assert "je ne connais pas encore ce dispositif" in text_of(turn)


def test_conditions_are_said_in_words(bot) -> None:  # type: ignore[no-untyped-def]
    turn = bot("sac ados c'est pour qui ?", situation(["vacances"], ["sac-ados"], asks="conditions"))
    assert "16 a 25 ans" in text_of(turn)


def test_an_agent_is_never_sent_to_their_own_kind_of_place(bot) -> None:  # type: ignore[no-untyped-def]
    """A France Services agent gets the steps and places without "France Services"; a CCAS agent
    who says so gets no CCAS (issue 7: "never « adressez-vous à la France Services » to its agent")."""
    turn = bot("Agent France Services : une dame de 40 ans, impayés de loyer, elle habite Calais",
               situation(["logement"], ["fonds-solidarite-logement"], role="agent"))
    assert turn.state["slots"]["role"] == "agent"
    assert any(r.custom.get("orientation") for r in turn.replies)
    text = text_of(turn)
    assert "fonds de solidarite" in text or "fsl" in text
    assert "france services" not in text and "france service" not in text


def test_a_ccas_agent_is_not_sent_to_the_ccas(kb, interpreter) -> None:  # type: ignore[no-untyped-def]
    from actions.speaker import without_own_door

    slots = {"role": "agent", "workplace": "ccas-cias"}
    step = "Appelez la mairie et demandez le CCAS. Apportez une pièce d'identité."
    assert without_own_door(step, slots) == "Apportez une pièce d'identité."
    assert without_own_door(step, {"role": "self"}) == step  # a resident is told everything
    assert "France Services" not in without_own_door("France Services peut vous aider.", {"role": "agent"})


def test_a_list_of_places_loses_only_the_agent_own_kind(kb, interpreter) -> None:  # type: ignore[no-untyped-def]
    """« demandez à la mairie, au CCAS, à l'UDAF ou à France Services »: the agent's own kind is
    taken out of the list, not the whole step (sc-079, sc-083, sc-088 of round 22); a sentence that
    is about their own kind of place goes; a third party hears about « la personne »."""
    from actions.speaker import for_speaker

    fs, ccas = {"role": "agent"}, {"role": "agent", "workplace": "ccas-cias"}
    pcb = "Trouvez le point conseil budget le plus proche : demandez à la mairie, au CCAS, à l'UDAF ou à France Services."
    assert for_speaker(pcb, fs) == "Trouvez le point conseil budget le plus proche : demandez à la mairie, au CCAS ou à l'UDAF."
    assert for_speaker(pcb, ccas) == ("Trouvez le point conseil budget le plus proche : demandez à la mairie, "
                                      "à l'UDAF ou à France Services.")
    assert for_speaker(pcb, {"role": "self"}) == pcb
    asf = "Faites la demande d'ASF dans votre espace caf.fr ; France Services ou un CIDFF peut vous aider."
    assert for_speaker(asf, fs) == "Faites la demande d'ASF dans son espace caf.fr ; un CIDFF peut vous aider."
    numerique = "Demandez à la mairie, à la médiathèque ou à France Services où trouver un conseiller numérique."
    assert for_speaker(numerique, fs) == "Demandez à la mairie ou à la médiathèque où trouver un conseiller numérique."
    about = "Dans une maison France Services, un agent vous aide. Venez avec vos papiers."
    assert for_speaker(about, fs) == "Venez avec ses papiers."
    # in brackets too, and a clause left after « ; » starts the sentence (sc-080, round 23)
    local = "Trouvez la mission locale (mairie, France Services, site des missions locales) ; beaucoup ont des permanences."
    assert for_speaker(local, fs) == "Trouvez la mission locale (mairie, site des missions locales) ; beaucoup ont des permanences."
    assert for_speaker("Contactez France Services ; beaucoup ont des permanences.", fs) == "Beaucoup ont des permanences."
    # a relative clause is no place of a list: the sentence goes rather than break (sc-090, round 23)
    fsl = "Demandez à la CAF ; sinon, adressez-vous au Département ou au CCAS, qui peuvent monter le dossier."
    assert for_speaker(fsl, ccas) == "Demandez à la CAF."


def test_a_kind_of_place_not_for_the_person_leaves_the_list(kb, interpreter) -> None:  # type: ignore[no-untyped-def]
    """« ou à la mission locale » is not said to a man of 45 (sc-084) or 52 (sc-027): needs.yml gives
    the kind of place its publics; unknown age or a young person: the step as it stands."""
    from actions.speaker import for_speaker

    step = ("Demandez à votre conseiller France Travail, à la mission locale ou à votre référent RSA de vous "
            "orienter vers un chantier d'insertion près de chez vous.")
    assert for_speaker(step, {"age": 52}) == ("Demandez à votre conseiller France Travail ou à votre référent RSA "
                                              "de vous orienter vers un chantier d'insertion près de chez vous.")
    assert for_speaker(step, {"age": 20}) == step
    assert for_speaker(step, {}) == step
    only = "Prenez rendez-vous à la mission locale (ou à France Travail)."
    assert for_speaker(only, {"age": 52}) == only  # nothing else to say: the step stays


def test_a_place_door_names_no_agent_own_kind_of_place(kb, interpreter) -> None:  # type: ignore[no-untyped-def]
    """A place without a contact names its door: for an agent, without their own kind of place
    (« CCAS de votre commune ou France Services la plus proche » was given to France Services agents)."""
    from actions.speaker import door_without_own

    door = "CCAS de votre commune ou France Services la plus proche, en demandant l'épicerie mobile"
    assert door_without_own(door, {"role": "agent"}) == "CCAS de votre commune, en demandant l'épicerie mobile"
    ccas = {"role": "agent", "workplace": "ccas-cias"}
    assert door_without_own(door, ccas) == "France Services la plus proche, en demandant l'épicerie mobile"
    assert door_without_own(door, {"role": "self"}) == door
    brackets = "Votre structure d'insertion (chantier, entreprise d'insertion) ou le CCAS de votre commune"
    assert door_without_own(brackets, ccas) == "Votre structure d'insertion (chantier, entreprise d'insertion)"
    # a CCAS agent of Amiens for a family of Longueau: their own CCAS by name goes, Longueau's stays (sc-075)
    elsewhere = {"role": "agent", "workplace": "ccas-cias", "workplace_commune": "80021", "commune": "80489"}
    truck = "Le 115 (urgence sociale, gratuit) ou le CCAS d'Amiens, en demandant la maraude"
    assert door_without_own(truck, elsewhere) == "Le 115 (urgence sociale, gratuit), en demandant la maraude"
    assert door_without_own(door, elsewhere) == door


def test_a_summary_asked_gives_the_last_orientation_as_one_sheet(bot) -> None:  # type: ignore[no-untyped-def]
    before = bot("vous pouvez me faire un récapitulatif ?", situation(asks="summary"))
    assert "rien a resumer" in text_of(before)  # nothing oriented yet: said so
    bot("je n'arrive plus à gérer mon budget, j'habite à Arras", situation(["budget"], ["point-conseil-budget"]))
    sheet = bot("vous pouvez me faire un récapitulatif ?", situation(asks="summary"))
    summaries = [r for r in sheet.replies if r.custom.get("summary")]
    assert len(summaries) == 1 and summaries[0].text == summaries[0].custom["summary"]
    assert "Point conseil budget" in summaries[0].text and "Commune : Arras (62)" in summaries[0].text


def test_a_first_sentence_is_not_cut_inside_brackets() -> None:
    """The Pass'Sport's « à vérifier » line ended « (annonce de juin 2025, selon la presse. » (rounds
    22–24): the « ; » inside the brackets was taken for the end of the sentence."""
    from actions.common import first_sentence

    season = ("Saison 2025-2026 (annonce de juin 2025, selon la presse ; aucune page officielle consultée) : "
              "14 à 17 ans avec l'ARS ; 6 à 19 ans avec l'AEEH.")
    assert first_sentence(season) == ("Saison 2025-2026 (annonce de juin 2025, selon la presse ; aucune page "
                                      "officielle consultée) : 14 à 17 ans avec l'ARS.")
    assert first_sentence("Avoir un enfant. Habiter la commune.") == "Avoir un enfant."
    assert first_sentence("Une seule phrase") == "Une seule phrase"


def test_a_turn_not_understood_offers_first_the_needs_the_reader_leans_to(bot) -> None:  # type: ignore[no-untyped-def]
    leaning = Situation(need_relevance={"sante": 0.28, "jeunes": 0.29, "emploi": 0.13})
    turn = bot("je voudrais voir un psychologue mais je n'ai pas les moyens, j'ai 22 ans", leaning)
    titles = [b.title for r in turn.replies for b in r.buttons]
    assert titles[:2] == ["Jeunes 16-25 ans", "Santé, soins"]  # likeliest first, under the threshold
    assert "Emploi, formation" in titles[2:]  # 0.13: in its usual place, not promoted
    assert "sujets" in text_of(turn) and "ce qui vous preoccupe" not in text_of(turn)
    plain = bot("je voudrais voir un psychologue mais je n'ai pas les moyens", Situation())
    assert [b.title for r in plain.replies for b in r.buttons][0] == "Manger, faire les courses"

"""A place for some publics only (data·inclusion `publics`, rules in knowledge/content/publics.yml)
is proposed to the people the known facts say belong to one of them — even when it carries a
scheme shown: a students' grocery is not a place for a family of Montreuil."""

from __future__ import annotations

from typing import Any

from actions import common

STUDENTS_GROCERY = "Épicerie mobile de la Croix-Rouge pour les étudiants précaires (Seine-Saint-Denis)"
INSERTION_GROCERY = "Épicerie solidaire « ressource » pour les salariés en insertion de Plaine Commune"


def _names(kb: Any, slots: dict[str, Any]) -> list[str]:  # type: ignore[no-untyped-def]
    common.set_kb(kb)
    pick = common.pick_services(slots, ["epiceries-solidaires"], "alimentation", limit=30)
    return [n.service.nom for n in pick.nearby]


def test_a_family_is_not_sent_to_a_students_or_an_insertion_workers_grocery(kb) -> None:  # type: ignore[no-untyped-def]
    family = {"commune": "93048", "children_count": 2}
    names = _names(kb, family)
    assert names, "no place at all for food in Montreuil"
    assert STUDENTS_GROCERY not in names
    assert INSERTION_GROCERY not in names


def test_a_student_is(kb) -> None:  # type: ignore[no-untyped-def]
    assert STUDENTS_GROCERY in _names(kb, {"commune": "93048", "situation": "etudiant", "age": 21})


def test_publics_rules() -> None:
    fits = common.public_fits
    assert fits(["jeunes"], {})  # before the questions: the age may still be asked
    assert not fits(["jeunes"], {}, needs=["emploi"])  # age never said, nothing about young people read
    assert fits(["jeunes"], {}, needs=["emploi", "jeunes"])  # the words are about young people
    assert fits(["familles-enfants"], {}, needs=["cantine"])  # children unknown, a canteen question
    assert not fits(["familles-enfants"], {}, needs=["emploi"])  # « 4 ans que je ne trouve pas de travail »
    assert not fits(["familles-enfants"], {"children_count": 0}, needs=["cantine"])
    assert not fits(["jeunes"], {"age": 45})
    assert fits(["jeunes", "seniors"], {"age": 70})
    assert not fits(["etudiants"], {})  # a positive sign is needed
    assert fits(["etudiants"], {"situation": "etudiant"})
    assert fits(["tous-publics", "etudiants"], {})  # open to all as well
    assert fits(["femmes"], {"age": 30})  # nothing asked tells: no restriction


def test_a_place_for_women_is_left_out_only_when_the_person_is_said_to_be_a_man() -> None:
    fits = common.public_fits
    assert fits(["femmes"], {})  # nothing said: it stays
    assert fits(["femmes"], {"sex": "femme"})
    assert not fits(["femmes"], {"sex": "homme"})
    assert fits(["femmes", "victimes"], {"sex": "homme"})  # also for victims: it stays


def test_the_words_say_whether_the_person_is_a_woman_or_a_man() -> None:
    from bot.nlu.person import sex_of_person

    assert sex_of_person("un gars de 26 ans sans taf ni formation", True) == "homme"
    assert sex_of_person("une dame de 52 ans au RSA", True) == "femme"
    assert sex_of_person("je suis maman de 2 enfants", False) == "femme"
    assert sex_of_person("je suis papa solo, mon ex ne paie rien", False) == "homme"
    # a woman's words about herself win over her son's
    assert sex_of_person("je suis maman solo, mon fils a 3 ans", True) == "femme"
    assert sex_of_person("elle a 2 enfants, il a 3 ans", True) is None  # both: unknown
    assert sex_of_person("un monsieur de 60 ans", False) is None  # not about someone else: the cue is not read


def test_every_fact_a_rule_names_must_fit() -> None:
    fits = common.public_fits
    assert not fits(["demandeurs-demploi"], {"age": 70})  # past 67, not a job seeker's place
    assert fits(["demandeurs-demploi"], {"age": 45})
    assert not fits(["actifs"], {"situation": "retraite"})
    assert fits(["actifs"], {})
    assert not fits(["familles-enfants"], {"children_count": 0})


def test_a_place_found_on_its_theme_alone_needs_a_positive_sign() -> None:
    fits = common.public_fits
    assert not fits(["jeunes"], {}, unknown_fits=False)  # young people's housing for a man whose age is unknown
    assert fits(["jeunes"], {"age": 22}, unknown_fits=False)
    assert not fits(["familles-enfants"], {"age": 78}, unknown_fits=False)  # a programme for families
    assert fits(["familles-enfants"], {"children_count": 2}, unknown_fits=False)


def test_a_scheme_for_people_of_working_age_is_not_proposed_to_a_woman_of_70(kb) -> None:  # type: ignore[no-untyped-def]
    from actions.plan import plan

    common.set_kb(kb)
    assert kb.schemes["plateforme-mobilite"].publics == ["actifs"]
    relevance = {"plateforme-mobilite": 0.8, "transport-solidaire": 0.6}
    shown = {s for item in plan(["mobilite"], ["plateforme-mobilite"], {"age": 70}, relevance) for s in item["schemes"]}
    assert "plateforme-mobilite" not in shown and "transport-solidaire" in shown
    younger = {s for item in plan(["mobilite"], ["plateforme-mobilite"], {"age": 40}, relevance) for s in item["schemes"]}
    assert "plateforme-mobilite" in younger
    # named, it is answered all the same
    named = plan(["mobilite"], ["plateforme-mobilite"], {"age": 70}, relevance, named=["plateforme-mobilite"])
    assert "plateforme-mobilite" in {s for item in named for s in item["schemes"]}


def test_a_place_that_carries_a_scheme_shown_is_proposed_for_what_it_is_about(kb, interpreter) -> None:  # type: ignore[no-untyped-def]
    """The Pas-de-Calais's fund against evictions carries the FSL: not a place for an electricity
    debt; its action against fuel poverty carries it too: not a place for rent arrears."""
    common.set_kb(kb)
    common.set_reader(lambda text: interpreter.reader.read(text).needs)  # as the engine does

    def names(about: list[str], shown: tuple[str, ...] = ("fonds-solidarite-logement",)) -> list[str]:
        pick = common.pick_services({"commune": "62498"}, list(shown), about[0], about=about)
        return [n.service.nom for n in pick.nearby]

    evictions = "Fonds de prévention des expulsions locatives du Pas-de-Calais (apurement de la dette de loyer)"
    energy = "Accompagnement social contre la précarité énergétique (Pas-de-Calais)"
    for_energy = names(["energie", "budget"])
    for_rent = names(["logement"], ("fonds-solidarite-logement", "prevention-expulsions-locatives"))
    assert energy in for_energy and evictions not in for_energy
    assert evictions in for_rent and energy not in for_rent
    # the fund also carries the eviction prevention, whose premise is rent arrears: when that scheme is
    # not shown (a first flat's deposit, sc-020), neither is the fund
    assert evictions not in names(["logement"])


def test_a_report_of_unfit_housing_is_not_for_someone_who_has_no_home() -> None:
    fits = common.public_fits
    assert not fits(["occupants"], {"housing": "sans_domicile"})
    assert fits(["occupants"], {"housing": "locataire"})
    assert fits(["occupants"], {})


def test_a_place_for_homeless_people_or_emergencies_needs_the_housing_or_the_words() -> None:
    """The Solidar truck (publics: personnes-sans-domicile, personnes-en-situation-durgence) was offered
    on its food theme to a student of Amiens (sc-025): a roof or violence must be read, or the housing
    be known to be none."""
    fits = common.public_fits
    street = ["personnes-sans-domicile", "personnes-en-situation-durgence"]
    assert not fits(street, {}, needs=["alimentation"])  # a student asking for food
    assert not fits(street, {"housing": "locataire"}, needs=["alimentation"])
    assert fits(street, {"housing": "sans_domicile"}, needs=["alimentation"])  # sleeping outside, hungry
    assert fits(street, {}, needs=["hebergement"])  # the words are about a roof
    assert fits(["personnes-en-situation-durgence"], {"housing": "locataire"}, needs=["violences"])
    assert fits(street, {})  # before the questions: what they may still settle fits

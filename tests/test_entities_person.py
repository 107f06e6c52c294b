"""Entities about the person concerned, the speaker's workplace, and communes in all spellings."""

from __future__ import annotations

import time
from typing import Any

import pytest

from bot.nlu.entities import Entity, EntityExtractor, names_the_scheme
from bot.nlu.normalize import normalize
from bot.nlu.person import declared_role, works_only_as_speaker


@pytest.fixture(scope="module")
def extractor(kb) -> EntityExtractor:  # type: ignore[no-untyped-def]
    return EntityExtractor(kb)


def first(entities: list[Entity], name: str) -> Entity | None:
    return next((e for e in entities if e.entity == name), None)


@pytest.mark.parametrize(
    ("text", "entity", "value"),
    [
        ("une dame de 52 ans", "age", 52),
        ("un monsieur de 60 ans", "age", 60),
        ("elle a 3 enfants", "children_count", 3),
        ("son fils de 4 ans", "children_ages", [4.0]),
        ("il est au RSA", "situation", "beneficiaire_rsa"),
        # two situations said: the RSA, which decides more rules (its recipients are job seekers too)
        ("il cherche un emploi depuis 3 ans, il est au RSA", "situation", "beneficiaire_rsa"),
        ("elle habite à Lens", "commune", "62498"),
    ],
)
def test_third_person_facts(extractor: EntityExtractor, text: str, entity: str, value: Any) -> None:
    entities = extractor.extract(text)
    found = first(entities, entity)
    assert found is not None and found.value == value, [(e.entity, e.value) for e in entities]
    assert found.subject == "other"
    assert first(entities, "third_person") is not None


def test_first_person_facts_are_not_marked(extractor: EntityExtractor) -> None:
    entities = extractor.extract("j'ai 34 ans et j'habite à Lens")
    assert first(entities, "third_person") is None
    assert all(e.subject is None for e in entities)


@pytest.mark.parametrize(
    ("text", "speaker"),
    [
        ("je suis agente à la France Services de Liévin", "62510"),
        ("je travaille au CCAS d'Amiens", "80021"),
    ],
)
def test_workplace_is_not_the_persons_commune(extractor: EntityExtractor, text: str, speaker: str) -> None:
    entities = extractor.extract(text)
    assert first(entities, "commune") is None
    found = first(entities, "speaker_commune")
    assert found is not None and found.value == speaker


def test_workplace_and_home_in_one_message(extractor: EntityExtractor) -> None:
    entities = extractor.extract("je travaille au CCAS d'Amiens, la dame habite à Boves")
    commune, speaker = first(entities, "commune"), first(entities, "speaker_commune")
    assert commune is not None and commune.value == "80131"
    assert speaker is not None and speaker.value == "80021"


def test_a_second_commune_is_kept_beside_the_first(extractor: EntityExtractor) -> None:
    """« CCAS d'Amiens. Une famille de Longueau… »: no verb says Amiens is a workplace; the dialogue
    knows it from the CCAS just before, and then takes the next commune (`commune_also`)."""
    entities = extractor.extract("Bonjour, CCAS d'Amiens. Une famille de Longueau me demande des bons d'achat")
    commune, also = first(entities, "commune"), first(entities, "commune_also")
    assert commune is not None and commune.value == "80021"
    assert also is not None and also.value == "80489"
    assert first(extractor.extract("j'habite à Lens"), "commune_also") is None


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("j'habite à eu", "76255"),
        ("a lens", "62498"),
        ("ham", "80410"),
        ("j'habite a albert", "80016"),
        ("je vis à Saint-Denis", "93066"),  # covered région first, not La Réunion
        ("saint denis", "93066"),
        ("j'habite à Saint-Denis 974", "97411"),
        ("Saint-Denis, à La Réunion", "97411"),
        ("je suis à eu depuis 2 ans", "76255"),
        ("j'habite a st-omer", "62765"),
        ("80000", "80021"),
        ("j habite a henin beaumont", "62427"),
        ("HENIN BEAUMONT", "62427"),
        ("jsuis a villeneuve dascq", "59009"),
        ("j'habite à Boulogne s/ mer", "62160"),
        ("je vis à montreuil 93", "93048"),
        ("j'habite au 02100", "02691"),
        ("on est de lens", "62498"),
        ("sur ham", "80410"),
        ("je vis a saint-pol", "62767"),
        ("chez moi a liévin", "62510"),
    ],
)
def test_communes_in_all_spellings(extractor: EntityExtractor, text: str, code: str) -> None:
    found = first(extractor.extract(text), "commune")
    assert found is not None and found.value == code


@pytest.mark.parametrize(
    "text",
    [
        "bye, have a nice day",
        "I took too many pills",
        "je suis pas au courant",
        "quand on est a son compte",
        "un logement vide en centre-bourg",
        "on déclare environ 18000 par an",
    ],
)
def test_no_false_commune(extractor: EntityExtractor, text: str) -> None:
    assert first(extractor.extract(text), "commune") is None


def test_resolve_prefers_covered_regions(kb) -> None:  # type: ignore[no-untyped-def]
    commune = kb.gazetteer.resolve("Saint-Denis")
    assert commune is not None and commune.code_insee == "93066"
    assert kb.gazetteer.resolve("Saint-Denis", departement="974").code_insee == "97411"


def test_known_departement_picks_the_homonym(kb) -> None:  # type: ignore[no-untyped-def]
    found = kb.gazetteer.find_in_text("j'habite à Saint-Denis", known_departements=["974"])
    assert found[0][0].code_insee == "97411"


def test_long_repetitive_text_is_linear(extractor: EntityExtractor) -> None:
    start = time.perf_counter()
    extractor.extract("a\n" * 900)
    assert time.perf_counter() - start < 0.25


def test_extractor_uses_the_known_departement(extractor: EntityExtractor) -> None:
    found = first(extractor.extract("j'habite à Saint-Denis", known_departements=["974"]), "commune")
    assert found is not None and found.value == "97411"


def _nlu_texts() -> list[tuple[set[str], str]]:
    import re
    from pathlib import Path

    import yaml

    annotation = re.compile(r"\[([^\]]+)\]\((\w+)\)")
    out = []
    for path in sorted((Path(__file__).parents[1] / "data" / "nlu").glob("*.yml")):
        for item in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu") or []:
            for line in (item.get("examples") or "").splitlines():
                line = line.strip().removeprefix("- ").strip()
                if line:
                    kinds = {m.group(2) for m in annotation.finditer(line)}
                    out.append((kinds, annotation.sub(lambda m: m.group(1), line)))
    return out


def test_no_spurious_communes_in_the_nlu_examples(extractor: EntityExtractor) -> None:
    """Measured on data/nlu (2,812 texts): 7 false communes before ("nice", "au courant", "a son
    compte", "centre-bourg", "18000 par an", "many"), none now. A commune found in a text with no
    place annotation must at least be a capitalised name (Paris, Lens in off-topic messages)."""
    spurious = []
    missed = []
    for kinds, text in _nlu_texts():
        entities = extractor.extract(text)
        commune = first(entities, "commune")
        place = kinds & {"commune", "postal_code"}
        capitalised = commune is not None and commune.start is not None and text[commune.start].isupper()
        if commune is not None and not place and "departement" not in kinds and not capitalised:
            spurious.append((text, commune.value))
        if place and commune is None and first(entities, "speaker_commune") is None \
                and first(entities, "outreach_commune") is None:  # « au marché de Fruges avec un monsieur »
            missed.append(text)
    assert spurious == []
    assert missed == []


def test_writing_for_someone_is_said_by_a_few_words() -> None:
    from bot.nlu.person import writes_for_someone

    assert writes_for_someone("cest pour mon pote qui va se faire expulser")
    assert writes_for_someone("cest un scandale mon pote va se faire expulser la semaine pro")
    assert writes_for_someone("Bonjour, mon petit-fils de 16 ans voudrait partir en vacances")
    assert not writes_for_someone("je voudrais faire des appels vidéo avec mes petits-enfants")
    assert not writes_for_someone("ma petite fille de 3 ans ne dort pas")  # my little girl, or a granddaughter


def test_a_hypothesis_is_not_a_fact(extractor) -> None:  # type: ignore[no-untyped-def]
    """« et s'il est à la rue ? » about a friend threatened with eviction: he is not homeless (sc-099);
    a fact said beside a conditional clause stays."""
    def facts(text: str) -> dict[str, object]:
        return {e.entity: e.value for e in extractor.extract(text) if e.entity in ("housing", "situation")}

    assert facts("et sil est a la rue il fait quoi") == {}
    assert facts("Et s'il est à la rue, il peut aller où ?") == {}
    assert facts("je suis à la rue depuis hier") == {"housing": "sans_domicile"}
    assert facts("je suis locataire si ça compte") == {"housing": "locataire"}
    assert facts("si je trouve un travail, je perds le RSA ?") == {"situation": "beneficiaire_rsa"}


def test_the_rsa_named_is_not_the_rsa_received(extractor) -> None:  # type: ignore[no-untyped-def]
    """« comment fonctionne le RSA ? » asks about the scheme: taken for the person's situation, the RSA
    was left out as already received and a screening of five questions ended on the PMI (held-out)."""
    def facts(text: str) -> dict[str, object]:
        return {e.entity: e.value for e in extractor.extract(text) if e.entity in ("age", "situation")}

    assert facts("Bonjour je voudrais savoir comment fonctionne le RSA, je viens d'avoir 25 ans") == {"age": 25}
    assert "situation" not in facts("Elle peut toucher le RSA ?")
    assert "situation" not in facts("ai-je droit au RSA ?")
    assert "situation" not in facts("on me dit que je gagne trop pour le RSA")
    for received in ("jsui au rsa avec mon fils", "g le rsa", "elle touche le RSA depuis 2 ans", "mon RSA a été suspendu",
                     "usager rsa dans le nord", "jeune maman, bébé de 4 mois, RSA, elle voudrait une formation",
                     "je suis propriétaire mais jai que le rsa", "I'm on RSA"):
        assert facts(received).get("situation") == "beneficiaire_rsa", received


@pytest.mark.parametrize(
    ("text", "speaker_only"),
    [
        ("Bonjour, je travaille au CCAS d'Hazebrouck, une famille me demande de l'aide", True),
        ("I work at a France Services in Abbeville, a pensioner of 71 asks", True),
        ("je travaille à la mission locale, un jeune de 19 ans en CDD voudrait partir", False),
        ("je travaille au CCAS, la dame touche 1000 € de salaire", False),
        ("une dame de 40 ans travaille à temps partiel", False),
    ],
)
def test_the_speakers_own_job_is_not_the_persons_wage(text: str, speaker_only: bool) -> None:
    assert works_only_as_speaker(text) is speaker_only


def test_a_wage_said_is_work(extractor) -> None:  # type: ignore[no-untyped-def]
    situation = first(extractor.extract("jsigne mon 1er appart mais jpeux pas payer la caution, et mon salaire c 1200"),
                      "situation")
    assert situation is not None and situation.value == "salarie"


@pytest.mark.parametrize(
    ("text", "role"),
    [
        ("Je suis ambassadeur dans le Bassin minier. Voilà, une dame de 49 ans", "ambassadeur"),
        ("Ambassadeur ici, dans le Ternois. Une famille d'agriculteurs", "ambassadeur"),
        ("ambassadeur: ya une famille qui a besoin d'un ordi", "ambassadeur"),
        ("Bonjour, ambassadrice à Fourmies, une dame me demande", "ambassadeur"),
        ("Agent d'accueil mairie : une personne me dit qu'elle n'a plus rien", "agent"),
        ("Bonjour, je suis conseillère France Services à Desvres, un monsieur", "agent"),
        ("je voudrais devenir ambassadrice de l'accès aux droits", None),
        ("mon agent immobilier ne répond plus", None),
        ("une conseillère de la CAF m'a dit de vous écrire", None),
        # one's own family said in the first person: the writer is the person (read as a relative at 0.98)
        ("je suis seule avec mon fils de 12 ans, son père ne paie pas la pension", "self"),
        ("Hi, I'm a single mum with two kids", "self"),
        ("Je suis ambassadrice, une maman me dit : je suis seule avec mes trois enfants", "ambassadeur"),
        ("ma fille est seule avec son bébé", None),
    ],
)
def test_a_role_the_writer_declares(text: str, role: str | None) -> None:
    assert declared_role(text) == role


@pytest.mark.parametrize(("text", "scheme"), [
    ("je suis au rsa, g droit a koi dautre ?", False),  # the situation
    ("bonjour, au RSA depuis 2 ans, quelles aides ?", False),
    ("elle peut toucher le RSA ?", True),  # the scheme asked about
    ("j'ai droit au rsa ?", True),
    ("c'est quoi le RSA ?", True),
])
def test_a_bare_rsa_is_the_situation_one_after_an_article_the_scheme(text: str, scheme: bool) -> None:
    start = text.lower().index("rsa")
    assert names_the_scheme(text, start) is scheme


@pytest.mark.parametrize(("text", "expected"), [
    ("jtouche lAAH y a dautres aides", "je touche l aah y a dautres aides"),
    ("jpercois lRSA", "je percois l rsa"),
    ("elle a dAPL ?", "elle a d apl"),
    # capitals alone are a shouted word, not an elided article (« LES », « DANS »)
    ("JE TOUCHE LES ALLOCS DANS LE NORD", "je touche les allocations dans le nord"),
    # in lower case, the SMS lexicon's spellings (round 57, sc-104: EDF was not read)
    ("pr laide pr ledf g besoin de koi comme papiers", "pour l aide pour l edf j ai besoin de quoi comme papiers"),
])
def test_an_elided_article_stuck_to_an_acronym_is_split(text: str, expected: str) -> None:
    """« jtouche lAAH » (simulated SMS): the acronym hidden in « laah » was not read, nor the verb, so the
    benefit received started nothing (twelfth session)."""
    assert normalize(text) == expected


@pytest.mark.parametrize(("text", "home", "speaker"), [
    # round 55, sc-107: the birthplace is not the home, the correction is
    ("ah non jme suis mal exprimé, jsui né a amiens mais la jhabite chez un pote a abbeville", "80001", None),
    ("je suis née à Lille, j'habite à Roubaix", "59512", None),
    # an elided « d' » typed without its apostrophe (« la mission locale dabbeville »)
    ("la mission locale dabbeville c ou ?", "80001", None),
    # round 55, sc-108: where the professional works, not where the person lives
    ("Bonjour, agente FS de Lumbres. J'ai une usagère de 68 ans", None, "62534"),
    # where an ambassadrice meets the person is not surely hers (proposed when hers is asked: see below)
    ("je suis au marché de Péronne avec une dame de 81 ans, veuve", None, None),
    # ... and a home said after it wins
    ("je suis sur le marché de Péronne avec une dame qui habite à Moislains", "80552", None),
    ("J'habite à Lens et je fais mes courses au marché de Lens", "62498", None),
])
def test_the_home_commune_is_neither_a_birthplace_nor_where_the_speaker_is(
        extractor, text: str, home: str | None, speaker: str | None) -> None:  # type: ignore[no-untyped-def]
    entities = extractor.extract(text)
    found, theirs = first(entities, "commune"), first(entities, "speaker_commune")
    assert (found.value if found else None) == home
    assert (theirs.value if theirs else None) == speaker


@pytest.mark.parametrize(("text", "adults"), [
    # round 55, sc-115: she left him; her partner's wage was asked
    ("mon copain ma frappé hier soir jsui partie avec ma fille on a dormi dans la voiture", 1),
    ("j'ai quitté mon mari, j'ai 2 enfants", 1),
    ("je suis partie en vacances avec mon mari", 2),
])
def test_a_partner_left_is_no_couple(extractor, text: str, adults: int) -> None:  # type: ignore[no-untyped-def]
    household = first(extractor.extract(text), "household_adults")
    assert household is not None and household.value == adults


def test_the_commune_where_the_speaker_meets_the_person_is_apart(extractor) -> None:  # type: ignore[no-untyped-def]
    """rounds 55 and 57, sc-109: « je suis au marché de Péronne avec une dame »: Péronne is where they meet,
    proposed as a button when her commune is asked, not her commune; a home said is hers."""
    market = extractor.extract("je suis au marché de Péronne avec une dame de 81 ans")
    assert first(market, "commune") is None
    assert (first(market, "outreach_commune") or Entity("x", None)).value == "80620"
    home = first(extractor.extract("elle habite à Péronne, je l'ai vue au marché"), "commune")
    assert home is not None and home.value == "80620"


@pytest.mark.parametrize(("text", "adults"), [
    ("une dame de 81 ans, veuve, toute seule chez elle", 1),  # round 57, sc-109: « seule ou en couple ? » asked
    ("elle vit seule à Bavay", 1),
    ("mon mari est veuf et sa fille vit avec lui", 2),
])
def test_living_alone_said_of_the_person(extractor, text: str, adults: int) -> None:  # type: ignore[no-untyped-def]
    household = first(extractor.extract(text), "household_adults")
    assert household is not None and household.value == adults

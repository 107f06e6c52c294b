"""knowledge.numbers: the one place that reads numbers, ages, children and amounts."""

from __future__ import annotations

import pytest

from knowledge import answers, numbers
from knowledge.answers import parse_yes_no
from knowledge.numbers import (
    Whose,
    age_mentions,
    find_income,
    find_other_age,
    find_self_age,
    parse_age,
    parse_children,
)
from knowledge.textnorm import fold


@pytest.mark.parametrize(
    ("text", "count", "ages"),
    [
        ("mes enfants ont 7 et 9 ans", 2, [7, 9]),
        ("mes enfants ont 2, 6 et 11 ans", 3, [2, 6, 11]),
        ("j'ai 3 enfants de 2, 6 et 11 ans", 3, [2, 6, 11]),
        ("deux enfants, 6 et 10 ans", 2, [6, 10]),
        ("j'ai des enfants de 6 et 10 ans", 2, [6, 10]),
        ("j'ai 2 enfants, un de 3 ans et une de 8", 2, [3, 8]),
        ("un de 3 ans et une de 8", 2, [3, 8]),
        ("des jumeaux de 4 ans", 2, [4, 4]),
        ("un bébé de 14 mois et un grand de 12 ans", 2, [1.17, 12]),
        ("g 2 enfan 3 et 5 an", 2, [3, 5]),
        ("j'ai 2 enfants de 3 et 7 ans", 2, [3, 7]),
        ("son fils de 4 ans", 1, [4]),
        ("j'ai 34 ans et deux filles de 5 et 8 ans", 2, [5, 8]),
        ("ma fille a 16 ans et mon fils 12 ans", 2, [16, 12]),
        ("my kids are 3 and 5 years old", 2, [3, 5]),
        ("un bébé de 14 mois et une fille de 6 ans", 2, [1.17, 6]),
        ("g 3 enfants 2ans 5ans 9ans", 3, [2, 5, 9]),
        ("jai 2 enfant 4 et 6ans", 2, [4, 6]),
        ("I have two kids aged 4 and 7", 2, [4, 7]),
        ("my son is 12", 1, [12]),
        ("j'ai un enfant de 14mois", 1, [1.17]),
        ("2 enfants (18 mois et 7 ans)", 2, [1.5, 7]),
        ("trois enfants: 2 ans, 5 ans et 9 ans", 3, [2, 5, 9]),
        ("un garçon de 10 ans et une fille de 7", 2, [10, 7]),
        ("j'ai 3 enfants dont un de 4 ans", 3, [4]),
        ("une maman de 35 ans avec 2 enfants de 3 et 6 ans", 2, [3, 6]),
        # an age right before the word "enfants" is not their number; "2 mois de loyer" is no baby
        # (simulated user sc-091: 29 children, and a child of 2 months)
        ("maman seule de 29 ans, enfants de 3 et 7 ans, pas de garde pour le petit, et 2 mois de loyer en retard",
         2, [3, 7]),
        ("un fils de 12 ans et 3 ans de chômage", 1, [12]),
        # an English child's age said with a pronoun after the child (simulated user sc-041)
        ("I moved to Lille with my two kids, I need a daycare for my youngest, she is 2.", 2, [2]),
        ("I have a daughter, she's 7", 1, [7]),
        # a list of ages with no unit, then a new clause (the commas are gone when the words are read)
        ("my kids are 6 and 11, we live in Liancourt", 2, [6, 11]),
        ("mes enfants ont 6 et 11, on habite à Laon", 2, [6, 11]),
    ],
)
def test_children_in_free_text(text: str, count: int, ages: list[float]) -> None:
    info = parse_children(text)
    assert info is not None
    assert (info.count, info.ages) == (count, [float(a) for a in ages])


@pytest.mark.parametrize(
    ("text", "count", "ages"),
    [
        ("6 et 10 ans", 2, [6, 10]),  # both kept
        ("2, 6 et 11 ans", 3, [2, 6, 11]),
        ("2, 6 ans et 9 ans", 2, [6, 9]),  # a count, then each age with its unit
        ("3", 3, []),
        ("non", 0, []),
        ("pas d'enfant", 0, []),
        ("14 mois", 1, [1.17]),
        ("oui, 2", 2, []),
        ("oui deux", 2, []),
        ("j'en ai 3", 3, []),
        ("un seul", 1, []),
        ("non aucun", 0, []),
        ("4 et 6", 2, [4, 6]),
    ],
)
def test_children_as_an_answer(text: str, count: int, ages: list[float]) -> None:
    info = parse_children(text, expecting=True)
    assert info is not None
    assert (info.count, info.ages) == (count, [float(a) for a in ages])


@pytest.mark.parametrize(
    "text",
    [
        "je touche le rsa depuis 2 ans",
        "une petite pension",
        "j'ai 45 ans",
        "je suis enceinte de mon premier bébé",
        "on habite à 10 km",
        "on habite a 2 et 3 km",
        "j'ai 2 enfants et 3 chats",
    ],
)
def test_no_children(text: str) -> None:
    info = parse_children(text)
    assert info is None or not info.ages


def test_elle_a_3_enfants() -> None:
    info = parse_children("elle a 3 enfants")
    assert info is not None and info.count == 3 and info.ages == []


@pytest.mark.parametrize(
    ("text", "age"),
    [("jai 19 ans", 19), ("j'ai 45 ans et 3 enfants", 45), ("I'm 25", 25), ("45 ans, 2 enfants", 45),
     ("je vais avoir 18 ans", 18), ("I am 30 years old", 30)],
)
def test_self_age(text: str, age: int) -> None:
    assert find_self_age(text) == age


@pytest.mark.parametrize(
    "text", ["mon fils a 19 ans", "j'ai 2 enfants de 3 et 7 ans", "je touche le rsa depuis 2 ans", "une dame de 52 ans"]
)
def test_not_the_speakers_age(text: str) -> None:
    assert find_self_age(text) is None


@pytest.mark.parametrize(
    ("text", "age"),
    [("une dame de 52 ans", 52), ("un monsieur de 60 ans", 60), ("il a 60 ans", 60), ("elle a 47 ans et 2 enfants", 47),
     # the age of someone described, followed by where they are from (not « 3 ans de chômage »)
     ("une lycéenne de 17 ans de Sissonne veut passer le BAFA", 17), ("un gars de 26 ans sans taf", 26)],
)
def test_third_person_age(text: str, age: int) -> None:
    assert find_other_age(text) == age
    assert all(m.whose is not Whose.SELF for m in age_mentions(text))


@pytest.mark.parametrize(("text", "age"), [("19", 19), ("45 ans", 45), ("j'ai 19 ans", 19), ("mon fils a 19 ans", None)])
def test_parse_age_answer(text: str, age: int | None) -> None:
    assert parse_age(text) == age


@pytest.mark.parametrize(
    ("text", "amount"), [("1 200 €", 1200.0), ("1200e", 1200.0), ("1,2k", 1200.0), ("rien", 0.0), ("850 euros par mois", 850.0),
                         ("elle a plus rien depuis ce mois-ci", 0.0), ("plus de revenus", 0.0)]
)
def test_money(text: str, amount: float) -> None:
    assert numbers.parse_money(text) == amount


def test_income_needs_an_income_word() -> None:
    assert numbers.find_income("je touche 850 euros") == 850.0
    assert numbers.find_income("une facture de 900 euros") is None


def test_answers_reexports_the_same_parsers() -> None:
    assert answers.parse_children is numbers.parse_children
    assert answers.parse_money is numbers.parse_money
    assert answers.parse_age is numbers.parse_age


def test_pronoun_for_children() -> None:
    info = parse_children("g 2 gosses, ils ont 5 et 8 ans")
    assert info is not None and (info.count, info.ages) == (2, [5.0, 8.0])


def test_on_a_17_ans() -> None:
    assert find_self_age("on a 17 ans avec mes potes et on voudrait partir") == 17


@pytest.mark.parametrize("text", ["oui", "je sais pas", "2 ou 3"])
def test_unclear_children_answers_are_asked_again(text: str) -> None:
    assert parse_children(text, expecting=True) is None


@pytest.mark.parametrize(
    ("text", "refusal", "money"),
    [
        ("je préfère pas dire", True, False),
        ("elle veut pas dire ses revenus", True, True),
        ("il préfère ne pas donner son salaire... enfin il veut pas le dire", True, True),
        ("je ne sais pas", False, False),
        ("mes revenus c'est 900", False, False),
    ],
)
def test_a_refusal_is_not_a_dont_know(text: str, refusal: bool, money: bool) -> None:
    assert answers.is_refusal(text) is refusal
    assert answers.refused_money(text) is money


@pytest.mark.parametrize("text", ["my mother lives alone, she is 82", "she is 2 hours away by bus",
                                  "my son needs help, he is 19"])
def test_a_pronoun_and_a_number_is_no_young_childs_age(text: str) -> None:
    info = parse_children(text)
    assert info is None or info.ages == []


@pytest.mark.parametrize(("text", "age"), [
    ("Je suis une femme de 45 ans, je n'ai jamais vraiment travaillé", 45),
    ("je suis une jeune femme de 19 ans, j'ai des questions sur ma contraception", 19),
    ("Je suis retraitée, 74 ans, veuve, j'habite vers La Capelle", 74),
    ("jsuis un homme de 50 ans au chomage", 50),
    ("i'm a woman, 45 years old", 45),
])
def test_a_person_word_the_writer_says_of_themselves(text: str, age: int) -> None:
    """« je suis une femme de 45 ans » is the writer's age, not someone else's (read as a relative)."""
    assert find_other_age(text) is None
    assert [m.value for m in age_mentions(text) if m.whose is Whose.SELF] == [age]


@pytest.mark.parametrize(("text", "age"), [
    # an adult's age after the verb, without its unit, the next clause starting with a pronoun
    ("My mother is 72, she lives in Lens and she doesn't speak French well.", 72),
    ("mon père a 81, il vit seul à la campagne", 81),
    ("ma mère a 72 ans", 72),
    ("my father is 2 hours away", None),
    # a couple described by an agent (« Un couple de retraités, 72 et 70 ans »): the first age is theirs
    ("Un couple de retraités, 72 et 70 ans, propriétaires", 72),
    ("on est en couple depuis 5 ans", None),
    ("ma mère a 3 enfants", None),
])
def test_a_relatives_age_said_without_its_unit(text: str, age: int | None) -> None:
    assert find_other_age(text) == age


@pytest.mark.parametrize(("text", "ages"), [
    ("my son is 12 he likes football", [12.0]),
    ("ma fille a 4 elle va à l'école", [4.0]),
    # a question after the age (follow-ups fu-b114: « How old is the person? » was asked back)
    ("My son is 15, can he do Sac Ados?", [15.0]),
    ("mon fils a 15, est-ce qu'il peut faire Sac Ados ?", [15.0]),
    ("my kids are 6 and 11, do they get anything?", [6.0, 11.0]),
])
def test_a_childs_age_before_a_clause_that_starts_with_a_pronoun(text: str, ages: list[float]) -> None:
    info = parse_children(text)
    assert info is not None and info.ages == ages


@pytest.mark.parametrize(
    ("text", "years"),
    [("3 ans", 3.0), ("18 mois", 1.5), ("depuis 2021", 5.0), ("2021", 5.0), ("en 2019", 7.0), ("4", 4.0),
     ("2031", None), ("je sais pas", None)],
)
def test_how_long_a_dwelling_has_been_empty(text: str, years: float | None) -> None:
    # « 2021 » alone answers « depuis combien de temps ? » with the year it started (simulated users, round
    # 40, sc-019: « depui 2021 » then « 2021 » were not understood); a year to come is no answer
    assert numbers.parse_duration_years(text, this_year=2026) == years


@pytest.mark.parametrize("text, expected", [
    ("avec 650 € de pension", 650.0),
    ("elle a 650 € de retraite", 650.0),
    ("on vit avec 550 € de RSA", 550.0),
    ("une facture de 900 € de chauffage", None),
    ("j'ai 45 ans de travail", None),
])
def test_income_said_before_its_word(text: str, expected: float | None) -> None:
    assert find_income(fold(text)) == expected


@pytest.mark.parametrize("text, expected", [
    ("Handicap moteur, le dossier MDPH n'est pas encore déposé.", False),
    ("not yet", False),
    ("oui mais pas encore", True),
    ("je sais pas", None),
])
def test_not_yet_is_no(text: str, expected: bool | None) -> None:
    assert parse_yes_no(text) is expected


@pytest.mark.parametrize("text, expected", [
    # « elle a plus rien » said no income: it was asked again (simulated users, round 43, sc-095)
    ("ma soeur a perdu son taf, elle a plus rien, on fait quoi", 0.0),
    ("je touche rien depuis 2 mois", 0.0),
    ("aucun revenu", 0.0),
    ("j'ai plus rien", 0.0),
    ("on a plus rien a manger", None),
    ("on a plus rien dans le frigo", None),
    ("je comprends rien du tout", None),
    ("j'ai rien dit", None),
])
def test_no_income_said_in_free_text(text: str, expected: float | None) -> None:
    assert find_income(fold(text)) == expected

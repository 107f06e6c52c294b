"""Parse what people answer into facts: yes/no, "je ne sais pas", choices; numbers, ages,
children and amounts come from knowledge.numbers (one place, shared with the entity extractor).

Tolerant of SMS spelling and missing accents ("nan", "jsp"). Each parser returns None when
unsure, so the dialogue asks again instead of guessing.
"""

from __future__ import annotations

import re

from knowledge.numbers import (
    NUMBER_WORDS,
    ChildrenInfo,
    parse_age,
    parse_children,
    parse_duration_years,
    parse_money,
    parse_pregnancy,
    parse_quotient,
    words_to_digits,
)
from knowledge.textnorm import fold

#: numbers, ages and amounts are read by knowledge.numbers; re-exported for existing callers
__all__ = [
    "NUMBER_WORDS",
    "ChildrenInfo",
    "is_dont_know",
    "is_refusal",
    "refused_money",
    "parse_age",
    "parse_children",
    "parse_duration_years",
    "parse_choice",
    "parse_money",
    "parse_pregnancy",
    "parse_quotient",
    "parse_yes_no",
    "words_to_digits",
]

# ---------------------------------------------------------------- yes / no / don't know
YES = {
    "oui", "ouais", "ouai", "ouii", "oue", "wi", "yes", "yep", "yeah", "ok", "okay", "d accord", "dac", "daccord",
    "exact", "exactement", "c est ca", "tout a fait", "bien sur", "carrement", "si", "absolument", "voila", "y",
    "o", "affirmatif", "vrai", "oui oui", "ouep", "c bien ca", "ben oui", "bah oui", "evidemment",
}  # fmt: skip
NO = {
    "non", "nan", "nn", "no", "nope", "pas du tout", "non merci", "jamais", "aucun", "aucune", "n", "faux",
    "pas vraiment", "ben non", "bah non", "non non", "negatif", "nop", "pas encore", "pas de",
}  # fmt: skip
DONT_KNOW = {
    "je sais pas", "je ne sais pas", "sais pas", "jsp", "j sais pas", "chais pas", "chai pas", "aucune idee",
    "ne sais pas", "je ne connais pas", "je connais pas", "inconnu", "no idea", "i don t know", "dont know",
    "je sais plus", "je ne sais plus", "pas sur", "pas sure", "jsais pas", "j en sais rien", "sais pas trop",
    "je ne le connais pas", "je le connais pas", "idk", "je ne sais",
}  # fmt: skip


#: a refusal, not a « don't know »: the person (or the one described) prefers not to say
REFUSE = ("prefere pas dire", "prefere ne pas dire", "prefere pas le dire", "prefere ne pas le dire",
          "veut pas dire", "veux pas dire", "veut pas le dire", "veux pas le dire", "pas envie de dire",
          "prefere pas repondre", "prefere ne pas repondre", "rather not say", "prefer not to say",
          "ca vous regarde pas", "c est prive", "c est personnel")  # fmt: skip
#: the facts about money a refusal covers together (a QF refused is no invitation to give the income)
MONEY_FACTS = ("monthly_income", "quotient_familial")
_MONEY_WORDS = re.compile(r"\b(?:revenus?|salaires?|ressources|quotient|qf|combien (?:elle|il|je) gagne|income)\b")


def is_refusal(text: str) -> bool:
    t = fold(text)
    return any(phrase in t for phrase in REFUSE)


def refused_money(text: str) -> bool:
    """« elle veut pas dire ses revenus »: money facts refused in a message, before being asked."""
    t = fold(text)
    return is_refusal(text) and bool(_MONEY_WORDS.search(t))


def parse_yes_no(text: str) -> bool | None:
    t = fold(text)
    if t in YES or t.startswith(("oui ", "ouais ", "yes ")):
        return True
    if t in NO or t.startswith(("non ", "nan ", "no ")):
        return False
    if f" {t} ".find(" pas encore ") >= 0 or f" {t} ".find(" not yet ") >= 0:
        return False  # « le dossier MDPH n'est pas encore déposé » : not (yet) what is asked
    return None


def is_dont_know(text: str) -> bool:
    t = fold(text)
    if t in DONT_KNOW:
        return True
    return any(phrase in t for phrase in DONT_KNOW if len(phrase) > 6)


# ---------------------------------------------------------------- choices
def parse_choice(text: str, options: dict[str, list[str]]) -> str | None:
    """Pick the option whose synonyms occur in the text. `options`: value -> list of phrases."""
    t = f" {fold(text)} "
    best: tuple[int, str] | None = None
    for value, phrases in options.items():
        for phrase in [value.replace("_", " "), *phrases]:
            p = fold(phrase)
            if p and f" {p} " in t and (best is None or len(p) > best[0]):
                best = (len(p), value)
    return best[1] if best else None

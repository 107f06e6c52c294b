"""Parse what people answer or write into facts: ages, children, amounts, yes/no, choices.

Tolerant of SMS spelling and missing accents ("g 2 enfants de 3 et 7 ans", "jai 19 ans",
"QF 650", "1 200 €", "un bébé de 14 mois", "nan"). Each parser returns None when unsure,
so the dialogue asks again instead of guessing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from knowledge.textnorm import fold

NUMBER_WORDS = {
    "zero": 0, "aucun": 0, "aucune": 0, "pas": 0, "un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4,
    "cinq": 5, "six": 6, "sept": 7, "huit": 8, "neuf": 9, "dix": 10, "onze": 11, "douze": 12,
    "treize": 13, "quatorze": 14, "quinze": 15, "seize": 16, "dix sept": 17, "dix huit": 18,
    "dix neuf": 19, "vingt": 20, "trente": 30, "quarante": 40, "cinquante": 50, "soixante": 60,
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
}  # fmt: skip

_WORD_NUMBER_RE = re.compile(r"\b(" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True)) + r")\b")


def words_to_digits(text: str) -> str:
    """'deux enfants de trois et sept ans' -> '2 enfants de 3 et 7 ans' (on folded text)."""

    def repl(match: re.Match[str]) -> str:
        word = match.group(1)
        if word == "pas":
            return word
        return str(NUMBER_WORDS[word])

    return _WORD_NUMBER_RE.sub(repl, text)


def _folded(text: str) -> str:
    text = fold(text)
    # SMS spellings that hide numbers or verbs: "g 2 enfants", "jai", "chui", "ya"
    text = re.sub(
        r"\b(g|j ai|jai|jé|ja|jsuis|chui|jsui)\b",
        lambda m: "j ai" if m.group(1) != "jsuis" else "je suis",
        text,
    )
    return words_to_digits(text)


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


def parse_yes_no(text: str) -> bool | None:
    t = fold(text)
    if t in YES or t.startswith(("oui ", "ouais ", "yes ")):
        return True
    if t in NO or t.startswith(("non ", "nan ", "no ")):
        return False
    return None


def is_dont_know(text: str) -> bool:
    t = fold(text)
    if t in DONT_KNOW:
        return True
    return any(phrase in t for phrase in DONT_KNOW if len(phrase) > 6)


# ---------------------------------------------------------------- ages
_AGE_RE = re.compile(r"\b(\d{1,3})\s*(?:ans|an|a|years?|yo|berges|piges)\b")
_SELF_AGE_RE = re.compile(
    r"\b(?:j ai|moi|i m|i am|age|agee?|jeune de|je vais avoir|je fete mes)\s*(?:de\s*)?(\d{1,3})\s*(?:ans|an|years?|yo|piges)?\b"
)


def parse_age(text: str, bare_number_ok: bool = True) -> int | None:
    """The person's own age: "j'ai 19 ans", "19", "45 ans". None if absent or implausible."""
    t = _folded(text)
    match = _SELF_AGE_RE.search(t)
    if match is None and not re.search(r"\b" + _CHILD_WORDS + r"\b", t):  # "2 enfants de 6 et 11 ans"
        match = _AGE_RE.search(t)
    if match is None and bare_number_ok:
        match = re.fullmatch(r"\s*(\d{1,3})\s*", t)
    if match is None:
        return None
    age = int(match.group(1))
    return age if 10 <= age <= 110 else None


# ---------------------------------------------------------------- children
_CHILD_WORDS = r"(?:enfants?|jumeaux|jumelles|triples|triples|gosses?|gamins?|gamines?|petits?|bebes?|bb|fils|filles?|ados?|adolescents?|kids?|children|child|mome?s?|loulous?|petite?s?)"
# "une petite pension" is not a child: the singular "petit(e)" does not count children
_COUNT_RE = re.compile(r"\b(\d{1,2})\s*(?!petite?\b)(?:" + _CHILD_WORDS + r")\b")
_AGE_ITEM_RE = re.compile(r"(\d{1,2}(?:[.,]5)?)\s*(mois|ans?|years?|month|months)?")
_AGE_LIST_RE = re.compile(
    r"(?:\b(?:de|ages? de|agee?s? de|qui ont|ont|of|aged)|:|\()\s*((?:\d{1,2}(?:[.,]5)?\s*(?:mois|ans?|years?|months?)?\s*(?:,|et|and|&|\s)\s*)*\d{1,2}(?:[.,]5)?\s*(?:mois|ans?|years?|months?)?)"
    # the last number is an age, not the start of another child ("de 14 mois et 1 fille de 6 ans")
    r"(?!\s*" + _CHILD_WORDS + r"\b)"
)
_BARE_AGE_LIST_RE = re.compile(
    r"\s*((?:\d{1,2}\s*(?:mois|ans?|years?|months?)\s*(?:,|et|and|&|\s)\s*)*\d{1,2}\s*(?:mois|ans?|years?|months?))\b"
)
_BABY_RE = re.compile(
    r"\b(?:bebe|bb|nourrisson|nouveau ne|baby)\b(?:\s*de\s*(\d{1,2})\s*(mois|ans?|semaines?))?"
)
_SINGLE_CHILD_AGE_RE = re.compile(
    r"\b(?:mon|ma|1|un|une)\s+(?:fils|fille|enfant|gamin|gamine|petit|petite|ado|bebe|garcon|son|daughter|kid)\s*(?:(?:il|elle|qui)\s+)?(?:a|de|qui a|age de|agee? de|has|is)?\s*(\d{1,2})\s*(mois|ans?|years?)\b"
)
_TWINS_RE = re.compile(r"\b(jumeaux|jumelles|twins)\b(?:\s*(?:de|ont|qui ont|ages de)\s*(\d{1,2})\s*(mois|ans?))?")
_NO_CHILD_RE = re.compile(
    r"\b(?:pas d enfants?|sans enfants?|0 enfants?|aucun enfants?|no kids?|no children|pas de gosses?)\b"
)
_PREGNANT_RE = re.compile(r"\b(?:enceinte|pregnant|attend un bebe|attends un bebe)\b")


@dataclass
class ChildrenInfo:
    count: int | None
    ages: list[float]


def _age_value(number: str, unit: str | None) -> float:
    value = float(number.replace(",", "."))
    if unit and unit.startswith(("mois", "month")):
        return round(value / 12, 2)
    if unit and unit.startswith("semaine"):
        return round(value / 52, 2)
    return value


def parse_children(text: str, expecting: bool = False) -> ChildrenInfo | None:
    """Children count and ages. `expecting`: the question was about children (bare numbers OK)."""
    t = _folded(text)
    if _NO_CHILD_RE.search(t) or (expecting and (t in NO or t in {"0", "aucun", "aucune", "pas"})):
        return ChildrenInfo(0, [])
    ages: list[float] = []
    count: int | None = None
    count_match = _COUNT_RE.search(t)
    singles = list(_SINGLE_CHILD_AGE_RE.finditer(t))
    listed = (0, 0)  # span of the ages listed after the count, so a child is not counted twice
    # "un bébé de 14 mois et une fille de 6 ans": "un bébé" is one child of a list, not the total
    if count_match and not (count_match.group(1) == "1" and singles):
        count = int(count_match.group(1))
        tail = t[count_match.end() :]
        list_match = (
            _AGE_LIST_RE.match(tail, len(tail) - len(tail.lstrip()))
            or _BARE_AGE_LIST_RE.match(tail)  # "2 enfants (18 mois et 7 ans)", brackets folded away
            or _AGE_LIST_RE.search(tail[:60])
        )
        if list_match:
            ages = [_age_value(n, u) for n, u in _AGE_ITEM_RE.findall(list_match.group(1))]
            listed = (count_match.end() + list_match.start(1), count_match.end() + list_match.end(1))
    for match in singles:
        if not listed[0] <= match.start(1) < listed[1]:
            ages.append(_age_value(match.group(1), match.group(2)))
    twins = _TWINS_RE.search(t)
    if twins and count is None:
        count = 2
        if twins.group(2):
            ages = [_age_value(twins.group(2), twins.group(3))] * 2
    baby = None if _PREGNANT_RE.search(t) else _BABY_RE.search(t)  # "enceinte, mon premier bébé": not born yet
    if baby and not ages:
        ages.append(_age_value(baby.group(1), baby.group(2)) if baby.group(1) else 0.5)
    if count is None and ages:
        count = len(ages)
    if count is None and baby:
        count = 1
    if count is None and expecting:
        bare = re.fullmatch(r"\s*(\d{1,2})\s*", t)
        if bare:
            count = int(bare.group(1))
        else:
            items = _AGE_ITEM_RE.findall(t)
            if items and re.search(r"\b(ans|mois)\b", t):
                with_unit = [(n, u) for n, u in items if u]
                leading = items[0] if not items[0][1] else None
                if leading and len(items) > 1 and int(float(leading[0])) == len(items) - 1:
                    items = items[1:]  # "2, 6 ans et 9 ans": a count then the ages
                elif with_unit and leading and len(with_unit) == len(items) - 1:
                    items = items[1:]
                ages = [_age_value(n, u) for n, u in items]
                count = len(ages)
    if count is None and not ages:
        return None
    ages = [a for a in ages if 0 <= a <= 30][: count or None]
    return ChildrenInfo(count, ages)


def parse_pregnancy(text: str) -> bool:
    return bool(_PREGNANT_RE.search(fold(text)))


# ---------------------------------------------------------------- money
_MONEY_RE = re.compile(r"(\d{1,3}(?:[ .]\d{3})+|\d+)(?:[.,](\d{1,2}))?\s*(k)?\s*(?:e|eur|euros?|€)?\b")
_QF_RE = re.compile(
    r"\b(?:qf|quotient(?: familial)?|quotien)\b"
    r"(?:\s*(?:caf|de|est|c|a|=|:|familial|mon|notre|son|environ|d|vers|autour|fait))*\s*(\d{2,4})\b"
)
_ZERO_INCOME_RE = re.compile(
    r"\b(?:pas de revenus?|aucun revenu|0 revenu|rien du tout|sans revenu|no income|zero revenu)\b"
)


def parse_money(text: str) -> float | None:
    """An amount in euros: "1 200 €", "1200e", "1,2k", "850 euros par mois", "rien"."""
    raw = text.lower().replace("€", " € ")
    t = fold(raw)
    if _ZERO_INCOME_RE.search(t) or t in {"0", "rien", "zero", "aucun"}:
        return 0.0
    for match in _MONEY_RE.finditer(raw.replace("\u202f", " ").replace("\u00a0", " ")):
        whole = re.sub(r"[ .]", "", match.group(1))
        value = float(whole + ("." + match.group(2) if match.group(2) else ""))
        if match.group(3):
            value *= 1000
        if 0 <= value <= 100_000:
            return value
    return None


def parse_quotient(text: str) -> float | None:
    match = _QF_RE.search(fold(text))
    return float(match.group(1)) if match else None


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


# ---------------------------------------------------------------- durations
_DURATION_RE = re.compile(r"(\d{1,3}(?:[.,]5)?)\s*(ans?|annees?|years?|mois|months?)\b(\s+et\s+demi)?")
_SINCE_YEAR_RE = re.compile(r"\b(?:depuis|since|en|de)\s+((?:19|20)\d{2})\b")


def parse_duration_years(text: str, this_year: int | None = None) -> float | None:
    """How long, in years: "3 ans", "18 mois", "deux ans et demi", "depuis 2021", "4". None if unsure."""
    import datetime as dt

    t = words_to_digits(_folded(text))
    since = _SINCE_YEAR_RE.search(t)
    if since:
        year = this_year or dt.date.today().year
        return float(year - int(since.group(1))) if int(since.group(1)) <= year else None
    match = _DURATION_RE.search(t)
    if match:
        value = _age_value(match.group(1), match.group(2))
        return value + (0.5 if match.group(3) else 0.0)
    bare = re.fullmatch(r"\s*(\d{1,2})\s*", t)
    return float(bare.group(1)) if bare else None

"""One place that reads numbers, ages and amounts in what people write.

Used by the entity extractor (free text) and by the answer parsers (replies to a question).
Tolerant of SMS spelling and missing accents: "g 2 enfan 3 et 5 an", "jai 19 ans", "QF 650",
"1 200 €", "un bébé de 14 mois et un grand de 12 ans", "une dame de 52 ans".

Ages are read as *mentions*: a number with its unit ("7 et 9 ans": the unit is shared) and
the word it is said of, found by looking back over the small words ("mes enfants ont 7 et 9
ans" -> enfants; "j'ai 34 ans" -> the speaker; "une dame de 52 ans" -> someone else). The
vocabulary (child words, adult words) is short and closed; no pattern grows per case.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from knowledge.textnorm import fold

MAX_TEXT = 4000  # longer messages are read on their first MAX_TEXT characters

NUMBER_WORDS = {
    "zero": 0, "aucun": 0, "aucune": 0, "pas": 0, "un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4,
    "cinq": 5, "six": 6, "sept": 7, "huit": 8, "neuf": 9, "dix": 10, "onze": 11, "douze": 12,
    "treize": 13, "quatorze": 14, "quinze": 15, "seize": 16, "dix sept": 17, "dix huit": 18,
    "dix neuf": 19, "vingt": 20, "trente": 30, "quarante": 40, "cinquante": 50, "soixante": 60,
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10,
}  # fmt: skip

_WORD_NUMBER_RE = re.compile(r"\b(" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True)) + r")\b")
_SMS_VERBS = re.compile(r"\b(g|jai|je|ja|jsuis|chui|jsui|chuis)\b")
_DIGIT_STUCK = re.compile(r"(\d)([a-z])")
_SMS_VERB_FORMS = {"jsuis": "je suis", "chui": "je suis", "jsui": "je suis", "chuis": "je suis"}


def words_to_digits(text: str) -> str:
    """'deux enfants de trois et sept ans' -> '2 enfants de 3 et 7 ans' (on folded text)."""

    def repl(match: re.Match[str]) -> str:
        word = match.group(1)
        return word if word == "pas" else str(NUMBER_WORDS[word])

    return _WORD_NUMBER_RE.sub(repl, text)


def fold_numbers(text: str) -> str:
    """Folded text with SMS verbs spelled out and number words as digits: "g 2 enfan" -> "j ai 2 enfan"."""
    text = _DIGIT_STUCK.sub(r"\1 \2", fold(text[:MAX_TEXT]))  # "6ans", "14mois"
    text = _SMS_VERBS.sub(
        lambda m: _SMS_VERB_FORMS.get(m.group(1), "j ai" if m.group(1) in ("g", "jai", "ja") else m.group(1)),
        text,
    )
    return words_to_digits(text)


# ---------------------------------------------------------------- amounts
_MONEY_RE = re.compile(r"(\d{1,3}(?:[ .]\d{3})+|\d+)(?:[.,](\d{1,2}))?\s*(k)?\s*(?:e|eur|euros?|€)?\b")
_QF_RE = re.compile(
    r"\b(?:qf|quotient(?: familial)?|quotien)\b"
    r"(?:\s*(?:caf|de|est|c|a|=|:|familial|mon|notre|son|environ|d|vers|autour|fait))*\s*(\d{2,4})\b"
)
_ZERO_INCOME_RE = re.compile(
    r"\b(?:pas de revenus?|aucun revenu|0 revenu|rien du tout|sans revenu|no income|zero revenu|"
    r"plus (?:de |d |aucun )?revenus?|plus rien(?! (?:a|pour|dans|de|d)\b))\b"
)
#: no income at all, said in free text: « elle a plus rien », « je touche rien », « sans revenus » (not
#: « je comprends rien du tout », nor « plus rien à manger »: parse_money's wider list is for answers)
_NO_INCOME_SAID_RE = re.compile(
    r"\b(?:pas de revenus?|aucun revenu|sans revenus?|no income|zero revenu|plus (?:de |d |aucun )?revenus?|"
    r"(?:(?:a|ai|avons|ont) plus|(?:touche|touchons|touchent|gagne|gagnons|percoit|percois)(?: plus| pas| jamais)?) rien"
    r"(?! (?:a|pour|dans|de|d|du)\b))\b"
)
#: an amount counts as the household's income only next to an income word ("je touche 900",
#: "on gagne 1 500 e par mois", "salaire de 1200"), never a bill or a debt ("facture de 900 euros")
_INCOME_RE = re.compile(
    r"\b(?:gagne|gagnons|gagnent|touche|touchons|touchent|percois|percoit|revenus?|salaires?|ressources|"
    r"pension|allocations?|smic|on vit avec|je vis avec|vivons avec|i earn|income)"
    r"(?: \w+){0,4}? (\d{1,3}(?: \d{3})+|\d{2,5})(?: ?(?:e|eur|euros?|k))?\b"
)

#: « une petite retraite de 860 € » (not « retraité depuis 2019 »)
_PENSION_RE = re.compile(r"\bretraites? (?:\w+ ){0,2}?(?:de|d) (\d{1,3}(?: \d{3})+|\d{2,5})(?: ?(?:e|eur|euros?|k))?\b")

#: the amount before what it is: « avec 650 € de pension », « 900 euros de salaire », « 550 € de RSA »
_INCOME_AFTER_RE = re.compile(
    r"(?:^|[ ,;:(])(\d{1,3}(?: \d{3})+|\d{2,5}) ?(?:e|eur|euros?)? (?:de|d) (?:\w+ )?"
    r"(?:pension|retraite|salaire|revenus?|ressources|chomage|rsa|aah|allocations?)\b")


def parse_money(text: str) -> float | None:
    """An amount in euros: "1 200 €", "1200e", "1,2k", "850 euros par mois", "rien"."""
    raw = text[:MAX_TEXT].lower().replace("€", " € ")
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
    """ "QF 650", "mon quotient familial est de 820", "qf=1200"."""
    match = _QF_RE.search(fold(text[:MAX_TEXT]))
    return float(match.group(1)) if match else None


#: "je travaille à mi-temps, 780 € par mois": an amount by the month with no income word is the
#: income only when no charge is named just before it ("un loyer de 500 € par mois" is not)
_MONTHLY_RE = re.compile(r"(?:^|[ ,;:(])(\d{1,3}(?: \d{3})+|\d{2,5}) ?(?:(?:e|eur|euros?) )?(?:par mois|/ ?mois|mensuels?|net|a month|per month)\b")
_CHARGE_BEFORE_RE = re.compile(
    r"\b(?:loyers?|credits?|factures?|dettes?|pret|charges?|rembourse\w*|mensualites?|paye|payer|payons|"
    r"coute|coutent|cout|doi[st]|devons|impayes?|retard|rent|arrears|debts?|bills?|pay)\b")


def find_income(normalized: str) -> float | None:
    """A monthly income said in free text (normalized: folded, SMS expanded), at least 50 €, or 0 when
    the text says there is none."""
    text = normalized[:MAX_TEXT]
    if _NO_INCOME_SAID_RE.search(text):
        return 0.0
    match = _INCOME_RE.search(text) or _PENSION_RE.search(text) or _INCOME_AFTER_RE.search(text)
    amount = parse_money(match.group(1)) if match else None
    if amount is None:
        for monthly in _MONTHLY_RE.finditer(text):
            before = " ".join(text[:monthly.start(1)].split()[-5:])
            if not _CHARGE_BEFORE_RE.search(before):
                amount = parse_money(monthly.group(1))
                break
    return amount if amount is not None and amount >= 50 else None


# ---------------------------------------------------------------- age mentions
def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


class Whose(StrEnum):
    """Whom an age is said of."""

    SELF = "self"  # the speaker: "j'ai 34 ans"
    OTHER = "other"  # an adult the speaker talks about: "une dame de 52 ans", "il a 60 ans"
    CHILD = "child"  # "mes enfants ont 7 et 9 ans", "son fils de 4 ans"
    UNKNOWN = "unknown"  # a bare "45 ans"


_CHILD_WORD = re.compile(
    r"^(?:enfants?|enfan|enfans|anfants?|enfents?|jumeaux|jumelles|twins|triples|gosses?|gamins?|gamines?|"
    r"petits?|petites?|grands?|grandes?|bebes?|bb|nourrissons?|fils|filles?|ados?|adolescents?|kids?|children|"
    r"child|momes?|loulous?|garcons?|sons?|daughters?|babys?|babies|boys?|girls?|aine|ainee|cadet|cadette|"
    r"benjamin|benjamine|derniere?|premiere?|deuxieme|troisieme)$"
)
_TWIN_WORD = re.compile(r"^(?:jumeaux|jumelles|twins)$")
_BABY_WORD = re.compile(r"^(?:bebes?|bb|nourrissons?|baby|babies)$")
_ADULT_WORD = re.compile(
    r"^(?:dame|monsieur|mr|mme|madame|femme|homme|personne|usager|usagere|beneficiaire|mere|pere|maman|papa|"
    r"mari|epouse|conjointe?|compagnon|compagne|retraitee?s?|seniors?|couple|jeune|elles?|ils?|lui|they|woman|man|lady|"
    r"gentleman|she|he|client|cliente|locataire|proprietaire|voisine?|tante|oncle|grand mere|grand pere|"
    r"mamie|papi|etudiante?|salariee?|lyceenne?|allocataire|chomeur|chomeuse|apprentie?|soeurs?|freres?|cousine?|amie?|potes?|"
    r"copine|copain|collegue|gars|mec|nana|meuf|sister|brother|"
    r"friend|mother|father|neighbou?r)$"
)
_PRONOUNS = frozenset({"elle", "elles", "il", "ils", "she", "he", "they"})
#: words that start a new clause after a list of ages (the commas are gone by then): « mes enfants ont 6
#: et 11, on habite à Laon », « my kids are 6 and 11, we live in Liancourt », and a question after it:
#: « my son is 15, can he do Sac Ados? » (follow-ups fu-b114: his age was asked back), « a 15, est-ce que… »
_CLAUSE_START = _PRONOUNS | {"on", "nous", "je", "j", "tu", "vous", "i", "we", "you",
                             "can", "could", "does", "do", "is", "will", "would", "should", "est", "peut", "peuvent"}
_SELF_WORD = re.compile(r"^(?:ai|moi|m|am|im|suis|j|je|we|on|nous|avons|sommes|jaurai|aurai|avoir|fete)$")
#: small words skipped when looking for whom an age is said of
_SKIP = _words(
    "de d du ont a qui age agee ages agees aged respectivement et and mon ma mes son sa ses leur leurs notre "
    "nos votre vos le la les l un une 1 of is are has have aussi deja bientot presque environ tout juste "
    "seulement dont avec en vont va vais "
    # what is said of a person between the word and the age: « maman seule de 29 ans »
    "seul seule celibataire isole isolee enceinte separe separee divorce divorcee veuf veuve"
)
_UNIT = re.compile(r"^(?:ans?|annees?|mois|years?|yrs?|yo|months?|semaines?|weeks?|piges|berges)$")
_NUMBER = re.compile(r"^\d{1,3}$")
_CONNECTOR = frozenset({"et", "and", "puis", "ou"})
#: words after which a child's age may come without its unit ("ma fille a 2", "my son is 12", "aged 4")
_BARE_AGE_VERBS = _words("a de ont aged is are age ages agee agees")
_NOT_AGE_AFTER = _words(
    "km kms kilo kilos kilometres min minutes h heures euros euro e eur k m2 metres personnes fois"
)
_DURATION_BEFORE = _words("depuis pendant dans y ya durant for since ago")


@dataclass(frozen=True)
class AgeMention:
    value: float  # in years
    whose: Whose
    referent: str | None  # the word the age is said of ("enfants", "dame")
    position: int  # index of the number among the words
    twins: bool = False
    leading: bool = False  # only small words before it: "45 ans, 2 enfants", "âgée de 45 ans"


def _split(folded: str) -> list[str]:
    return folded.split()


def _age_value(number: str, unit: str | None) -> float:
    value = float(number.replace(",", "."))
    if unit and unit.startswith(("mois", "month")):
        return round(value / 12, 2)
    if unit and unit.startswith(("semaine", "week")):
        return round(value / 52, 2)
    return value


#: « je suis une (jeune) femme de 45 ans », « i'm a single mum »: a person word the writer says of themselves
_I_AM = frozenset({"suis", "sui", "jsuis", "jsui", "chui", "m", "am", "im"})
_BEFORE_PERSON_WORD = _words("un une 1 a an jeune young single")


def _describes_oneself(words: list[str], j: int) -> bool:
    """The person word at words[j] follows « je suis » (« je suis une femme de 45 ans », « je suis
    retraitée, 74 ans »): the writer describes themselves, not someone else."""
    k = j - 1
    while k >= 0 and words[k] in _BEFORE_PERSON_WORD and j - k <= 3:
        k -= 1
    return k >= 0 and words[k] in _I_AM and not (words[k] == "m" and k and words[k - 1] not in ("i", "j"))


def _referent(words: list[str], i: int, expecting_children: bool) -> tuple[Whose, str | None]:
    """Whom the number at words[i] is said of, looking back over small words and other ages."""
    j = i - 1
    steps = 0
    while j >= 0 and steps < 10:
        w = words[j]
        if w in _DURATION_BEFORE:
            return Whose.UNKNOWN, None
        if w == "i" and j + 1 < len(words) and words[j + 1] in ("m", "am"):
            return Whose.SELF, "i"
        if _SELF_WORD.match(w) and w not in ("j", "je"):
            return Whose.SELF, w
        if _CHILD_WORD.match(w):
            return Whose.CHILD, w
        if _ADULT_WORD.match(w):
            return (Whose.SELF, w) if _describes_oneself(words, j) else (Whose.OTHER, w)
        if w in _SKIP or w == "," or _NUMBER.match(w) or _UNIT.match(w):
            j -= 1
            steps += 1
            continue
        break
    return (Whose.CHILD if expecting_children else Whose.UNKNOWN), None


def age_mentions(text: str, expecting_children: bool = False) -> list[AgeMention]:
    """Every age said in the text, each with whom it is said of."""
    words = _split(fold_numbers(text.replace(",", " , ")))
    mentions: list[AgeMention] = []
    last_unit: str | None = None
    n = len(words)
    # the unit that ends the list of numbers starting at each word ("7 et 9 ans" -> "ans"), right to left
    run_unit: list[str | None] = [None] * (n + 1)
    for k in range(n - 1, -1, -1):
        w = words[k]
        if _UNIT.match(w):
            run_unit[k] = w
        elif w in _CONNECTOR or w == "," or _NUMBER.match(w):
            run_unit[k] = run_unit[k + 1]
    first_content = next(
        (k for k, x in enumerate(words) if not (x in _SKIP or x in ("agee", "age", "aged"))), n
    )
    i = 0
    while i < n:
        w = words[i]
        if not _NUMBER.match(w):
            if _UNIT.match(w):
                last_unit = w
            i += 1
            continue
        nxt = words[i + 1] if i + 1 < n else ""
        if _CHILD_WORD.match(nxt) or nxt in _NOT_AGE_AFTER or (nxt and nxt not in _PRONOUNS and _ADULT_WORD.match(nxt)):
            i += 1  # "2 enfants": a count; "10 km": a distance
            continue
        described = i >= 2 and words[i - 1] in ("de", "d") and bool(
            _ADULT_WORD.match(words[i - 2]) or _CHILD_WORD.match(words[i - 2]))  # « une lycéenne de 17 ans de Sissonne »
        if _UNIT.match(nxt) and i + 2 < n and words[i + 2] in ("de", "d") and not described:
            i += 1  # "2 mois de loyer", "3 ans de chômage": a length of time, not an age
            continue
        # the unit: right after, or shared at the end of a list ("7 et 9 ans", "2, 6 et 11 ans")
        unit: str | None = nxt if _UNIT.match(nxt) else run_unit[i + 1]
        whose, referent = _referent(words, i, expecting_children)
        if unit is None:
            before = words[i - 1] if i else ""
            # the text's end, a list's next item, or a clause starting with a pronoun (the commas are
            # gone by now): « my mother is 72, she lives in Lens », « my kids are 6 and 11, we live… »
            at_end = nxt in ("", ",", ".") or nxt in _CONNECTOR or nxt in _CLAUSE_START
            previous = mentions[-1] if mentions else None
            chained = (  # "aged 4 and 7": the second number belongs with the first
                previous is not None and previous.position == i - 2 and (before in _CONNECTOR or before == ",")
            )
            if chained and previous is not None:
                whose, referent = previous.whose, previous.referent
            bare_ok = at_end and (
                chained
                or (before == "de" and i >= 2 and words[i - 2] == "1" and last_unit is not None)  # "une de 8"
                or (whose is Whose.SELF and (referent in ("m", "am", "im") or i == n - 1))  # "i m 25", "j ai 45"
                or (whose is Whose.CHILD and referent is not None and (before in _BARE_AGE_VERBS or before == referent))
                # « my mother is 72 », « mon père a 81 »: an adult's age after the verb, at a clause's end
                or (whose is Whose.OTHER and referent is not None and before in _BARE_AGE_VERBS)
            )
            if not bare_ok:
                i += 1
                continue
            years = last_unit is not None and not last_unit.startswith(("mois", "month", "semaine", "week"))
            unit = last_unit if years else None
        if whose is Whose.UNKNOWN and i >= 2 and words[i - 1] == "de" and words[i - 2] == "1":
            whose, referent = Whose.CHILD, "un"  # "un de 3 ans et une de 8"
        value = _age_value(w, unit)
        if unit is not None and not unit.startswith(("mois", "month", "semaine", "week")):
            last_unit = unit
        if whose is Whose.OTHER and referent in _PRONOUNS and value < 16:
            whose = Whose.CHILD  # "ma fille, elle a 4 ans"
        if whose is Whose.CHILD and value > 30:
            whose = Whose.UNKNOWN
        twins = bool(referent and _TWIN_WORD.match(referent))
        leading = i <= first_content
        mentions.append(AgeMention(value, whose, referent, i, twins, leading))
        i += 1
    return mentions


def find_self_age(text: str) -> int | None:
    """The speaker's own age in free text ("j'ai 34 ans", "45 ans, 2 enfants", "I'm 25")."""
    for m in age_mentions(text):
        if (m.whose is Whose.SELF or (m.whose is Whose.UNKNOWN and m.leading)) and 12 <= m.value <= 105:
            return int(m.value)
    return None


def find_other_age(text: str) -> int | None:
    """The age of the adult someone speaks about ("une dame de 52 ans", "un monsieur de 60 ans")."""
    for m in age_mentions(text):
        if m.whose is Whose.OTHER and 16 <= m.value <= 105:
            return int(m.value)
    return None


def parse_age(text: str, bare_number_ok: bool = True) -> int | None:
    """The age in an answer to "quel âge avez-vous ?": "j'ai 19 ans", "19", "45 ans"; a child's
    age ("mon fils a 19 ans") is not the person's. None if absent or implausible."""
    t = fold_numbers(text)
    mentions = [m for m in age_mentions(text) if m.whose is not Whose.CHILD]
    if mentions:
        age = mentions[0].value
    elif bare_number_ok and (bare := re.fullmatch(r"\s*(\d{1,3})\s*", t)):
        age = float(bare.group(1))
    else:
        return None
    return int(age) if 10 <= age <= 110 else None


# ---------------------------------------------------------------- children
_NO_CHILD_RE = re.compile(
    r"\b(?:pas d enfants?|sans enfants?|0 enfants?|aucun enfants?|no kids?|no children|pas de gosses?|"
    r"pas de gamins?)\b"
)
_PREGNANT_RE = re.compile(r"\b(?:enceinte|pregnant|attend un bebe|attends un bebe|attend 1 bebe|attends 1 bebe)\b")
#: "2 enfants", "3 petits enfants" — not "29 ans, enfants de 3…" (an age, then the word)
_COUNT_RE = re.compile(
    r"(?<![\d.])\b(\d{1,2}) (?!petite? )(?:(?!(?:ans?|annees?|mois|years?|months?)\b)\w+ )?("
    + _CHILD_WORD.pattern[4:-2] + r")\b"
)
#: one child named by a possessive, no number said ("je vis seule avec mon fils")
#: an English child's age said with an article or a possessive (« a 2 year old », « my 8-month-old »)
_YEAR_OLD_RE = re.compile(r"\b(?:a|an|one|my|our|her|his|their)\s+(\d{1,2})[ -](years?|months?)[ -]old\b")
#: an English child's age said with a pronoun after the child (« my youngest, she is 2 »): under 16, as
#: « ma fille, elle a 4 ans » (age_mentions)
_PRONOUN_AGE_RE = re.compile(r"\b(?:he|she) ?(?:is|s) (\d{1,2})\b(?! ?(?:euros?|eur|%|h|hours?|km|minutes?|times?)\b)")
_YOUNGEST_WORD = re.compile(r"^(?:youngest|oldest|eldest|little one|toddler)$")
_ONE_CHILD_RE = re.compile(r"\b(?:mon|my) (fils|enfant|bebe|garcon|son|child|kid|daughter)\b|\bma (fille)\b")
_NO_WORDS = {"non", "nan", "no", "0", "aucun", "aucune", "pas", "nope", "pas d enfant", "pas d enfants"}


_ANSWER_FILLERS = _words("oui ouais yes yeah j ai en on a nous avons il y we have i have got")
_ONLY_ONE = re.compile(r"^(?:1 seule?|juste 1|1 only|only 1|just 1|1)$")


def _bare_answer(t: str) -> tuple[int | None, list[float]]:
    """A reply to "combien d'enfants ?" with bare numbers: "oui, 2", "j'en ai 3" (a count),
    "un seul" (one), "4 et 6" (ages in years)."""
    words = [w for w in t.split() if w not in _ANSWER_FILLERS]
    if _ONLY_ONE.match(" ".join(words)):
        return 1, []
    numbers = [w for w in words if _NUMBER.match(w)]
    if not numbers or "ou" in words or any(not (_NUMBER.match(w) or w in _CONNECTOR) for w in words):
        return None, []
    if len(numbers) == 1:
        return int(numbers[0]), []
    return len(numbers), [float(n) for n in numbers]


@dataclass
class ChildrenInfo:
    count: int | None
    ages: list[float]


def parse_pregnancy(text: str) -> bool:
    return bool(_PREGNANT_RE.search(fold_numbers(text)))


def parse_children(text: str, expecting: bool = False) -> ChildrenInfo | None:
    """Children count and ages, in every way people give them: "mes enfants ont 7 et 9 ans",
    "2, 6 et 11 ans", "un de 3 ans et une de 8", "des jumeaux de 4 ans", "un bébé de 14 mois et
    un grand de 12 ans", "g 2 enfan 3 et 5 an". `expecting`: the question was about children
    (bare numbers and ages said of no one are children's)."""
    t = fold_numbers(text)
    if _NO_CHILD_RE.search(t) or (expecting and (t in _NO_WORDS or set(t.split()) <= _NO_WORDS)):
        return ChildrenInfo(0, [])
    pregnant = bool(_PREGNANT_RE.search(t))
    # "une petite pension" is not a child: a singular petit(e) or grand(e) is not counted
    counts = [int(m.group(1)) for m in _COUNT_RE.finditer(t) if m.group(2) not in ("petit", "petite", "grand", "grande")]
    mentions = [m for m in age_mentions(text, expecting_children=expecting) if m.whose is Whose.CHILD]
    if expecting and not counts and len(mentions) >= 2:
        # "2, 6 ans et 9 ans": a count, then ages each with its unit
        words = _split(fold_numbers(text.replace(",", " , ")))
        first = mentions[0]
        nxt = words[first.position + 1] if first.position + 1 < len(words) else ""
        later_have_units = all(
            m.position + 1 < len(words) and _UNIT.match(words[m.position + 1]) for m in mentions[1:]
        )
        if not _UNIT.match(nxt) and later_have_units and int(first.value) == len(mentions) - 1:
            counts, mentions = [int(first.value)], mentions[1:]
    ages: list[float] = []
    for m in mentions:
        ages.extend([m.value, m.value] if m.twins else [m.value])
    if not ages:  # « a single mum with a 2 year old », « our 8-month-old »
        ages = [_age_value(m.group(1), m.group(2)) for m in _YEAR_OLD_RE.finditer(t)]
    if not ages:  # « I'm looking for a daycare for my youngest, she is 2 »
        ages = [float(m.group(1)) for m in _PRONOUN_AGE_RE.finditer(t) if int(m.group(1)) < 16
                and any(_CHILD_WORD.match(w) or _YOUNGEST_WORD.match(w) for w in t[:m.start()].split())]
    plural = [c for c in counts if c >= 2]
    count: int | None = plural[0] if plural else None
    has_twins = re.search(r"\b(?:jumeaux|jumelles|twins)\b", t)
    if count is None and has_twins and not ages:
        count = 2
    if count is None and ages:
        count = len(ages)
    babies = None if pregnant else re.search(r"\b(?:bebe|bb|nourrisson|nouveau ne|baby)\b", t)
    if babies and not ages:
        ages = [0.5]
        count = count or 1
    if count is None and counts:
        count = counts[0]  # "j'ai 1 enfant"
    if count is None and not ages and (own := {m.group(1) for m in _ONE_CHILD_RE.finditer(t)}):
        count = len(own)  # "seule avec mon fils", "mon fils et ma fille"
    if count is None and expecting and not ages:
        count, ages = _bare_answer(t)
    if count is None and not ages:
        return None
    ages = [a for a in ages if 0 <= a <= 30][: count or None]
    return ChildrenInfo(count, ages)


# ---------------------------------------------------------------- durations
_DURATION_RE = re.compile(r"(\d{1,3}(?:[.,]5)?)\s*(ans?|annees?|years?|mois|months?)\b(\s+et\s+demi)?")
_SINCE_YEAR_RE = re.compile(r"\b(?:depuis|since|en|de)\s+((?:19|20)\d{2})\b")


def parse_duration_years(text: str, this_year: int | None = None) -> float | None:
    """How long, in years: "3 ans", "18 mois", "deux ans et demi", "depuis 2021", "2021", "4". None if unsure."""
    import datetime as dt

    t = fold_numbers(text)
    year = this_year or dt.date.today().year
    # « depuis 2021 », or « 2021 » alone: the year it started
    since = _SINCE_YEAR_RE.search(t) or re.fullmatch(r"\s*((?:19|20)\d{2})\s*", t)
    if since:
        return float(year - int(since.group(1))) if int(since.group(1)) <= year else None
    match = _DURATION_RE.search(t)
    if match:
        value = _age_value(match.group(1), match.group(2))
        return value + (0.5 if match.group(3) else 0.0)
    bare = re.fullmatch(r"\s*(\d{1,2})\s*", t)
    return float(bare.group(1)) if bare else None

"""Entity extraction: schemes (knowledge-base aliases), communes and postal codes (gazetteer),
ages, children, amounts, quotient familial, situation, household, housing, needs, language.

Rule-based on purpose: the values must be exact (an INSEE code, an age), and the knowledge
base already holds the vocabulary (aliases, commune names). Spans refer to the original text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rapidfuzz import fuzz, process

from bot.nlu.normalize import normalize
from bot.nlu.person import (
    is_elsewhere,
    is_outreach_place,
    is_workplace,
    sex_of_person,
    speaks_of_someone_else,
    without_hypotheses,
)
from knowledge.answers import parse_duration_years
from knowledge.content import CONTENT_DIR
from knowledge.facts import HOUSING_WORDS, SITUATION_PREVAILS, SITUATION_WORDS
from knowledge.numbers import (
    find_income,
    find_other_age,
    find_self_age,
    parse_children,
    parse_pregnancy,
    parse_quotient,
    words_to_digits,
)
from knowledge.textnorm import fold, fold_same_length
from knowledge.yamlio import load_yaml

if TYPE_CHECKING:
    from knowledge.gazetteer import Gazetteer
    from knowledge.kb import KnowledgeBase

NEEDS_PATH = CONTENT_DIR / "needs.yml"
MAX_TEXT = 2000  # as bot/dialogue/engine.py: a longer message is read on its first 2,000 characters

#: words too ambiguous to mean a situation/housing when they appear inside free text
AMBIGUOUS_SITUATION = {
    "de",
    "travail",
    "boulot",
    "rien",
    "pension",
    "fac",
    "licence",
    "master",
    "stage",
    "handicap",
    "formation",
    "aah",
    "employe",
    "employee",
    "lycee",
    "college",
    # schemes as much as situations: named, they are asked about (« comment fonctionne le RSA ? »)
    "rsa",
    "cej",
    "service civique",
    "contrat d engagement jeune",
    "garantie jeunes",
}
#: a scheme's name that is also a situation: bare in a message (« usager RSA », « bébé de 4 mois, RSA, »,
#: « je suis au RSA ») it says the person's situation; after an article or « droit au » it names the
#: scheme asked about (« comment fonctionne le RSA ? », « elle peut toucher le RSA ? », « droit au RSA »),
#: unless a phrase of SITUATION_WORDS says it is received (« je touche le RSA », « j'ai que le RSA »)
SCHEME_OR_SITUATION = {"rsa": "beneficiaire_rsa"}
_SCHEME_NAMED = re.compile(r"\b(?:droit (?:au|a|du)|le|du|l|un|pour)\s+$")
AMBIGUOUS_HOUSING = {"proprietaire", "proprio",  # in free text usually the landlord ("le proprio")
                     "foyer", "ma maison", "loyer", "115", "hebergement", "on a achete", "tenant"}

_WORKPLACE = re.compile(
    r"\b(?:travaille|bosse|travail|job|taf|employee?|agent)\b(?:\s+\w+){0,4}?\s+(?:a|au|dans|en)\s+"
    r"(?:la |le |l |une |un )?(?:cantine|creche|garderie|ecole|restauration scolaire|centre social|mairie)\b"
)
_MONEY_CUE = re.compile(
    r"\b(gagne|gagnons|touche|touchons|percois|revenu|revenus|salaire|smic|par mois|mensuel|euros?|eur|e|k)\b|€"
)
_SINGLE_PARENT = re.compile(
    r"\b(seule? avec (?:mes|mon|ma|ses|son|sa|\d+|deux|trois|quatre) (?:\w+ )?(?:enfants?|fils|filles?|gosses?|gamins?|petits?|bebes?)|maman solo|papa solo|mere celibataire|pere celibataire|mere seule|pere seul|maman seule|papa seul|maman celibataire|papa celibataire|famille monoparentale|famille mono|monoparentale?|parent isole|parent seul|mere isolee|j eleve seule?|eleve seule? mes|elever seule?|single (?:mom|mum|mother|parent|dad|father)|je suis seule? avec|separee avec|divorcee avec|(?:maman|mere|papa|pere) (?:separee?|divorcee?))\b"
)
_COUPLE = re.compile(
    r"\b(en couple|un couple|mon mari|ma femme|mon conjoint|ma conjointe|mon compagnon|ma compagne|mon copain|ma copine|on est mari|nous sommes mari|pacse|pacsee|my husband|my wife)\b"
)
_ADULTS = re.compile(r"\b([1-9]) (?:adultes?|adults?|parents)\b")
_ALONE_NOW = re.compile(r"\b(?:je suis|elle est|il est) (?:separee?|divorcee?|celibataire|veuve?|seule?)\b")
_PARTNER_GONE = re.compile(
    r"\b(mon mari|ma femme|mon conjoint|ma conjointe|mon compagnon|ma compagne|mon copain|ma copine)"
    r" (est parti|est partie|m a quitte|m a quittee|est decede|est decedee|est mort|est morte|nous a quitte)"
    r"|\b(my husband|my wife|my partner|my boyfriend|my girlfriend) (?:has )?(left|died|passed away|walked out)"
)
#: the person left their partner (« mon copain m'a frappé, jsui partie avec ma fille »: no longer a couple,
#: whose partner's wage was asked, round 55, sc-115); read on the SMS-normalised text
_LEFT_PARTNER = re.compile(
    r"\b(?:je suis partie? (?:avec (?:mes|ma|mon|les|\d+|deux|trois) |de chez (?:lui|elle|nous|moi)\b|de la maison\b)"
    r"|je l ai quittee?\b|j ai quitte (?:mon|ma) (?:mari|femme|conjoint|conjointe|compagnon|compagne|copain|copine)\b"
    r"|(?:on s est|nous nous sommes|on est|nous sommes) separee?s?\b|i left (?:him|her|my husband|my wife|my partner)\b)"
)
_LIVES_ALONE = re.compile(
    r"\b(je vis seule?|j habite seule?|celibataire sans enfant|je suis seule? sans enfant|i live alone"
    # said of the person (« veuve, toute seule chez elle », round 57, sc-109: « seule ou en couple ? » asked)
    r"|(?:elle|il) (?:vit|habite) (?:toute? )?seule?|toute? seule? chez (?:elle|lui|moi)|veuve?|(?:she|he) lives alone)\b"
)
_VACANT = re.compile(
    r"\b(logement|maison|appartement|appart|bien|studio|immeuble|pavillon|local)s? (?:qui est |est )?(?:vide|vides|vacant|vacants|inoccupee?s?|inhabitee?s?)\b|\b(?:vide|vacant|inoccupee?) depuis\b|sortie de vacance"
)
_VACANT_SINCE = re.compile(r"\b(?:vide|vides|vacant|vacants|inoccupee?s?|inhabitee?s?) depuis ((?:\S+ ){0,3}\S+)")
#: "j'habite à Lille", "je vis à Arras": the person's own commune, not the empty dwelling's
_LIVES_IN = re.compile(r"\b(?:locataire|loue|habite|habitons|habitez|vis|vit|vivons|suis de|domicilie|domiciliee|installe|installee)\b")
#: a place said to be near a commune, not in it (« à la campagne vers Hesdin », « un village près de
#: Péronne »): the commune helps find the services, but it is not the dwelling's own
_NEAR_PLACE = re.compile(r"\b(?:vers|pres de?|a cote de?|autour de?|non loin de?|alentours de?|region de?)\s+(?:l[ae]?\s+|les\s+)?$")
_OWNER_CUE = re.compile(
    r"\b(j ai|mon|ma|proprietaire|proprio|herite|heritee|achete|je possede|nous avons|on a|possede|possedent|"
    r"il a|elle a|ils ont|son|sa|leur)\b"
)

def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


_EN_PLACE_CUE = re.compile(r"\b(?:in|at|near|from|to|around)\s+$")
_EN_WORDS = _wordset(
    "i the is my need help where what how with for you am have please can food hello hi thanks thank "
    "want to nearest money do are kids children job live in yes no and an a it me find don that this "
    "there not be of at we our your they he she his her was will would could should tell see good "
    "morning afternoon evening idea sorry about from know get any anyone here why which who does did "
    "doesn isn can cannot lot much very mine myself rent bills work working husband wife son daughter "
    "child kid baby pay afford "
)
_FR_WORDS = _wordset(
    "je j le la les de des un une est mon ma mes pour avec et ai suis pas ou quoi c il y a au du en on "
    "que qui bonjour merci oui non vous tu ca moi dans sur habite aide me te se ne plus mais nous ils "
    "elles elle son sa ses leur comment pourquoi quand quel quelle aussi tres bien fait faire peux veux "
    "sais avoir etre chez "
)


#: entities that describe the person concerned (marked subject="other" in a third-person message)
_PERSON_FACTS = {"commune", "age", "children_count", "children_ages", "quotient_familial", "monthly_income",
                 "situation", "situation_also", "single_parent", "household_adults", "housing", "owns_vacant_dwelling",
                 "pregnant", "sex"}


@dataclass
class Entity:
    entity: str
    value: Any
    start: int | None = None
    end: int | None = None
    text: str | None = None
    extractor: str = "rules"
    #: "other" when the fact is said of someone else ("une dame de 52 ans", "elle habite à Lens")
    subject: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


#: words of scheme ids too common to make an alias a proper name of the scheme
_ID_STOPWORDS = {"aide", "aides", "des", "les", "pour", "sur", "acces", "droits", "point", "fonds", "jeunes",
                 "familles", "vacances", "emploi", "logement", "sante", "accompagnement", "lieu", "accueil"}


def language_evidence(text: str) -> tuple[int, int]:
    """(English, French) function words in the text; words both languages share count for neither."""
    words = fold(text[:2000]).split()
    en = sum(1 for w in words if w in _EN_WORDS and w not in _FR_WORDS)
    fr = sum(1 for w in words if w in _FR_WORDS and w not in _EN_WORDS)
    return en, fr


def detect_language(text: str) -> str:
    en, fr = language_evidence(text)
    return "en" if en > fr and en >= 1 else "fr"


_FOLDED: dict[tuple[int, frozenset[str]], list[tuple[str, list[str]]]] = {}


def _folded_phrases(words: dict[str, list[str]], ambiguous: frozenset[str]) -> list[tuple[str, list[str]]]:
    """A vocabulary's phrases folded once (ambiguous and very short ones left out)."""
    key = (id(words), ambiguous)
    if key not in _FOLDED:
        _FOLDED[key] = [
            (value, [p for p in (fold(phrase) for phrase in phrases) if p not in ambiguous and len(p) >= 3])
            for value, phrases in words.items()
        ]
    return _FOLDED[key]


def _phrase_positions(haystack: str, phrase: str) -> list[int]:
    """Start indices of `phrase` as whole words in the space-padded folded `haystack`."""
    positions = []
    padded = f" {haystack} "
    needle = f" {phrase} "
    start = padded.find(needle)
    while start != -1:
        positions.append(start)
        start = padded.find(needle, start + 1)
    return positions


#: a typo changes a word, it does not replace it: each word of the window is this close to the alias's
WORD_TYPO_RATIO = 70
JOINED_TYPO_RATIO = 90


def _word_by_word(window: str, alias: str) -> bool:
    """"asistante maternele avip" is a typo of an alias; "assistante maternelle pres" is not
    "assistante maternelle avip" (the word that names the scheme differs)."""
    words, alias_words = window.split(), alias.split()
    if len(words) != len(alias_words):  # words run together or split: "pointconseil budjet"
        joined, alias_joined = "".join(words), "".join(alias_words)
        return abs(len(joined) - len(alias_joined)) <= 2 and fuzz.ratio(joined, alias_joined) >= JOINED_TYPO_RATIO
    return all(fuzz.ratio(w, a) >= WORD_TYPO_RATIO for w, a in zip(words, alias_words, strict=True))


def _names_scheme_before(normalized_before: str) -> bool:
    """The normalized text before a SCHEME_OR_SITUATION word ends with an article or « droit au »."""
    return bool(_SCHEME_NAMED.search(normalized_before))


def names_the_scheme(text: str, start: int) -> bool:
    """The word at `start`, a scheme's name that is also a situation (SCHEME_OR_SITUATION), names the
    scheme (« elle peut toucher le RSA ? ») rather than the situation (« je suis au RSA, j'ai droit à
    quoi d'autre ? »)."""
    return _names_scheme_before(normalize(text[:start]) + " ")


class EntityExtractor:
    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self.gazetteer: Gazetteer = kb.gazetteer

    # ------------------------------------------------------------------ vocabularies
    @cached_property
    def needs(self) -> dict[str, Any]:
        return load_yaml(Path(NEEDS_PATH).read_text(encoding="utf-8"))

    @cached_property
    def _scheme_aliases(self) -> dict[str, set[str]]:
        """folded alias -> scheme ids (an alias such as "prime vacance" may name several)."""
        index: dict[str, set[str]] = {}
        for scheme in self.kb.schemes.values():
            for alias in [scheme.name, *scheme.aliases]:
                key = fold(alias)
                if len(key) >= 3:
                    index.setdefault(key, set()).add(scheme.id)
        return index

    @cached_property
    def _proper_aliases(self) -> set[tuple[str, str]]:
        """Aliases that NAME a scheme (an acronym, or words of its id: "PCB", "conseil budget"), as
        opposed to phrases that describe a need ("j'ai des dettes", "aide alimentaire"): a need
        phrase alone does not mean the person asked about that scheme."""
        proper: set[tuple[str, str]] = set()
        for scheme in self.kb.schemes.values():
            id_words = [w for w in scheme.id.split("-") if len(w) >= 3 and w not in _ID_STOPWORDS]
            for alias in [scheme.name, *scheme.aliases]:
                key = fold(alias)
                is_acronym = alias.replace("'", "").replace("-", "").isupper() and len(alias) <= 6
                shares_id_word = any(
                    len(min(w, i, key=len)) >= 3 and (w.startswith(i) or i.startswith(w))
                    for w in key.split() for i in id_words
                )
                if alias == scheme.name or is_acronym or shares_id_word:
                    proper.add((key, scheme.id))
        return proper

    @cached_property
    def _fuzzy_aliases(self) -> list[str]:
        return [a for a in self._scheme_aliases if len(a) >= 7]

    # ------------------------------------------------------------------ extraction
    def extract(self, text: str, known_departements: Iterable[str] | None = None) -> list[Entity]:
        """Entities of the message's first MAX_TEXT characters (the engine reads no more).

        `known_departements`: départements already known in the conversation (the person's
        commune), to pick among homonyms when the message itself gives no clue."""
        text = (text or "")[:MAX_TEXT]
        if not text.strip():
            return []
        folded = fold(text)
        normalized = normalize(text)
        entities: list[Entity] = []
        entities += self.schemes(text, normalized)
        entities += self.places(text, known_departements)
        entities += self.person_facts(text, folded, normalized)
        entities += self.vacant_dwelling(text, folded, entities)
        someone_else = speaks_of_someone_else(text)
        sex = sex_of_person(text, someone_else)
        if sex is not None:  # only to leave out a place meant for the other (an action for women)
            entities.append(Entity("sex", sex))
        if someone_else:  # the facts are the person's, not the speaker's
            entities.append(Entity("third_person", True))
            for entity in entities:
                if entity.entity in _PERSON_FACTS and entity.subject is None:
                    entity.subject = "other"
        entities += self.need_entities(normalized, text)
        entities.append(Entity("language", detect_language(text)))
        return entities

    def schemes(self, text: str, normalized: str) -> list[Entity]:
        found: dict[str, Entity] = {}
        same = fold_same_length(text)
        for haystack in (fold(text), normalized):
            for alias, ids in self._scheme_aliases.items():
                if f" {alias} " in f" {haystack} ":
                    start = same.find(alias)
                    for sid in ids:
                        kind = "alias" if (alias, sid) in self._proper_aliases else "phrase"
                        previous = found.get(sid)
                        if previous is not None and previous.extractor == "alias":
                            continue
                        found[sid] = Entity(
                            "scheme",
                            sid,
                            start if start >= 0 else None,
                            start + len(alias) if start >= 0 else None,
                            text[start : start + len(alias)] if start >= 0 else alias,
                            extractor=kind,
                        )
        if not found:  # typos: compare word windows against the longer aliases
            words = normalized.split()
            windows = {" ".join(words[i : i + n]) for n in (2, 3, 4) for i in range(len(words) - n + 1)}
            for window in windows:
                if len(window) < 7:
                    continue
                match = process.extractOne(window, self._fuzzy_aliases, scorer=fuzz.ratio, score_cutoff=88)
                if match and _word_by_word(window, match[0]):
                    for sid in self._scheme_aliases[match[0]]:
                        if (match[0], sid) in self._proper_aliases:
                            found.setdefault(sid, Entity("scheme", sid, text=window, extractor="fuzzy"))
        return list(found.values())

    def places(self, text: str, known_departements: Iterable[str] | None = None) -> list[Entity]:
        """The person's commune, and apart from it the speaker's workplace ("je travaille au CCAS
        d'Amiens" -> `speaker_commune`, never `commune`)."""
        out: list[Entity] = []
        same = fold_same_length(text)
        english = detect_language(text) == "en"
        for commune, matched in self.gazetteer.find_in_text(text, known_departements):
            commune = self._with_departement(text, commune, matched)
            start = same.find(fold(matched)) if matched else -1
            if english and matched.islower() and not _EN_PLACE_CUE.search(same[max(0, start - 8) : max(0, start)]):
                continue  # "have a nice day", "too many pills": English words, not Nice or Many
            if start >= 0 and is_elsewhere(text, start):
                continue  # « rendez-vous chez le cardiologue à Amiens »: not where the person lives
            kind = "speaker_commune" if start >= 0 and is_workplace(text, start) else "commune"
            if kind == "commune" and start >= 0 and is_outreach_place(text, start):
                # « je suis sur le marché de Péronne avec une dame »: where they meet, proposed when her
                # commune is asked, not taken for it (round 55 and 57, sc-109)
                kind = "outreach_commune"
            if any(e.entity == kind for e in out):
                if kind != "commune" or any(e.entity == "commune_also" for e in out):
                    continue
                # « CCAS d'Amiens. Une famille de Longueau… »: the dialogue knows whether the first
                # commune is the agent's workplace; the next one is kept beside it
                kind = "commune_also"
            out.append(
                Entity(
                    kind,
                    commune.code_insee,
                    start if start >= 0 else None,
                    start + len(fold(matched)) if start >= 0 else None,
                    commune.nom,
                )
            )
            if len(out) == 3:
                break
        return out

    def _with_departement(self, text: str, commune: Any, matched: str) -> Any:
        """"Montreuil 93", "Saint-Denis (974)": the département that follows a name picks the homonym."""
        if not matched:
            return commune
        folded = fold_same_length(text)
        at = folded.find(fold(matched))
        if at < 0:
            return commune
        after = re.match(r"\s*\(?\s*(\d{2,3}|2a|2b)\b", folded[at + len(fold(matched)):])
        if after and after.group(1).upper() != commune.departement:
            better = self.gazetteer.resolve(matched, departement=after.group(1).upper())
            return better or commune
        return commune

    def person_facts(self, text: str, folded: str, normalized: str) -> list[Entity]:
        out: list[Entity] = []
        age = find_self_age(normalized) or find_self_age(text)
        if age is not None:
            out.append(Entity("age", age))
        elif (other_age := find_other_age(text)) is not None:
            out.append(Entity("age", other_age, subject="other"))
        children = parse_children(text)
        if children is not None:
            if children.count is not None:
                out.append(Entity("children_count", children.count))
            if children.ages:
                out.append(Entity("children_ages", children.ages))
        quotient = parse_quotient(text)
        if quotient is not None:
            out.append(Entity("quotient_familial", quotient))
        elif (amount := find_income(normalized)) is not None:
            out.append(Entity("monthly_income", amount))
        # what a conditional clause says is a hypothesis, not a fact (« s'il est à la rue, … »)
        factual = without_hypotheses(text)
        if factual != text:
            folded_facts, normalized_facts = fold(factual), normalize(factual)
        else:
            folded_facts, normalized_facts = folded, normalized
        at = self._all_words(normalized_facts, SITUATION_WORDS, AMBIGUOUS_SITUATION)  # where each is said
        for word, value in SCHEME_OR_SITUATION.items():
            bare = [m.start() for m in re.finditer(rf"\b{word}\b", normalized_facts)
                    if not _names_scheme_before(normalized_facts[: m.start()])]
            if value not in at and bare:
                at[value] = bare[0]
        said = sorted(at, key=at.__getitem__)
        if said:  # of two situations said, the one that decides more rules; the others beside it
            situation = next((s for s in said if said[0] in SITUATION_PREVAILS.get(s, ())), said[0])
            out.append(Entity("situation", situation))
            if also := [s for s in said if s != situation]:
                out.append(Entity("situation_also", also))
        left_partner = bool(_LEFT_PARTNER.search(normalized))
        alone_with_children = bool(_ALONE_NOW.search(folded) or left_partner) and bool(children and children.count)
        if _SINGLE_PARENT.search(normalized) or _SINGLE_PARENT.search(folded) or alone_with_children:
            out.append(Entity("single_parent", True))
            out.append(Entity("household_adults", 1))
        elif adults := _ADULTS.search(words_to_digits(folded)):
            out.append(Entity("household_adults", max(1, min(2, int(adults.group(1))))))
        elif _PARTNER_GONE.search(folded) or left_partner:
            out.append(Entity("household_adults", 1))
        elif _COUPLE.search(folded):
            out.append(Entity("household_adults", 2))
            out.append(Entity("single_parent", False))
        elif _LIVES_ALONE.search(folded):
            out.append(Entity("household_adults", 1))
        housing = self._match_words(normalized_facts, HOUSING_WORDS, AMBIGUOUS_HOUSING) or self._match_words(
            " ".join(re.findall(r"\w+", folded_facts)), HOUSING_WORDS, AMBIGUOUS_HOUSING)  # « chez sa mère » (« sa » is « ça » in SMS)
        if housing:
            out.append(Entity("housing", housing))
        if any(_VACANT.search(t) and _OWNER_CUE.search(t) for t in (folded, normalized)):
            # owning an empty house says nothing about one's own home (a tenant may have inherited it)
            out.append(Entity("owns_vacant_dwelling", True))
        if parse_pregnancy(text):
            out.append(Entity("pregnant", True))
        return out

    @staticmethod
    def vacant_dwelling(text: str, folded: str, found: list[Entity]) -> list[Entity]:
        """The empty dwelling's facts: "vide depuis 3 ans", and its commune unless it is where one lives."""
        if not any(e.entity == "owns_vacant_dwelling" for e in found):
            return []
        out: list[Entity] = []
        since = _VACANT_SINCE.search(folded)
        years = parse_duration_years(f"depuis {since.group(1)}") if since else None
        if years is not None:
            out.append(Entity("vacant_dwelling_years", years))
        same = fold_same_length(text)  # entity offsets are in this text
        for place in (e for e in found if e.entity in ("commune", "commune_also") and e.start is not None):
            before = same[max(0, place.start - 25) : place.start]
            if not _LIVES_IN.search(before) and not _NEAR_PLACE.search(before):
                out.append(Entity("vacant_dwelling_commune", place.value, place.start, place.end, place.text))
        return out

    @staticmethod
    def _match_words(text: str, words: dict[str, list[str]], ambiguous: set[str]) -> str | None:
        best: tuple[int, str] | None = None
        padded = f" {text} "
        for value, folded in _folded_phrases(words, frozenset(ambiguous)):
            for p in folded:
                if f" {p} " in padded and (best is None or len(p) > best[0]):
                    best = (len(p), value)
        return best[1] if best else None

    @staticmethod
    def _all_words(text: str, words: dict[str, list[str]], ambiguous: set[str]) -> dict[str, int]:
        """Every value one of whose phrases is in the text, with where it is first said; a phrase
        inside a longer one found first does not count (« cherche une alternance » is not
        « alternance »)."""
        padded = f" {text} "
        phrases = sorted(((p, value) for value, folded in _folded_phrases(words, frozenset(ambiguous))
                          for p in folded), key=lambda item: -len(item[0]))
        found: dict[str, int] = {}
        for phrase, value in phrases:
            at = padded.find(f" {phrase} ")
            if at >= 0:
                padded = padded.replace(f" {phrase} ", " " * (len(phrase) + 2))  # positions kept
                found[value] = min(at, found.get(value, at))
        return found

    @cached_property
    def _need_keywords(self) -> dict[str, list[tuple[str, list[str]]]]:
        """needs.yml keywords, folded once: kind -> [(id, folded keywords)]."""
        return {
            key: [(item["id"], [fold(k) for k in item["keywords"]]) for item in self.needs[key]]
            for key in ("needs", "service_types")
        }

    def need_entities(self, normalized: str, text: str | None = None) -> list[Entity]:
        """Needs and kinds of place named by their keywords. With the message's `text`, a kind of place
        is placed where it is said (« agente FS de Lumbres »: the commune that directly follows is the
        speaker's workplace, reading.speaker_entities)."""
        out: list[Entity] = []
        folded = fold_same_length(text).lower() if text else None
        normalized = _WORKPLACE.sub(" ", normalized)  # "je travaille à la cantine" is not a canteen need
        for kind, key in (("need", "needs"), ("service_type", "service_types")):
            hits: list[tuple[int, int, str]] = []
            padded = f" {normalized} "
            for ident, keywords in self._need_keywords[key]:
                best: tuple[int, int] | None = None
                for k in keywords:
                    if f" {k} " not in padded:
                        continue
                    positions = _phrase_positions(normalized, k)
                    if positions and (best is None or len(k) > best[1]):
                        best = (positions[0], len(k))
                if best:
                    hits.append((best[0], -best[1], ident))
            for _pos, _neg_len, ident in sorted(hits):
                span = _said_at(folded, self._need_keywords[key], ident) if folded and kind == "service_type" else None
                out.append(Entity(kind, ident, *(span or (None, None))))
        return out


def _said_at(folded: str, keywords: list[tuple[str, list[str]]], ident: str) -> tuple[int, int] | None:
    """Where the first of a kind of place's keywords is said in the message (`folded`: the message folded
    at the same length, so its offsets are the message's)."""
    spans = [(m.start(), m.end()) for item, words in keywords if item == ident for k in words
             if (m := re.search(rf"(?<![\w]){re.escape(k)}(?![\w])", folded))]
    return min(spans) if spans else None

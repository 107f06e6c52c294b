"""One turn's reading: what kind of turn it is (the intent classifier) and what it is about (the
situation reader: needs, schemes named or described, who speaks, what is asked), merged with what
the conversation already holds. The policy decides on this reading only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from actions.common import THIRD_PERSON_ROLES as INTERMEDIARY_ROLES
from actions.common import get_kb, needs_catalogue, schemes_for_need
from actions.passages import names_kind, passage_match
from bot.nlu.entities import Entity
from bot.nlu.interpreter import ParseResult
from bot.nlu.normalize import lexicon_words, normalize
from bot.nlu.person import (
    clause_at,
    declared_role,
    is_workplace,
    own_child_clauses,
    speaks_of_own_home,
    works_only_as_speaker,
    writes_for_someone,
)
from knowledge.facts import situations_of
from knowledge.kb import KnowledgeBase
from knowledge.numbers import Whose, age_mentions, find_other_age
from knowledge.textnorm import fold
from knowledge.uncovered import UncoveredTopic, named_topics
from knowledge.uncovered import topics as uncovered_topics

#: the scheme a speaker *is* (an agent of France Services, an ambassadeur) is not a scheme asked about
ROLE_SCHEMES = {"agent": ("france-services",), "ambassadeur": ("ambassadeurs-acces-aux-droits",)}
ROLE_SERVICE_TYPES = {"agent": ("france-service",)}
WORKPLACES = ("france-service", "ccas-cias", "centre-social")
THIRD_PERSON_ROLES = ("agent", "ambassadeur", "relative")
#: without the situation reader, keyword needs are too rough to be several: the most specific one
GENERIC_NEEDS = ("budget", "demarches", "emploi", "jeunes", "parentalite")
#: needs and schemes read below this probability are not acted on (short answers brush many)
MIN_SCORE = 0.5
#: a turn that expresses a need (the intent says so) with no need read at MIN_SCORE takes the
#: reader's best guesses from this probability up: "we need food" is about something
NEED_GUESS = 0.3
NEED_INTENTS = ("express_need", "check_eligibility", "find_service_nearby", "emergency")
#: a scheme's relevance is kept from this probability up (below, it is noise)
RELEVANCE_FLOOR = 0.05
#: a need read with at least this probability is clearly there (an off-topic message may brush one)
STRONG = 0.8
#: a need read from this probability up is said, answered with its likeliest scheme even beside another
#: (« ma soeur 23 ans … a perdu son taf, elle a plus rien »: the job need at 0.77, the mission locale at
#: 0.29, sc-095). Held-out: 0.8, 0.75 and 0.7 give the same 87.6 % / 15.0 %; 0.6: 15.4 % irrelevant
FIRM_NEED = 0.75
#: beside a specific need, a general one is kept from this probability up: « je suis au chômage »
#: next to a crèche is a situation, « jveu taffer » next to the permis a need; « pas de logement a moi
#: et pas de taf » at 20 has the job need at 0.749 (sc-049). Held-out: 0.75: recall 83.8 %, irrelevant
#: 16.98 %; 0.7: 84.1 %, 17.01 % (the PCB for a 1,400 € bill, eviction prevention found; a mission locale
#: for a student learning French)
GENERIC_BESIDE = 0.7
#: beside a need read firmly (STRONG), a need read below this is kept only with its words or one of
#: its schemes read (held-out: 0.6: recall 83.8 %, irrelevant 17.4 -> 17.0 %; 0.7: 83.7 / 17.0 %)
WEAK_BESIDE = 0.6
#: the most general needs come after the specific ones ("plus d'argent pour manger": food first)
GENERIC_ORDER = ("budget", "demarches", "emploi", "jeunes", "parentalite", "ressources")
#: a third party read best is taken from this probability up (it then stays): better than the
#: person's own voice, it is likelier (« jsuis ambassadeur a Creil, ya une famille… »: 0.33 against
#: 0.17 for the person; at 0.5, 21 ambassadeurs of the held-out set were taken for the person)
ROLE_CONFIDENCE = 0.3
#: below this, "the person speaks" is doubtful: another role at OTHER_ROLE or more is taken instead
SELF_DOUBT = 0.5
OTHER_ROLE = 0.3
#: a kind of answer is read when the reader is at least this sure of it (an orientation otherwise)
ASKS_CONFIDENCE = 0.6
#: ... or from this probability up when the intent classifier's best guess says the same kind
#: (« c koi une crèche AVIP » : ask_scheme_info 0.48 and info 0.59 — two readings that agree)
ASKS_AGREEING = 0.4
#: asks without a scheme to be about: the reader's `asks` when the classifier has no better word
INTENT_ASKS = {"ask_scheme_info": "info", "find_service_nearby": "where"}
ANSWERS = ("info", "conditions", "how", "documents", "amount", "contact")
PLACES = ("where", "contact")
#: the speaker's workplace ("la France Services de Desvres") is at most this far before the commune
WORKPLACE_GAP = 16


@dataclass
class Reading:
    intent: str
    text: str = ""
    #: the intent classifier's confidence in `intent`
    intent_confidence: float = 1.0
    needs: list[str] = field(default_factory=list)
    #: schemes named or described, best first (named ones first)
    schemes: list[str] = field(default_factory=list)
    #: schemes named by one of their names in this message
    named: list[str] = field(default_factory=list)
    service_types: list[str] = field(default_factory=list)
    role: str = "self"
    asks: str = "orientation"
    payload: bool = False
    #: a commune was given in this message; "all" was asked (the check-everything button)
    commune_given: bool = False
    all_asked: bool = False
    #: facts about the person were given (set once they are applied)
    facts_given: bool = False
    #: the kind of answer asked comes from the reader (not guessed from the intent)
    asks_read: bool = False
    #: a question about what was just shown (« je suis seule avec mon bébé, je touche plus ? »)
    follow_up: bool = False
    #: « d'autres aides ? »: other help than what was shown (lexicon `other_words`)
    wants_others: bool = False
    #: aids named that the knowledge base does not cover yet (knowledge/content/uncovered.yml)
    uncovered: list[str] = field(default_factory=list)
    #: the reader's probability for each need and scheme read
    need_scores: dict[str, float] = field(default_factory=dict)
    scheme_scores: dict[str, float] = field(default_factory=dict)
    #: every scheme's probability of being relevant to the message, from RELEVANCE_FLOOR up (None:
    #: not read by the reader, e.g. a button): what the orientation fills a need with
    relevance: dict[str, float] | None = None
    #: every need's probability from RELEVANCE_FLOOR up (the reader's, under its threshold too)
    need_relevance: dict[str, float] = field(default_factory=dict)
    #: the schemes that are the doors of an aid the base does not cover, named beside other needs:
    #: shown in the orientation, not asked about (uncovered.yml `doors`)
    doors: list[str] = field(default_factory=list)
    #: the schemes the person is said to receive already (« on touche l'ARS »): never offered to them
    received: list[str] = field(default_factory=list)
    #: the schemes an agent named as their own workplace (« conseillère à la mission locale »)
    workplace_schemes: list[str] = field(default_factory=list)

    @property
    def firm_needs(self) -> list[str]:
        """The needs read firmly (FIRM_NEED), or taken without the reader (a keyword, a button)."""
        return [n for n in self.needs if self.need_scores.get(n, 1.0) >= FIRM_NEED]

    @property
    def clear_schemes(self) -> list[str]:
        """The schemes named, or described so clearly that the person may as well have named them."""
        return [s for s in self.schemes if s in self.named or self.scheme_scores.get(s, 0.0) >= STRONG]

    @property
    def strong_content(self) -> bool:
        """Something clearly about help: a scheme named, a place kind, or a need read with confidence."""
        return bool(self.named or self.service_types or any(p >= STRONG for p in self.need_scores.values())
                    or (self.needs and not self.need_scores))

    @property
    def content(self) -> bool:
        return bool(self.needs or self.schemes or self.service_types)


def _situation(parse: ParseResult) -> Any:
    return getattr(parse, "situation", None)


def workplace_own_schemes() -> dict[str, set[str]]:
    """Each kind of workplace and the schemes that are that kind of place (needs.yml `own_schemes`)."""
    catalogue = needs_catalogue()
    return {w: set(catalogue.get(w, {}).get("own_schemes") or []) for w in WORKPLACES}


def _workplace_markers(parse: ParseResult, role: str) -> list[Entity]:
    """The words that name the speaker's workplace: a kind of place, or a scheme that is one
    ("agent du CCAS de Saint-Quentin": the CCAS named as a scheme)."""
    own = set().union(*workplace_own_schemes().values()) if role == "agent" else set()
    return [e for e in parse.entities if e.end is not None and (
        (e.entity == "service_type" and e.value in WORKPLACES)
        or (e.entity == "scheme" and (e.value in ROLE_SCHEMES[role] or e.value in own)))]


def speaker_entities(parse: ParseResult, role: str) -> list[Entity]:
    """Entities about the speaker, not the person: their own job; an agent's workplace commune ("la France Services
    de Desvres") directly follows the service or scheme that names the workplace; a relative's own age
    (« J'ai 45 ans et ma fille de 20 ans voudrait partir en vacances » : Départ 18:25 was judged on 45)
    when the message gives another age (the person's is then the one said of them)."""
    if role == "relative":
        ages = [e for e in parse.entities if e.entity in ("age", "children_ages")]
        return [e for e in ages if e.entity == "age" and e.subject is None] if len(ages) > 1 else []
    if role not in ("agent", "ambassadeur"):
        return []
    places = _workplace_markers(parse, role)
    # « je travaille au CCAS » is the speaker's job, not a wage of the person (no prime d'activité for it)
    out = [e for e in parse.entities if e.entity == "situation" and e.value == "salarie"
           and works_only_as_speaker(parse.text)]
    for entity in parse.entities:
        if entity.entity != "commune" or entity.start is None:
            continue
        if any(0 <= entity.start - p.end <= WORKPLACE_GAP for p in places):  # type: ignore[operator]
            out.append(entity)
    return out


def read_turn(parse: ParseResult, intent: str, kb: KnowledgeBase, slots: dict[str, Any],
              role_scores: Callable[[], dict[str, float]] | None = None) -> Reading:
    """`role_scores`: every role's probability, asked for only when the reader doubts it is the person."""
    situation = _situation(parse)
    payload = parse.text.startswith("/")
    reading = Reading(intent=intent, text=parse.text, payload=payload, intent_confidence=parse.confidence,
                      commune_given=parse.first("commune") is not None, all_asked=bool(parse.first("all")))
    entity_schemes = sorted((e for e in parse.entities if e.entity == "scheme" and e.value in kb.schemes),
                            key=lambda e: e.start if e.start is not None else 10_000)  # in the order said
    reading.named = list(dict.fromkeys(e.value for e in entity_schemes if e.extractor != "phrase"))
    reading.service_types = parse.values("service_type")
    if payload:
        reading.named = [s for s in [parse.first("scheme")] if s in kb.schemes]
        reading.schemes = list(reading.named)
        reading.needs = [parse.first("need")] if parse.first("need") else []
        reading.asks = INTENT_ASKS.get(intent, "orientation")
        reading.role = slots.get("role") or "self"
        return reading
    if situation is not None:
        floor = MIN_SCORE
        agreed = set(parse.values("need"))  # the keyword extractor's needs: a second reading
        if not any(p >= MIN_SCORE for _n, p in situation.needs) and (
                intent in NEED_INTENTS or (intent == "nlu_fallback"
                                           and any(p >= NEED_GUESS and n in agreed for n, p in situation.needs))):
            floor = NEED_GUESS  # « cest un scandale mon pote va se faire expulser » : logement, 0.45 and a keyword
        reading.needs = [n for n, p in situation.needs if p >= floor][:2 if floor < MIN_SCORE else None]
        # a second need read weakly that the keyword extractor reads too: two readings that agree (« sport
        # et colo »: leisure at 0.49 beside holidays at 0.99, sc-069; held-out: 5 schemes more shown,
        # recall 87.6 % unchanged, irrelevant 14.9 -> 15.0 %)
        reading.needs += [n for n, p in situation.needs
                          if n in agreed and p >= NEED_GUESS and n not in reading.needs]
        reading.need_scores = {n: p for n, p in situation.needs if n in reading.needs}
        reading.scheme_scores = {s: p for s, p in situation.schemes if p >= MIN_SCORE}
        every = getattr(situation, "relevance", None) or dict(situation.schemes)
        reading.relevance = {s: round(p, 3) for s, p in every.items() if p >= RELEVANCE_FLOOR and s in kb.schemes}
        reading.need_relevance = dict(getattr(situation, "need_relevance", None) or {})
        described = [s for s, p in situation.schemes if s in kb.schemes and p >= MIN_SCORE]
        asks_confidence = getattr(situation, "asks_confidence", 1.0)
        agreeing = INTENT_ASKS.get(parse.intent) == situation.asks
        # after an orientation, a question mark says a question is asked: the reader's kind of
        # answer counts from ASKS_AGREEING (« je risque d'être expulsé quand ? » : info at 0.46)
        asked = bool(slots.get("oriented")) and parse.text.rstrip().endswith("?") and situation.asks != "orientation"
        sure = asks_confidence >= ASKS_CONFIDENCE or ((agreeing or asked) and asks_confidence >= ASKS_AGREEING)
        reading.asks = situation.asks if sure else INTENT_ASKS.get(intent, "orientation")
        reading.asks_read = sure
        reading.wants_others = bool(slots.get("oriented")) and asks_for_others(parse.text)
        if _asks_about_shown(parse, situation, slots, kb, reading.wants_others):
            # a question mark after an orientation, nothing new in it: a question about what was
            # shown, of its likeliest kind, even when the facts it gives read like a situation
            kinds = {k: p for k, p in situation.asks_scores.items() if k != "orientation"}
            if reading.asks == "orientation" and kinds:
                reading.asks = max(kinds, key=kinds.__getitem__)
            reading.asks_read = reading.follow_up = True
        if reading.follow_up and reading.asks in PLACES and _fiche_says(parse.text, slots, kb):
            reading.asks = "info"  # « ça passe quel jour ? » after the Croix-Rouge's truck: its fiche says it
        if reading.asks == "contact" and not names_kind(parse.text, "contact"):
            reading.asks = "how"  # « c'est qui qui décide ? » names no way to reach anyone: the steps say who
        if reading.asks in ("how", "contact") and reading.follow_up and reading.commune_given:
            reading.asks = "where"  # « qui s'occupe des dossiers à Pont-à-Vendin ? »: who, there
        if reading.asks == "orientation" and intent == "ask_scheme_info" and reading.named:
            reading.asks = "info"
        elif reading.asks == "orientation" and intent == "find_service_nearby" and reading.named:
            reading.asks = "where"  # "la mission locale la plus proche": the place of a scheme named
        role_confidence = getattr(situation, "role_confidence", 1.0)
        # « un gars de 26 ans », « une dame de 52 ans », « pour mon pote », « mon petit-fils »
        cue = find_other_age(parse.text) is not None or writes_for_someone(parse.text)
        # once oriented, the speaker changes only when the reader is sure or the words say so (« je peux
        # partir avec ma fille ? » read as a relative at 0.54 made the victim « la personne »)
        settled = bool(slots.get("oriented")) and role_confidence < STRONG and not cue
        if situation.role != "self" and role_confidence >= ROLE_CONFIDENCE and (reading.needs or described) and not settled:
            reading.role = situation.role  # a situation described by someone else (« 52 ans » alone says no one)
        elif (situation.role == "self" and role_scores is not None and (reading.needs or described)
              and (role_confidence < SELF_DOUBT or cue)):  # someone else's situation described, not small talk
            other = max(((r, p) for r, p in role_scores().items() if r != "self"), key=lambda x: x[1], default=None)
            # the age of someone described settles the doubt: their situation is told by another
            reading.role = other[0] if other and (other[1] >= OTHER_ROLE or cue) else "self"
        else:
            reading.role = slots.get("role") or "self"
        if (reading.role == "relative" and role_confidence < STRONG and not cue
                and speaks_of_own_home(parse.text)):  # « mon appart… ma fille fait de l'asthme »: a parent
            reading.role = "self"
        if slots.get("role") and (reading.role == "self" or slots.get("asking")):
            reading.role = slots["role"]
        declared = declared_role(parse.text)  # « je suis ambassadrice »: said, not guessed
        if declared == "self" and slots.get("role") in INTERMEDIARY_ROLES:
            declared = None  # « je suis seule avec… » quoted by an ambassadeur or an agent known as such
        reading.role = declared or reading.role
    else:  # no reader (an older model): the entity extractor's keyword needs, the most specific one
        reading.needs = sorted(parse.values("need"), key=lambda n: n in GENERIC_NEEDS)[:1]
        described = []
        reading.asks = INTENT_ASKS.get(intent, "orientation")
        reading.role = slots.get("role") or "self"
    if not reading.named and intent == "ask_scheme_info":
        reading.named = [e.value for e in entity_schemes][:1]
    reading.schemes = list(dict.fromkeys([*reading.named, *described]))
    reading.uncovered = named_topics(parse.text)
    _refine(reading, parse, slots)
    return reading


def needs_of_own_child(text: str, needs: list[str], needs_in: Callable[[str], set[str]]) -> dict[str, int | None]:
    """The needs said of the writer's own child (needs.yml `may_concern_the_child`, found by `needs_in`,
    the keyword reading of needs, in a clause that names the child, person.yml `own_child`), with the
    child's age when that clause says it: « ma fille de 12 ans est handicapée » → {"handicap": 12}."""
    wanted = [n for n in dict.fromkeys(needs) if needs_catalogue().get(n, {}).get("may_concern_the_child")]
    found: dict[str, int | None] = {}
    for clause in own_child_clauses(text) if wanted else []:
        said = [n for n in wanted if n not in found and n in needs_in(clause)]
        if said:
            ages = [m.value for m in age_mentions(clause, expecting_children=True) if m.whose is not Whose.SELF]
            found.update(dict.fromkeys(said, int(ages[0]) if ages else None))
    return found


def asks_for_others(text: str) -> bool:
    """ "d'autres aides pour louer ?", "autre chose ?": other help than what was shown."""
    return bool(lexicon_words("other_words").intersection(fold(text).split()))


def _asks_about_shown(parse: ParseResult, situation: Any, slots: dict[str, Any], kb: KnowledgeBase,
                      wants_others: bool = False) -> bool:
    """After an orientation or an answer that showed schemes or places, a message ending with a
    question mark that brings no new need read firmly and names no scheme not shown — nor asks for
    other help than what was shown, with a scheme not shown read (« d'autres aides pour louer ? »)."""
    shown = {*(slots.get("shown") or []), *([slots["focus_scheme"]] if slots.get("focus_scheme") else [])}
    after = (slots.get("oriented") and (shown or slots.get("shown_places"))) or slots.get("focus_scheme")
    if not (after and parse.text.rstrip().endswith("?")):
        return False
    old = set(slots.get("needs") or [])
    new_needs = [n for n, p in situation.needs if p >= STRONG and n not in old]
    named = {e.value for e in parse.entities if e.entity == "scheme" and e.value in kb.schemes}
    # asking for other help is itself a sign: a scheme read at the reader's own threshold is enough
    # (Loc'Avantages at 0.49 for « d'autres aides pour louer ensuite ? »)
    others = wants_others and any(s in kb.schemes and s not in shown for s, _ in situation.schemes)
    return not new_needs and not (named - shown) and not others


#: a question matched this well by a sentence of a fiche shown is answered from it (1: all its words)
FICHE_SAYS = 0.9


def _fiche_says(text: str, slots: dict[str, Any], kb: KnowledgeBase) -> bool:
    """A sentence of a scheme shown matches the question outright (« Les lieux et jours de passage sont
    fixés localement… » for « ça passe quel jour ? »): the fiche answers, not a place's hours — unless the
    question says it asks where, or how to reach someone."""
    if {"ou", "where"}.intersection(fold(text).split()) or names_kind(text, "contact"):
        return False  # « ils s'inscrivent où ? », « c'est quoi le numéro ? »: a place is asked
    shown = [kb.schemes[s] for s in slots.get("shown") or [] if s in kb.schemes]
    return any((m := passage_match(scheme, text)) is not None and m[0] >= FICHE_SAYS for scheme in shown)


def take_uncovered(reading: Reading, slots: dict[str, Any], kb: KnowledgeBase) -> list[UncoveredTopic]:
    """The uncovered aids this message names for the first time (slot uncovered_said).
    With no need read firmly (STRONG), their need's doors answer: the needs and schemes read beside
    them, weakly, were read for want of the topic (« Lens » brought the holidays of Lens-Liévin; « une
    partie de sa retraite » the resources at 0.52, and four questions for the RSA before the door of
    a widow asking about the pension de réversion, sc-045)."""
    said = list(slots.get("uncovered_said") or [])
    fresh = [t for t in reading.uncovered if t not in said] if not reading.payload else []
    if not fresh:
        return []
    known = uncovered_topics()
    slots["uncovered_said"] = [*said, *fresh]
    firm = reading.firm_needs
    doors = [d for t in fresh for d in known[t].doors if d in kb.schemes]
    if firm:  # beside needs read firmly, the topic's need is oriented on too, with its schemes and places
        # (the APA beside a mother's isolation and transport got « voici qui peut vous aider » and no door,
        # sc-092); its doors are not taken for schemes asked about (« comment monter un dossier MDPH pour
        # la PCH ? » is no question about France Services, round 31): they are the orientation's
        reading.needs = list(dict.fromkeys([*firm, *(known[t].need for t in fresh)]))
        reading.doors = doors
    else:
        reading.needs = list(dict.fromkeys(known[t].need for t in fresh))
        reading.schemes = list(dict.fromkeys([*doors, *reading.clear_schemes]))
        reading.relevance = {s: p for s, p in (reading.relevance or {}).items() if p >= STRONG}
    return [known[t] for t in fresh]


def named_as_workplace(parse: ParseResult) -> set[str]:
    """Schemes named as the speaker's workplace, not asked about: a workplace scheme directly followed
    by a commune (« Bonjour, CCAS de Fresnes-sur-Escaut. Je reçois un monsieur… »), or any scheme named
    in the clause where the speaker says what they do (person.yml `workplace`: « Je suis conseillère à
    la mission locale de Château-Thierry » was answered with the mission locale's fiche)."""
    own = set().union(*workplace_own_schemes().values())
    communes = [e.start for e in parse.entities if e.entity in ("commune", "speaker_commune") and e.start is not None]
    return {e.value for e in parse.entities if e.entity == "scheme" and e.start is not None and e.end is not None
            and ((e.value in own and any(0 <= c - e.end <= WORKPLACE_GAP for c in communes))
                 or is_workplace(parse.text, e.start))}


#: how far before a scheme's name a word that asks to join it, or says it is received, counts
#: (« devenir ambassadrice de », « on touche l'allocation »)
JOINING_GAP = 12


def _joining(parse: ParseResult, scheme_id: str) -> bool:
    """The scheme is named just after a word that asks to join it (lexicon `joining_words`)."""
    return _named_after(parse, scheme_id, lexicon_words("joining_words"))


def received_schemes(parse: ParseResult) -> set[str]:
    """The schemes named just after a word saying the person receives them, not negated (lexicon
    `received_words`, `negation_words`) by one of their names (not a phrase that describes them): « on
    touche l'ARS » says what the family has, it asks nothing about the ARS (the ARS was offered to a
    family asking about a sports licence)."""
    received, negations = lexicon_words("received_words"), lexicon_words("negation_words")
    return {e.value for e in parse.entities if e.entity == "scheme" and e.extractor == "alias"
            and _named_after(parse, e.value, received, not_after=negations)}


def _named_after(parse: ParseResult, scheme_id: str, words: frozenset[str],
                 not_after: frozenset[str] = frozenset()) -> bool:
    """The scheme is named just after one of `words` (within JOINING_GAP characters), with none of
    `not_after` before it in its clause (« n'ont jamais touché les allocations »), SMS spellings read
    (« jtouche lAAH »)."""
    for entity in parse.entities:
        if entity.entity == "scheme" and entity.value == scheme_id and entity.start is not None:
            before = normalize(parse.text[max(0, entity.start - JOINING_GAP):entity.start]).split()
            clause = clause_at(parse.text, entity.start)
            clause_before = normalize(clause[:max(0, clause.find(parse.text[entity.start:entity.end or entity.start]))]).split()
            negations = [i for i, w in enumerate(clause_before) if w in not_after]
            # « ne … plus que » restricts, it does not deny (« je n'ai plus que l'ASF »)
            if words.intersection(before) and not (negations and "que" not in clause_before[negations[-1]:]):
                return True
    return False


def _refine(reading: Reading, parse: ParseResult, slots: dict[str, Any]) -> None:
    """What the facts of the message and the conversation already say about the reading."""
    workplace = named_as_workplace(parse) if reading.role == "agent" else set()
    mine = [s for s in (*ROLE_SCHEMES.get(reading.role, ()), *workplace) if not _joining(parse, s)]
    reading.workplace_schemes = sorted(workplace.intersection(mine))
    reading.schemes = [s for s in reading.schemes if s not in mine]
    reading.named = [s for s in reading.named if s not in mine]
    # the kind of place they work in is not a kind of place asked for
    theirs = {w for w, own in workplace_own_schemes().items() if workplace & own}
    reading.service_types = [t for t in reading.service_types
                             if t not in ROLE_SERVICE_TYPES.get(reading.role, ()) and t not in theirs]
    if True in parse.values("owns_vacant_dwelling") and "logement_vacant" not in reading.needs:
        reading.needs.insert(0, "logement_vacant")  # an empty dwelling of one's own says what the need is
    kind = needs_catalogue().get(reading.service_types[0], {}) if reading.service_types else {}
    specific = [n for n in reading.needs if n not in GENERIC_ORDER]
    if specific and reading.need_scores:  # "je suis au chômage" next to a crèche: a situation, not a need
        # ... unless a scheme of that general need is described too (« et des dettes » : the PCB at 0.54)
        served = {n for n in reading.needs if n not in specific
                  and {s.id for s in schemes_for_need(n)}.intersection(reading.scheme_scores)}
        reading.needs = [n for n in reading.needs
                         if n in specific or n in served or reading.need_scores.get(n, 1.0) >= GENERIC_BESIDE]
    if reading.need_scores and any(p >= STRONG for p in reading.need_scores.values()):
        # beside a need read firmly, one read weakly stays only when its words or one of its schemes are
        # there too (« un gars de 26 ans sans taf ni formation depuis 2 ans »: childcare at 0.52)
        said = set(parse.values("need"))
        read = {s for s, p in reading.scheme_scores.items() if p >= MIN_SCORE}
        reading.needs = [n for n in reading.needs if reading.need_scores.get(n, 1.0) >= WEAK_BESIDE or n in said
                         or read.intersection(s.id for s in schemes_for_need(n))]
    if kind.get("need") and reading.asks in PLACES and not reading.asks_read and not reading.named:
        reading.asks = "orientation"  # unless the reader says a place is asked, "une crèche" is a need
        reading.intent = "express_need" if reading.intent == "find_service_nearby" else reading.intent
    if kind.get("need") and reading.asks not in PLACES:
        if kind["need"] not in reading.needs:
            reading.needs.insert(0, kind["need"])  # "une crèche": a need, with its places
        reading.service_types = []
    # every situation said (« je travaille à mi-temps et je touche le RSA »: salarié, and the RSA beside)
    said = set(situations_of({"situation": parse.first("situation"), "situation_also": parse.first("situation_also")}))
    received = {s for s in reading.named if said & {r.value for r in get_kb().schemes[s].received_as}}
    said_received = received_schemes(parse)
    received |= said_received
    if received and (reading.asks != "info" or any(s not in received for s in reading.schemes) or reading.needs):
        # "je suis au RSA" describes the person, it is not a question about the RSA (unless it is all
        # the message asks about: « je suis au RSA, c'est quoi exactement ? »)
        reading.named = [s for s in reading.named if s not in received]
        reading.schemes = [s for s in reading.schemes if s not in received]
        reading.received = sorted(said_received)  # (the RSA received is its `received_as`: eligibility says it)
    dropped = set(slots.get("dropped_needs") or [])
    reading.needs = [n for n in dict.fromkeys(reading.needs) if n not in dropped]
    # a broad need comes after the specific ones, unless it is the one clearly read (debts at 1.0
    # before a « je ne dors plus » read as health at 0.57)
    reading.needs.sort(key=lambda n: n in GENERIC_ORDER and reading.need_scores.get(n, 0.0) < STRONG)

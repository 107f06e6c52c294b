"""The scheme's own sentence that answers a precise follow-up question.

« C'est anonyme ? », « ça dure combien de temps ? », « c'est payant ? »: the knowledge base has no
field for every such question, but its verified texts often say it (« gratuitement et de façon
confidentielle », « jusqu'à 6 mois »). The question's words are matched against the sentences of
the scheme's summary, description, conditions, amount, steps, note and source quotes: the same
word (its first letters), a word that answers the same question (`answer_words` in
bot/nlu/lexicon.yml: « payant » / « gratuitement »), or a word close in meaning by the word vectors
of fr_core_news_md (« salaire » / « revenus », « viennent » / « déplacent »), each weighted by how
rare it is in the knowledge base. The best sentence is quoted as it stands, with the one as good
when two tie: nothing is rephrased, so nothing is invented. It is quoted only when it matches well
and better than the next one (MIN_MATCH, MIN_MARGIN): thresholds measured on the follow-up set
(tests/followups, docs/followups.md).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

from actions.common import commune_of, get_kb
from bot.nlu.normalize import lexicon, lexicon_words, sms_lexicon
from knowledge.facts import HOUSING_WORDS, SITUATION_WORDS
from knowledge.schema import EmergencyNumber, Scheme
from knowledge.textnorm import fold

if TYPE_CHECKING:
    from bot.nlu.vectors import WordVectors

#: a sentence answers when the question's words are this well matched (weighted share, 0..1)
MIN_MATCH = 0.45
#: ... and better than the scheme's next sentence by this much (or as good: both are quoted)
MIN_MARGIN = 0.1
TIE = 0.01
#: a word that answers the same question counts this much (the same word: 1)
RELATED = 0.8
#: a word this close in meaning (cosine of the word vectors) counts SIMILAR × its cosine
MIN_COSINE = 0.5
SIMILAR = 0.8
STEM = 4
#: a word found in this many schemes' proper names does not say which one a question is about
COMMON_NAME_WORD = 3
_SENTENCES = re.compile(r"(?<=[.!?])\s+(?=[A-ZÀ-Ý«\"(])")
_WORDS = re.compile(r"\d+h\b|[^\W\d_]{2,}")
#: « 24 h sur 24 », « 24 heures sur 24 », « 24h/24 »: one word, « 24h » (lexicon answer_words)
_ROUND_THE_CLOCK = re.compile(r"\b(\d+)\s*(?:h|heures)\b(?:\s*(?:sur|/)\s*\1\b)?", re.IGNORECASE)


#: the person's département and région (codes), when their commune is known
Here = tuple[str, str] | None


def sentences(scheme: Scheme, here: Here = None) -> list[str]:
    """The sentences of the fiche's own texts, then of its sources' quotes, except a quote cut in the middle of
    a sentence (« oilhi.beta.gouv.fr (dans le 59 et le 62) - La plateforme … - CAF, ARS, DDTM », quoted as
    the answer to « le propriétaire peut être obligé de faire des travaux ? », sc-090); `here`: not the quotes that
    name départements or régions none of which is the person's (a mobile Restos centre « dans le
    sud-est de la Seine-et-Marne, 2 ou 3 jours par semaine » is no answer to « c'est ouvert quel
    jour ? » in Beauvais, sc-037, round 50)."""
    quotes = [q for q in split_sentences([s.quote or "" for s in scheme.sources])
              if not q[0].islower() and (here is None or not said_elsewhere(q, here))]
    return split_sentences([scheme.summary, scheme.description, *scheme.conditions_text, scheme.amount or "",
                            *scheme.steps, scheme.status_note or "", *quotes])


def said_elsewhere(sentence: str, here: tuple[str, str]) -> bool:
    """The sentence names départements or régions, and neither the person's département nor région."""
    departements, regions = _areas_named(sentence)
    return bool(departements or regions) and here[0] not in departements and here[1] not in regions


@lru_cache(maxsize=4096)
def _areas_named(sentence: str) -> tuple[frozenset[str], frozenset[str]]:
    """The départements and régions a source quote names, read once (a follow-up ranks each fiche's
    quotes again for every scheme it may be about)."""
    departements, regions = get_kb().gazetteer.areas_named(sentence)
    return frozenset(departements), frozenset(regions)


def split_sentences(texts: list[str]) -> list[str]:
    """The sentences of verified texts, whitespace flattened, each once (fragments dropped)."""
    out = [s.strip() for text in texts if text for s in _SENTENCES.split(" ".join(text.split()))]
    return list(dict.fromkeys(s for s in out if len(s) > 12))


def _tokens(text: str) -> list[str]:
    """The folded words of a text, question words included (« 24 h sur 24 » as « 24h »)."""
    return _WORDS.findall(fold(_ROUND_THE_CLOCK.sub(r"\1h", text.replace("'", " ").replace("’", " "))))


def _words(text: str) -> list[str]:
    return [w for w in _tokens(text) if w not in _question_words()]


@lru_cache(maxsize=1)
def _question_words() -> frozenset[str]:
    return frozenset(lexicon().get("question_words") or [])


def _stem(word: object) -> str:
    return fold(str(word))[:STEM]


@dataclass(frozen=True)
class AnswerGroup:
    """A group of lexicon `answer_words`, folded: the words that ask and the words that answer them. A
    plain list is `two_way`: it asks and answers with its own words (« avancer » by « prêt »)."""

    asks: tuple[str, ...]
    answers: tuple[str, ...]
    two_way: bool


@lru_cache(maxsize=1)
def _answer_groups() -> tuple[AnswerGroup, ...]:
    """Every group of lexicon `answer_words`, in its order."""
    out = []
    for group in lexicon().get("answer_words") or []:
        two_way = not isinstance(group, dict)
        asks, answers = (group, group) if two_way else (group.get("asks") or [], group.get("answers") or [])
        out.append(AnswerGroup(tuple(fold(str(w)) for w in asks), tuple(fold(str(w)) for w in answers), two_way))
    return tuple(out)


#: a word is one of a group's words when they share this many first letters (or the shorter whole):
#: « avancer » is « avance », « payé » is « payer »; « avant » is not « avance » (four letters were:
#: « faut faire la demande avant de signer ? » was answered by the FSL's « prêt », sc-020)
GROUP_PREFIX = 5


@lru_cache(maxsize=4096)
def _word_groups(word: str) -> frozenset[int]:
    """The two-way answer-word groups a folded word belongs to."""
    return frozenset(index for index, group in enumerate(_answer_groups()) if group.two_way
                     and any(_same_word(word, member) for member in group.asks))


def _same_word(word: str, member: str) -> bool:
    size = min(GROUP_PREFIX, len(word), len(member))
    return word[:size] == member[:size]


@lru_cache(maxsize=8192)
def _sentence_groups(sentence: str, named: frozenset[str]) -> frozenset[int]:
    """The two-way answer-word groups of a sentence's words, but those of a proper name (`named`
    stems), computed once."""
    return frozenset(g for w in _words(sentence) if w[:STEM] not in named for g in _word_groups(w))


@lru_cache(maxsize=1)
def _answer_words() -> dict[str, tuple[str, ...]]:
    """Stem of a word that asks → the whole words that answer it (lexicon `answer_words` `asks` / `answers`)."""
    out: dict[str, set[str]] = {}
    for group in _answer_groups():
        if not group.two_way:
            for word in group.asks:
                out.setdefault(_stem(word), set()).update(group.answers)
    return {stem: tuple(sorted(words)) for stem, words in out.items()}


@lru_cache(maxsize=1)
def _answered_by() -> dict[str, frozenset[str]]:
    """Stem of a word that asks → the stems of the words that answer it."""
    return {stem: frozenset(_stem(w) for w in words) for stem, words in _answer_words().items()}


@lru_cache(maxsize=1)
def _rarity() -> tuple[dict[str, float], float]:
    """Inverse document frequency of each word stem over every scheme sentence."""
    counts: Counter[str] = Counter()
    total = 0
    for scheme in get_kb().schemes.values():
        for sentence in sentences(scheme):
            total += 1
            counts.update(_sentence_stems(sentence))
    default = math.log(1 + total)
    return {w: math.log(1 + total / (1 + n)) for w, n in counts.items()}, default


def _closeness(word: str, stems: frozenset[str], groups: frozenset[int]) -> float:
    """How well a sentence whose word stems are `stems` and answer-word groups `groups` answers one
    word of the question."""
    stem = word[:STEM]
    answers = _answered_by().get(stem)
    if answers is not None:  # a word that asks: only a word that answers it
        return 1.0 if stems & answers else 0.0
    if stem in stems:
        return 1.0
    return RELATED if _word_groups(word) & groups else 0.0


@dataclass(frozen=True)
class _Meaning:
    """Unit word vectors, when the exported table is there (`nlu train`); else words only."""

    vectors: WordVectors | None

    def unit(self, word: str) -> np.ndarray | None:
        row = self.vectors.rows.get(word) if self.vectors is not None else None
        if row is None or self.vectors is None:
            return None
        vector = self.vectors.table[row]
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm else None

    def matrix(self, words: list[str]) -> np.ndarray | None:
        units = [u for u in (self.unit(w) for w in words) if u is not None]
        return np.array(units) if units else None


_WORDS_ONLY = _Meaning(None)


def _meaning() -> _Meaning:
    """The exported vectors, loaded once they exist; words only before (a question matched before the
    first training, as a test that runs first does, must not leave the matcher without them)."""
    from bot.nlu.vectors import default_vectors_path

    return _loaded_meaning() if default_vectors_path().exists() else _WORDS_ONLY


@lru_cache(maxsize=1)
def _loaded_meaning() -> _Meaning:
    from bot.nlu.vectors import word_vectors

    return _Meaning(word_vectors())


@lru_cache(maxsize=8192)
def _sentence_stems(sentence: str) -> frozenset[str]:
    """The stems of a sentence's words, computed once (the fiches do not change while running)."""
    return frozenset(w[:STEM] for w in _words(sentence))


@lru_cache(maxsize=8192)
def _sentence_units(sentence: str) -> np.ndarray | None:
    """The unit vectors of a sentence's words, computed once (the fiches do not change while running)."""
    return _meaning().matrix(_raw_words(sentence))


def _raw_words_cased(text: str) -> list[str]:
    """Words as written, with their accents and capitals."""
    return _WORDS.findall(text.replace("'", " ").replace("’", " "))


def _raw_words(text: str) -> list[str]:
    """Lower-case words with their accents (the vectors' keys)."""
    return _raw_words_cased(text.lower())


def _asked(scheme: Scheme, question: str) -> list[str]:
    """The question's own words: neither question words nor the scheme's name."""
    return _asked_besides([scheme.name], question)  # « c'est quoi l'AVIP »


def _asked_besides(names: list[str], question: str) -> list[str]:
    """The question's words besides the name's (`names[0]`). An alias's words count: they tell the
    fiche's sentences apart (« surendettement », an alias of the PCB, is in the one sentence about
    the procedure; « mutuelle gratuite », an alias of the C2S, does not make « c'est gratuit ? » a
    mere naming)."""
    sms = sms_lexicon()
    own = {w[:STEM] for w in _words(names[0])} if names else set()
    return list(dict.fromkeys(w for w in (sms.get(w, w) for w in _words(question)) if w[:STEM] not in own))


@cache
def kind_stems(kind: str) -> frozenset[str]:
    """The stems of the words that only say which kind of answer is asked (lexicon `kind_words`)."""
    return frozenset(w[:STEM] for w in lexicon_words("kind_words", kind))


def names_kind(question: str, kind: str) -> bool:
    """The question says one of the words of its kind of answer (lexicon `kind_words`)."""
    stems = kind_stems(kind)
    return any(w[:STEM] in stems for w in _words(question))


#: a sentence boundary before the question asked (not a comma: « c'est pour les gens au RSA, ou pas ? »
#: asks one thing)
_CLAUSES = re.compile(r"(?<=[.!?])\s+")


def asked_clause(text: str) -> str:
    """The sentence that asks, in a message that describes a situation before it: the last one that
    ends with « ? » (« …, devenir ambassadrice de l'accès aux droits. Comment elle fait ? »: « Comment
    elle fait ? »), or the whole text when none does."""
    clauses = [c for c in _CLAUSES.split(text.strip()) if c.strip()]
    asking = [c for c in clauses if c.rstrip().endswith("?")]
    return asking[-1] if asking else text


def asks_beyond_kind(scheme: Scheme, question: str, kind: str) -> bool:
    """The question says more than which kind of answer it wants (lexicon `kind_words`): « il doit
    faire les démarches lui-même ? » is more than a how; « comment je fais la demande ? » is not, nor
    « une personne que j'ai aidée voudrait devenir ambassadrice. Comment elle fait ? », whose first
    sentence says the situation, not what is asked (asked_clause)."""
    question = asked_clause(question)
    stems = kind_stems(kind)
    said = f" {' '.join(_tokens(question))} "
    return (any(len(w) > 2 and w[:STEM] not in stems for w in _asked(scheme, question))
            or any(f" {phrase} " in said for phrase in lexicon_words("precise_words")))


def ranked_passages(scheme: Scheme, question: str, here: Here = None) -> list[tuple[float, str]]:
    """Every sentence of the scheme with how well it matches the question's words, best first."""
    return ranked_sentences(sentences(scheme, here), [scheme.name, *scheme.aliases], question)


def ranked_sentences(texts: list[str], names: list[str], question: str) -> list[tuple[float, str]]:
    """Sentences (a scheme's, an emergency number's) with how well each matches the question's own
    words (besides `names`), best first."""
    asked = _asked_besides(names, question)
    if not asked:
        return []
    rarity, default = _rarity()
    weights = {w: rarity.get(w[:STEM], default) for w in asked}
    total = sum(weights.values())
    meaning = _meaning()
    sms = sms_lexicon()
    raw = {fold(w): w for w in (sms.get(w, w) for w in _raw_words(question))}
    asked_units = {w: meaning.unit(raw.get(w, w)) for w in asked}
    # a proper name's words answer nothing (« Participation et Fraternité » is no cost): the words
    # with a capital inside the scheme's name
    named = frozenset(fold(w)[:STEM] for w in _raw_words_cased(names[0])[1:] if w[:1].isupper()) if names else frozenset()
    scored = []
    for sentence in texts:
        stems = _sentence_stems(sentence) - named
        groups = _sentence_groups(sentence, named)
        units = _sentence_units(sentence) if meaning is not _WORDS_ONLY else None
        score = 0.0
        for word in asked:
            close = _closeness(word, stems, groups)
            unit = asked_units[word]
            if close < 1.0 and units is not None and unit is not None and word[:STEM] not in _answered_by():
                cosine = float((units @ unit).max())
                if cosine >= MIN_COSINE:
                    close = max(close, SIMILAR * cosine)
            score += weights[word] * close
        scored.append((score / total, sentence))
    return sorted(scored, key=lambda item: -item[0])


TIED = " » « "


def number_passage(number: EmergencyNumber, question: str) -> tuple[float, str] | None:
    """What an emergency number's verified text says that answers a question about it (« ça coûte
    quelque chose d'appeler ? » after the 119) and how well, or None."""
    ranked = ranked_sentences(split_sentences([number.when]), [number.name, number.number], question)
    if not ranked or ranked[0][0] < MIN_MATCH:
        return None
    return ranked[0]


def not_yet_said(passage: str | None, said: str) -> str | None:
    """The passage without its sentences already in `said` (the summary just shown), or None."""
    flat = " ".join(said.split())
    left = [sentence for sentence in (passage or "").split(TIED) if sentence and sentence not in flat]
    return TIED.join(left) or None


def person_words(slots: dict[str, Any]) -> frozenset[str]:
    """The words that name the person's known situation and housing (« rsa », « locataire »...),
    whole: their first four letters would take « salaire » for « salarié »."""
    found: set[str] = set()
    for words, value in ((SITUATION_WORDS, slots.get("situation")), (HOUSING_WORDS, slots.get("housing"))):
        for phrase in words.get(str(value), []) if value else []:
            if " " not in phrase and len(phrase) >= 3:
                found.add(phrase)
    return frozenset(found)


def person_area(slots: dict[str, Any]) -> Here:
    """The département and région of the person's commune, when it is known."""
    commune = commune_of(slots)
    return (commune.departement, commune.region) if commune else None


def _names_person(sentence: str, person: frozenset[str]) -> bool:
    """The sentence says one of the person's words (or the word with an ending: « salariés »)."""
    return any(w.startswith(p) for w in _words(sentence) for p in person)


def passage_match(scheme: Scheme, question: str, min_words: int = 1,
                  person: frozenset[str] = frozenset(), here: Here = None) -> tuple[float, str] | None:
    """The sentence of the scheme's texts that answers the question (two, quoted one after the
    other, when they tie) and how well it matches, or None when none matches well and clearly.
    `min_words`: the question's own words needed (« comment on fait la demande ? » asks the steps,
    not a sentence about « démarches »). `person` (person_words): when the question's words do not
    choose, the one close sentence that names the person's situation does (« c'est gratuit pour
    elle ? » for a woman on the RSA: « Les allocataires du RSA y ont droit sans participation »)."""
    if len(_asked(scheme, question)) < min_words:
        return None
    ranked = ranked_passages(scheme, question, here)
    if not ranked or ranked[0][0] < MIN_MATCH:
        return None
    best = ranked[0][0]
    # a sentence that answers with a related word and names the person's situation comes before the
    # ones that answer with the same word about anyone
    close = [sentence for score, sentence in ranked if best - score < 1 - RELATED + TIE]
    about = [sentence for sentence in close if _names_person(sentence, person)]
    if len(close) > 1 and len(about) == 1:
        return best, about[0]
    tied = [sentence for score, sentence in ranked[:2] if best - score < TIE]
    second = ranked[1][0] if len(ranked) > 1 else 0.0
    if len(tied) == 1 and best - second < MIN_MARGIN:
        return None
    return best, TIED.join(tied)


def best_passages(schemes: list[Scheme], question: str, min_words: int = 1,
                  person: frozenset[str] = frozenset(), here: Here = None) -> dict[str, str]:
    """Of the schemes a question may be about, the passage of the one it matches best (and of any
    other as good): « c'est gratuit ? » is answered from the fiche that says so, not from each."""
    matches = {s.id: m for s in schemes if (m := passage_match(s, question, min_words, person, here))}
    if not matches:
        return {}
    top = max(score for score, _ in matches.values())
    return {sid: text for sid, (score, text) in matches.items() if top - score < MIN_MARGIN}


def proper_name(scheme: Scheme) -> str:
    """A scheme's name without its explanation (« Crèches AVIP », « Relais petite enfance »)."""
    return re.split(r" — |\(", scheme.name, maxsplit=1)[0]


def _name_stems(scheme: Scheme) -> frozenset[str]:
    return frozenset(w[:STEM] for w in _words(proper_name(scheme)) if len(w) >= 4)


@cache
def _common_name_stems() -> frozenset[str]:
    """The words of many names (« aide », « pass »): they do not tell which scheme is meant."""
    counts = Counter(w for s in get_kb().schemes.values() for w in _name_stems(s))
    return frozenset(w for w, n in counts.items() if n >= COMMON_NAME_WORD)


def named_by_words(schemes: list[Scheme], question: str) -> list[str]:
    """The schemes whose proper name has a word the question says (« une place en crèche » after the
    crèches AVIP and the relais petite enfance), leaving out the words their names share."""
    names = {s.id: _name_stems(s) - _common_name_stems() for s in schemes}
    shared = {w for sid, words in names.items() for w in words
              if any(w in other for oid, other in names.items() if oid != sid)}
    asked = {w[:STEM] for w in _words(question) if len(w) >= 4}
    return [sid for sid, words in names.items() if (words - shared) & asked]


_SUM = re.compile(r"\d[\d\s\u202f.,]*(?:€|euros?\b|%)|€", re.IGNORECASE)


@cache
def _amount_words() -> tuple[str, ...]:
    return tuple(lexicon_words("amount_answers"))


def answers_what_is_asked(question: str, passage: str, needs_asking: bool = True) -> bool:
    """The passage says, in a whole word, an answer to each word of the question that asks (lexicon
    `answer_words` `asks`: « quels papiers ? » by « justificatifs »; « identifier » is no « identité »,
    though their first four letters are the same), and the question has one (`needs_asking`; else a
    question that asks no such word is answered by any passage)."""
    answers = _answer_words()
    asking = [answers[w[:STEM]] for w in _words(question) if w[:STEM] in answers]
    said = _words(passage)
    if not asking:
        return not needs_asking
    return all(any(w.startswith(group) for w in said) for group in asking)


def asks_what_none_says(question: str, texts: list[str]) -> bool:
    """The question says a word that asks (lexicon `answer_words`: « avancer », « combien de temps »;
    the whole word, not its first letters: « permis » does not ask for a « permanence ») and none of the
    texts says a word that answers it: what the fiche would show does not answer the question."""
    asked = _words(question)
    said = [w for text in texts for w in _tokens(text)]
    groups = [g.answers for g in _answer_groups() if any(w.startswith(g.asks) for w in asked)]
    return bool(groups) and any(not any(w.startswith(answers) for w in said) for answers in groups)


def also_answering(subjects: list[Scheme], others: list[Scheme], question: str,
                   person: frozenset[str] = frozenset(), here: Here = None) -> dict[str, str]:
    """Of `others` (the other schemes shown), those whose sentence answers the question as well as the
    subjects' and names, in a whole word, what it asks (the papers another fiche asks for), by id."""
    every = best_passages([*subjects, *others], question, person=person, here=here)
    return {s.id: every[s.id] for s in others if s.id in every and answers_what_is_asked(question, every[s.id])}


def each_answering(schemes: list[Scheme], question: str, person: frozenset[str] = frozenset(),
                   here: Here = None) -> dict[str, str]:
    """Of the schemes a question may be about, each whose own sentence answers it and names, in a whole
    word, what it asks (« papiers » by « justificatifs »), best first (then in their order), by id: the papers differ from one fiche to
    the next, so « quels papiers je dois amener ? » after the Restos du Cœur, the Secours populaire and
    the CCAS is answered by each that lists them, not only by the one whose sentence also says
    « rendez-vous » (sc-021, round 45)."""
    matches = [(_asks_back(text), -score, TIED in text, index, scheme.id, text)
               for index, scheme in enumerate(schemes)
               if (match := passage_match(scheme, question, person=person, here=here))
               for score, text in [match] if answers_what_is_asked(question, text)]
    return {match[-2]: match[-1] for match in sorted(matches)}


#: the interrogatives of a sentence that asks back instead of answering (« demandez quelles pièces
#: apporter »): a closed class of words
_INTERROGATIVES = frozenset({"quel", "quels", "quelle", "quelles", "combien"})


def _asks_back(passage: str) -> bool:
    """The sentence says what to ask rather than the answer: an interrogative before the word that
    answers (« demandez quelles pièces apporter », where another fiche lists the papers)."""
    words = _tokens(passage)
    return any(before in _INTERROGATIVES for before in words[:-1])


def asks_a_sum(question: str) -> bool:
    """The question says a word of the amount kind (lexicon `kind_words.amount`), question words
    included: « c'est combien ? », « ça coûte ? », and no word that asks something else (lexicon
    `answer_words`, `asks`): « il dure combien ? » asks a duration (sc-084, round 26)."""
    stems = kind_stems("amount")
    words = [w[:STEM] for w in _tokens(question)]
    return not any(w in _answered_by() for w in words) and any(w in stems for w in words)


def asks_a_figure(question: str) -> bool:
    """The question asks how much (lexicon `figure_words`: « combien », « montant »)."""
    return bool(set(_tokens(question)) & set(lexicon_words("figure_words")))


def states_figure(passage: str) -> bool:
    """The sentence says a figure (« 200 € », « 80 % », « 6 ans »)."""
    return any(ch.isdigit() for ch in passage)


def states_amount(passage: str) -> bool:
    """The sentence says an amount or a cost: a sum (« 200 € », « 50 % »), or a word starting with one
    of lexicon `amount_answers` (« gratuitement », « tarifs »); « moins de 3 ans » is no amount, nor
    « partenaires » (whose first letters are those of « participation »)."""
    return bool(_SUM.search(passage)) or any(w.startswith(_amount_words()) for w in _words(passage))

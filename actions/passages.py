"""The scheme's own sentence that answers a precise follow-up question.

« C'est anonyme ? », « ça dure combien de temps ? », « c'est payant ? »: the knowledge base has no
field for every such question, but its verified texts often say it (« gratuitement et de façon
confidentielle », « jusqu'à 6 mois »). The question's words are matched against the sentences of
the scheme's summary, description, conditions, amount, steps, note and source quotes: the same
word (its first letters), or a word that answers the same question (`answer_words` in
bot/nlu/lexicon.yml: « payant » / « gratuitement »), each weighted by how rare it is in the
knowledge base. The best sentence is quoted as it stands:
nothing is rephrased, so nothing is invented.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from functools import lru_cache

from actions.common import get_kb
from bot.nlu.normalize import lexicon, sms_lexicon
from knowledge.schema import Scheme
from knowledge.textnorm import fold

#: a sentence answers when the question's words are this well matched (weighted share, 0..1)
MIN_MATCH = 0.5
#: a word that answers the same question counts this much (the same word: 1)
RELATED = 0.8
STEM = 4
_SENTENCES = re.compile(r"(?<=[.!?])\s+(?=[A-ZÀ-Ý«\"(])")
_WORDS = re.compile(r"[^\W\d_]{2,}")


def sentences(scheme: Scheme) -> list[str]:
    texts = [scheme.summary, scheme.description, *scheme.conditions_text, scheme.amount or "",
             *scheme.steps, scheme.status_note or "", *(s.quote or "" for s in scheme.sources)]  # fmt: skip
    out = [s.strip() for text in texts if text for s in _SENTENCES.split(" ".join(text.split()))]
    return list(dict.fromkeys(s for s in out if len(s) > 12))


def _words(text: str) -> list[str]:
    return [w for w in _WORDS.findall(fold(text.replace("'", " ").replace("’", " "))) if w not in _question_words()]


@lru_cache(maxsize=1)
def _question_words() -> frozenset[str]:
    return frozenset(lexicon().get("question_words") or [])


@lru_cache(maxsize=1)
def _groups() -> dict[str, frozenset[int]]:
    """Stem → the answer-word groups it belongs to."""
    out: dict[str, set[int]] = {}
    for index, group in enumerate(lexicon().get("answer_words") or []):
        for word in group:
            out.setdefault(fold(str(word))[:STEM], set()).add(index)
    return {stem: frozenset(groups) for stem, groups in out.items()}


@lru_cache(maxsize=1)
def _rarity() -> tuple[dict[str, float], float]:
    """Inverse document frequency of each word stem over every scheme sentence."""
    counts: Counter[str] = Counter()
    total = 0
    for scheme in get_kb().schemes.values():
        for sentence in sentences(scheme):
            total += 1
            counts.update({w[:STEM] for w in _words(sentence)})
    default = math.log(1 + total)
    return {w: math.log(1 + total / (1 + n)) for w, n in counts.items()}, default


def _closeness(word: str, candidates: list[str]) -> float:
    stem = word[:STEM]
    stems = {c[:STEM] for c in candidates}
    if stem in stems:
        return 1.0
    groups = _groups()
    mine = groups.get(stem, frozenset())
    return RELATED if mine and any(mine & groups.get(s, frozenset()) for s in stems) else 0.0


def _asked(scheme: Scheme, question: str) -> list[str]:
    """The question's own words: neither question words nor the scheme's names."""
    sms = sms_lexicon()
    own = {w[:STEM] for text in (scheme.name, *scheme.aliases) for w in _words(text)}  # « c'est quoi l'AVIP »
    return list(dict.fromkeys(w for w in (sms.get(w, w) for w in _words(question)) if w[:STEM] not in own))


def asks_precisely(scheme: Scheme, question: str) -> bool:
    """The question asks something precise about the scheme (« je risque d'être expulsé quand ? »),
    not what it is (« c'est quoi le FSL ? »)."""
    return bool(_asked(scheme, question))


def best_passage(scheme: Scheme, question: str) -> str | None:
    """The sentence of the scheme's texts that best answers the question, or None."""
    asked = _asked(scheme, question)
    if not asked:
        return None
    rarity, default = _rarity()
    weights = {w: rarity.get(w[:STEM], default) for w in asked}
    total = sum(weights.values())
    best, best_score = None, 0.0
    for sentence in sentences(scheme):
        candidates = _words(sentence)
        score = sum(weights[w] * _closeness(w, candidates) for w in asked) / total
        if score > best_score:
            best, best_score = sentence, score
    return best if best_score >= MIN_MATCH else None

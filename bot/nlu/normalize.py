"""Normalise a message for the classifier: fold accents/case, expand SMS spellings."""

from __future__ import annotations

import re
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from knowledge.textnorm import fold
from knowledge.yamlio import load_yaml

LEXICON_PATH = Path(__file__).with_name("lexicon.yml")
_REPEATS = re.compile(r"(.)\1{2,}")  # "merciiiii" -> "merci"
_DIGIT_STUCK = re.compile(r"(\d)([a-z])|([a-z])(\d)")
#: an elided article or preposition stuck to an acronym, its apostrophe left out (« jtouche lAAH »,
#: « lAPL », « dRSA »): a lower-case letter then capitals, read before folding (« LES », « DANS » stay whole)
_ELIDED_ACRONYM = re.compile(r"\b([ldj])([A-Z]{2,}s?)\b")


@lru_cache(maxsize=1)
def lexicon() -> dict[str, Any]:
    """bot/nlu/lexicon.yml, read once: SMS spellings, question words, answer words."""
    return dict(load_yaml(LEXICON_PATH.read_text(encoding="utf-8")))


@cache
def lexicon_words(key: str, kind: str | None = None) -> frozenset[str]:
    """A word list of the lexicon, folded once: `other_words`, or one kind of `kind_words`."""
    words = lexicon().get(key) or ()
    if kind is not None:
        words = words.get(kind) or ()
    return frozenset(fold(str(w)) for w in words)


@lru_cache(maxsize=1)
def sms_lexicon() -> dict[str, str]:
    return {fold(k): fold(v) for k, v in lexicon()["sms"].items()}


def normalize(text: str) -> str:
    """ "Jsuis au RSA, g 2 enfants!!!" -> "je suis au rsa j ai 2 enfants"; "jtouche lAAH" -> "je touche l aah"."""
    folded = fold(_ELIDED_ACRONYM.sub(r"\1 \2", text).replace("'", " ").replace("’", " "))
    folded = _REPEATS.sub(r"\1", folded)
    folded = _DIGIT_STUCK.sub(lambda m: f"{m.group(1) or m.group(3)} {m.group(2) or m.group(4)}", folded)
    lexicon = sms_lexicon()
    return " ".join(lexicon.get(word, word) for word in folded.split())

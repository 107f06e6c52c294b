"""Text normalisation shared by search, gazetteer and NLU.

One job: turn what people type ("St-Étienne", "jsuis", "HERSIN COUPIGNY") into a
comparable form. Accents, case, punctuation and hyphens are dropped; "st"/"ste" are
expanded to "saint"/"sainte" only where asked (place names).
"""

from __future__ import annotations

import re
import unicodedata

_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_SPACES = re.compile(r"\s+")


def fold_same_length(text: str) -> str:
    """Lower-case, accent-free, non-alphanumerics as spaces — same length as `text` (for spans)."""
    out = []
    for ch in text:
        base = unicodedata.normalize("NFKD", ch)
        base = "".join(c for c in base if not unicodedata.combining(c))[:1].lower() or " "
        out.append(base if base.isalnum() else " ")
    return "".join(out)


def strip_accents(text: str) -> str:
    """Remove diacritics: "Écrêché" -> "Ecreche"."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def fold(text: str) -> str:
    """Lower-case, accent-free, punctuation turned into single spaces."""
    text = strip_accents(text).lower().replace("œ", "oe").replace("æ", "ae")
    text = text.replace("’", "'")
    return _NON_ALNUM.sub(" ", text).strip()


_PLACE_ABBREVIATIONS = {"st": "saint", "ste": "sainte", "sts": "saints", "stes": "saintes"}


def fold_place(name: str) -> str:
    """Fold a place name and expand "st"/"ste": "St-Omer" -> "saint omer"."""
    words = fold(name).split()
    return " ".join(_PLACE_ABBREVIATIONS.get(w, w) for w in words)


def collapse_spaces(text: str) -> str:
    """Collapse any run of whitespace (newlines included) into one space."""
    return _SPACES.sub(" ", text).strip()


def slugify(text: str) -> str:
    """ "Crèches AVIP" -> "creches-avip"."""
    return fold(text).replace(" ", "-")

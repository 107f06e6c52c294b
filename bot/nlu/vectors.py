"""fr_core_news_md's static word vectors, exported once so that reading a message needs no spaCy.

Loading spaCy's French pipeline costs ~7 s (importing `spacy.lang.fr` alone compiles its
tokenizer-exception regex for ~4 s) for what the classifiers use of it: one vector per word.
`nlu train` exports the lower-case part of the model's vector table (226,320 words → 20,000
distinct vectors) to `word_vectors.pickle` beside the models; the classifiers are trained *and*
read with this table and the small tokenizer below, so training and reading see the same features.
Loading the table takes ~0.1 s.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import numpy as np

from bot.nlu.model_file import OutdatedModel, load_model, save_model

SPACY_MODEL = "fr_core_news_md"
#: bump when the export or the tokenizer changes: the classifiers are then retrained
VECTORS_VERSION = 2
DIMENSIONS = 300

#: a word followed by its elided apostrophe (« l' », « qu' »), a word, or one punctuation sign
_PIECES = re.compile(r"[^\W\d_]+'(?=\w)|\w+|[^\w\s]")
_ELISION = re.compile(r"[^\W\d_]+'(?=\w)")
_EDGE_PUNCTUATION = re.compile(r"^([^\w]*)(.*?)([^\w]*)$", re.S)


class WordVectors:
    """Word → vector row, and the message's mean vector (unit length)."""

    def __init__(self, rows: dict[str, int], table: np.ndarray, meta: dict[str, str | int]) -> None:
        self.rows = rows
        self.table = np.ascontiguousarray(table, dtype=np.float32)
        self.meta = meta

    def tokens(self, text: str) -> list[str]:
        """Lower-case words as spaCy's French tokenizer mostly cuts them: a whole word the table
        knows stays whole (« aujourd'hui », « peut-être »), otherwise elisions and punctuation
        are cut off (« l'école » → « l' », « école »)."""
        out: list[str] = []
        for chunk in text.lower().replace("’", "'").split():
            if chunk in self.rows:
                out.append(chunk)
                continue
            before, core, after = _EDGE_PUNCTUATION.match(chunk).groups()  # type: ignore[union-attr]
            out.extend(before)
            out.extend(self._cut(core))
            out.extend(after)
        return out

    def _cut(self, core: str) -> list[str]:
        """Elisions off the front until the rest is a known word (« d'aujourd'hui »)."""
        out: list[str] = []
        while core:
            if core in self.rows:
                return [*out, core]
            elision = _ELISION.match(core)
            if not elision:
                break
            out.append(elision.group())
            core = core[elision.end() :]
        return out + _PIECES.findall(core)

    def unit_vector(self, text: str) -> np.ndarray:
        """The direction of the sum of the words' vectors (a word without vector counts zero)."""
        found = [row for row in map(self.rows.get, self.tokens(text)) if row is not None]
        if not found:
            return np.zeros(self.table.shape[1], dtype=np.float32)
        vector = self.table[found].sum(axis=0)
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm > 0 else vector

    # ------------------------------------------------------------------ persistence
    def save(self, path: Path) -> None:
        save_model(path, {"rows": self.rows, "table": self.table, "meta": self.meta})

    @classmethod
    def load(cls, path: Path) -> WordVectors:
        data = load_model(path, required="table")
        return cls(data["rows"], data["table"], data["meta"])

    @classmethod
    def export_from_spacy(cls) -> WordVectors:
        """The lower-case words of fr_core_news_md's vector table (spaCy needed only here)."""
        import spacy

        nlp = spacy.load(SPACY_MODEL, exclude=["tok2vec", "parser", "ner", "morphologizer",
                                               "attribute_ruler", "lemmatizer", "senter"])  # fmt: skip
        vectors = nlp.vocab.vectors
        rows: dict[str, int] = {}
        for key, row in vectors.key2row.items():
            word = nlp.vocab.strings[key]
            if word == word.lower():
                rows[word] = int(row)
        meta = {
            "model": SPACY_MODEL,
            "model_version": str(nlp.meta.get("version")),
            "version": VECTORS_VERSION,
        }
        return cls(rows, np.asarray(vectors.data), meta)


def default_vectors_path() -> Path:
    from bot.nlu.interpreter import default_model_path

    return default_model_path().with_name("word_vectors.pickle")


@lru_cache(maxsize=4)
def word_vectors(path: Path | None = None) -> WordVectors:
    """The exported table, exported first (with spaCy) when missing or out of date."""
    path = path or default_vectors_path()
    if path.exists():
        try:
            vectors = WordVectors.load(path)
        except OutdatedModel:
            pass
        else:
            if vectors.meta.get("version") == VECTORS_VERSION:
                return vectors
    vectors = WordVectors.export_from_spacy()
    vectors.save(path)
    return vectors

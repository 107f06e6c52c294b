"""Measure the situation reader on the held-out test set (tests/situations/, never trained on).

Scores per message, then summed: needs precision/recall (multi-label), recall of the schemes a
good adviser must raise, share of read schemes that are neither expected nor acceptable, and
accuracy of the speaker's role and of the kind of question asked.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.nlu.situation import Situation
from knowledge.yamlio import load_yaml

DEFAULT_TESTSET_DIR = Path(__file__).resolve().parents[2] / "tests" / "situations"


@dataclass(frozen=True)
class SituationCase:
    id: str
    text: str
    needs: tuple[str, ...]
    schemes: tuple[str, ...]
    acceptable: tuple[str, ...]
    role: str
    asks: str
    lang: str
    facts: dict[str, Any] = field(default_factory=dict, hash=False)
    tags: tuple[str, ...] = ()


def load_cases(path: Path | None = None) -> list[SituationCase]:
    path = Path(path) if path else DEFAULT_TESTSET_DIR
    files = sorted(path.glob("*.yml")) if path.is_dir() else [path]
    cases = []
    for file in files:
        data = load_yaml(file.read_text(encoding="utf-8")) or {}
        for item in data.get("cases") or []:
            cases.append(
                SituationCase(
                    id=str(item["id"]),
                    text=str(item["text"]),
                    needs=tuple(item.get("needs") or ()),
                    schemes=tuple(item.get("schemes") or ()),
                    acceptable=tuple(item.get("acceptable") or ()),
                    role=str(item.get("role") or "self"),
                    asks=str(item.get("asks") or "orientation"),
                    lang=str(item.get("lang") or "fr"),
                    facts=dict(item.get("facts") or {}),
                    tags=tuple(item.get("tags") or ()),
                )
            )
    return cases


@dataclass
class ReadingScore:
    n: int = 0
    needs_tp: int = 0
    needs_fp: int = 0
    needs_fn: int = 0
    schemes_expected: int = 0
    schemes_found: int = 0
    schemes_shown: int = 0
    schemes_irrelevant: int = 0
    role_right: int = 0
    asks_right: int = 0
    missed: Counter[str] = field(default_factory=Counter)
    irrelevant: Counter[str] = field(default_factory=Counter)
    role_confusion: Counter[tuple[str, str]] = field(default_factory=Counter)

    def add(self, case: SituationCase, read: Situation) -> None:
        self.n += 1
        needs = set(read.need_ids)
        self.needs_tp += len(needs & set(case.needs))
        self.needs_fp += len(needs - set(case.needs))
        self.needs_fn += len(set(case.needs) - needs)
        schemes = set(read.scheme_ids)
        self.schemes_expected += len(case.schemes)
        self.schemes_found += len(schemes & set(case.schemes))
        self.missed.update(set(case.schemes) - schemes)
        wrong = schemes - set(case.schemes) - set(case.acceptable)
        self.schemes_shown += len(schemes)
        self.schemes_irrelevant += len(wrong)
        self.irrelevant.update(wrong)
        self.role_right += read.role == case.role
        self.asks_right += read.asks == case.asks
        if read.role != case.role:
            self.role_confusion[(case.role, read.role)] += 1

    @staticmethod
    def _ratio(a: int, b: int) -> float:
        return a / b if b else 0.0

    def summary(self) -> dict[str, float]:
        precision = self._ratio(self.needs_tp, self.needs_tp + self.needs_fp)
        recall = self._ratio(self.needs_tp, self.needs_tp + self.needs_fn)
        return {
            "cases": self.n,
            "needs_precision": round(precision, 3),
            "needs_recall": round(recall, 3),
            "needs_f1": round(self._ratio(2 * precision * recall, precision + recall), 3) if precision + recall else 0.0,
            "schemes_recall": round(self._ratio(self.schemes_found, self.schemes_expected), 3),
            "schemes_irrelevant": round(self._ratio(self.schemes_irrelevant, self.schemes_shown), 3),
            "role_accuracy": round(self._ratio(self.role_right, self.n), 3),
            "asks_accuracy": round(self._ratio(self.asks_right, self.n), 3),
        }


def score_reading(reader: Any, cases: list[SituationCase]) -> ReadingScore:
    """`reader` is anything with `read_many(texts) -> list[Situation]` (the reader, the interpreter)."""
    score = ReadingScore()
    for case, read in zip(cases, reader.read_many([c.text for c in cases]), strict=True):
        score.add(case, read)
    return score

"""NLU evaluation: stratified k-fold cross-validation and a held-out split, with a report."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support
from sklearn.model_selection import StratifiedKFold

from bot.nlu.data import DEFAULT_DATA_DIR, Example, load_examples
from bot.nlu.training import build_pipeline


@dataclass
class Evaluation:
    name: str
    labels: list[str]
    y_true: list[str]
    y_pred: list[str]

    @property
    def n(self) -> int:
        return len(self.y_true)

    @property
    def accuracy(self) -> float:
        return float(accuracy_score(self.y_true, self.y_pred))

    @property
    def macro_f1(self) -> float:
        labels = sorted(set(self.y_true))
        return float(
            precision_recall_fscore_support(
                self.y_true, self.y_pred, labels=labels, average="macro", zero_division=0
            )[2]
        )

    def per_intent(self) -> dict[str, dict[str, float]]:
        precision, recall, f1, support = precision_recall_fscore_support(
            self.y_true, self.y_pred, labels=self.labels, zero_division=0
        )
        return {
            label: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
            for label, p, r, f, s in zip(self.labels, precision, recall, f1, support, strict=True)
        }

    def confusion(self) -> np.ndarray:
        return confusion_matrix(self.y_true, self.y_pred, labels=self.labels)

    def errors(self, texts: list[str], limit: int = 40) -> list[tuple[str, str, str]]:
        wrong = [(t, y, p) for t, y, p in zip(texts, self.y_true, self.y_pred, strict=True) if y != p]
        return wrong[:limit]


def evaluate_cross_validation(
    examples: list[Example] | None = None, folds: int = 5, seed: int = 13
) -> Evaluation:
    examples = examples or load_examples(DEFAULT_DATA_DIR)
    texts = np.array([e.text for e in examples], dtype=object)
    intents = np.array([e.intent for e in examples], dtype=object)
    predicted = np.empty(len(texts), dtype=object)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train_idx, test_idx in splitter.split(texts, intents):
        pipeline = build_pipeline()
        pipeline.fit(list(texts[train_idx]), list(intents[train_idx]))
        predicted[test_idx] = pipeline.predict(list(texts[test_idx]))
    labels = sorted(set(intents))
    return Evaluation("cross-validation", labels, list(intents), list(predicted))


def evaluate_heldout(path: Path, train: list[Example] | None = None) -> Evaluation:
    """Train on all training data, test on the separate held-out file (never trained on)."""
    train = train or load_examples(DEFAULT_DATA_DIR)
    test = load_examples(path)
    pipeline = build_pipeline()
    pipeline.fit([e.text for e in train], [e.intent for e in train])
    predicted = list(pipeline.predict([e.text for e in test]))
    labels = sorted({e.intent for e in train} | {e.intent for e in test})
    evaluation = Evaluation("held-out", labels, [e.intent for e in test], predicted)
    evaluation.texts = [e.text for e in test]  # type: ignore[attr-defined]
    return evaluation


def _table(evaluation: Evaluation) -> list[str]:
    lines = ["| intention | précision | rappel | F1 | exemples |", "|---|---:|---:|---:|---:|"]
    for label, m in evaluation.per_intent().items():
        if m["support"]:
            lines.append(
                f"| {label} | {m['precision']:.2f} | {m['recall']:.2f} | {m['f1']:.2f} | {m['support']} |"
            )
    return lines


def _confusion_table(evaluation: Evaluation) -> list[str]:
    matrix = evaluation.confusion()
    short = [label[:10] for label in evaluation.labels]
    lines = ["| vrai \\ prédit | " + " | ".join(short) + " |", "|---" * (len(short) + 1) + "|"]
    for label, row in zip(evaluation.labels, matrix, strict=True):
        lines.append(f"| {label} | " + " | ".join(str(v) if v else "·" for v in row) + " |")
    return lines


def write_report(folder: Path, cv: Evaluation, heldout: Evaluation | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = [f"# Évaluation NLU — {dt.datetime.now().isoformat(timespec='minutes')}", ""]
    for evaluation in [cv, heldout]:
        if evaluation is None:
            continue
        lines += [
            f"## {evaluation.name} ({evaluation.n} exemples)",
            "",
            f"macro-F1 **{evaluation.macro_f1:.3f}**, exactitude {evaluation.accuracy:.3f}",
            "",
        ]
        lines += (
            _table(evaluation) + ["", "### Matrice de confusion", ""] + _confusion_table(evaluation) + [""]
        )
        texts = getattr(evaluation, "texts", None)
        if texts:
            lines += (
                ["### Erreurs", ""] + [f"- `{t}` : {y} → {p}" for t, y, p in evaluation.errors(texts)] + [""]
            )
    path = folder / "report.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    summary = {
        e.name: {"macro_f1": e.macro_f1, "accuracy": e.accuracy, "n": e.n, "per_intent": e.per_intent()}
        for e in [cv, heldout]
        if e is not None
    }
    (folder / "report.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8")
    return path

"""`aiguillage nlu train | evaluate | parse`."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from bot.nlu.evaluation import evaluate_cross_validation, evaluate_heldout, write_report
from bot.nlu.interpreter import Interpreter, default_model_path, train_and_save


def cmd_train(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    out = Path(args.out) if args.out else default_model_path()
    try:
        classifier = train_and_save(Path(args.data) if args.data else None, out, progress=True)
    except FileNotFoundError as exc:
        print(f"Entraînement impossible : {exc}", file=sys.stderr)
        return 2
    meta = classifier.meta
    print(
        f"Modèle entraîné : {meta['examples']} exemples, {len(meta['intents'])} intentions, "
        f"{time.perf_counter() - started:.1f} s -> {out}"
    )
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    print(f"Validation croisée stratifiée en {args.folds} plis…", file=sys.stderr)
    cv = evaluate_cross_validation(folds=args.folds)
    heldout = None
    if args.heldout and Path(args.heldout).exists():
        print(f"Jeu de test séparé : {args.heldout}…", file=sys.stderr)
        heldout = evaluate_heldout(Path(args.heldout))
    path = write_report(Path(args.report), cv, heldout)
    print(f"Validation croisée : macro-F1 {cv.macro_f1:.3f}, exactitude {cv.accuracy:.3f} ({cv.n} exemples)")
    if heldout:
        print(
            f"Jeu séparé        : macro-F1 {heldout.macro_f1:.3f}, exactitude {heldout.accuracy:.3f} "
            f"({heldout.n} exemples)"
        )
    print(f"Rapport : {path}")
    return 0


def cmd_parse(args: argparse.Namespace) -> int:
    interpreter = Interpreter.load()
    if args.text:
        result = interpreter.parse(" ".join(args.text))
        if args.json:
            print(json.dumps(result.to_json(), ensure_ascii=False))
        else:
            print(f"intention : {result.intent} ({result.confidence:.2f})  langue : {result.language}")
            for entity in result.entities:
                if entity.entity != "language":
                    print(f"  {entity.entity} = {entity.value}")
        return 0
    for line in sys.stdin:
        text = line.rstrip("\n")
        print(json.dumps(interpreter.parse(text).to_json(), ensure_ascii=False), flush=True)
    return 0


def cmd_situations(args: argparse.Namespace) -> int:
    """Reading-level scores of the situation reader on the held-out test set."""
    from bot.nlu.situation import load_reader
    from bot.nlu.situation_eval import load_cases, score_reading

    try:
        cases = load_cases(Path(args.testset) if args.testset else None)
    except (OSError, KeyError) as exc:
        print(f"Jeu de test illisible : {exc}", file=sys.stderr)
        return 2
    if not cases:
        print("Aucun cas dans le jeu de test.", file=sys.stderr)
        return 2
    score = score_reading(load_reader(), cases)
    summary = score.summary()
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
        return 0
    labels = {
        "cases": "cas", "needs_precision": "besoins : précision", "needs_recall": "besoins : rappel",
        "needs_f1": "besoins : F1", "schemes_recall": "dispositifs attendus lus (rappel)",
        "schemes_irrelevant": "dispositifs lus hors sujet (part)", "role_accuracy": "rôle de l'auteur : exactitude",
        "asks_accuracy": "question posée : exactitude",
    }  # fmt: skip
    for key, value in summary.items():
        print(f"{labels.get(key, key):40s} {value}")
    print("dispositifs attendus les plus manqués :", ", ".join(f"{k} ({v})" for k, v in score.missed.most_common(8)))
    print("dispositifs hors sujet les plus lus   :", ", ".join(f"{k} ({v})" for k, v in score.irrelevant.most_common(8)))
    return 0

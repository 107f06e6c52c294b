"""Follow-up questions answered from the fiche, on the held-out follow-up set (tests/followups).

    PYTHONPATH=. .venv/bin/python scripts/eval_followups.py [--dir tests/followups] [--json] [--misses N]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bot.dialogue.engine import build_engine
from bot.dialogue.followups_eval import DEFAULT_DIR, evaluate, load_cases, markdown


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--misses", type=int, default=0, help="print N cases not answered or quoted beside")
    args = parser.parse_args(argv)
    engine = build_engine()
    cases = load_cases(args.dir, known=engine.kb.schemes)
    if not cases:
        print(f"aucun cas dans {args.dir}", file=sys.stderr)
        return 1
    report = evaluate(engine, cases)
    print(json.dumps(report.to_json(), ensure_ascii=False, indent=1) if args.json else markdown(report))
    shown = 0
    for result in report.results:
        if shown >= args.misses:
            break
        if (result.case.answerable and not result.answered) or result.beside:
            shown += 1
            expected = [s[:90] for sentences in result.case.expect.values() for s in sentences]
            print(f"\n[{result.case.id}] {result.case.text}  (montrés : {result.case.shown})\n"
                  f"  attendu : {expected}\n  cité à côté : {[q[:90] for q in result.beside]}\n"
                  f"  réponse : {result.replies[:400]!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

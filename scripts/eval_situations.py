"""Recall and irrelevant rate of the schemes the assistant shows on the held-out situation set.

    PYTHONPATH=. .venv/bin/python scripts/eval_situations.py [--dir tests/situations] [--json] [--misses N]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bot.dialogue.engine import build_engine
from bot.dialogue.situations_eval import DEFAULT_DIR, evaluate, load_cases, markdown


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--misses", type=int, default=0, help="print N cases with a miss or an irrelevant scheme")
    args = parser.parse_args(argv)
    engine = build_engine()
    names = {sid: s.name for sid, s in engine.kb.schemes.items()}
    cases = load_cases(args.dir, known=names)
    if not cases:
        print(f"aucun cas dans {args.dir}", file=sys.stderr)
        return 1
    report = evaluate(engine, cases, names)
    print(json.dumps(report.to_json(), ensure_ascii=False, indent=1) if args.json else markdown(report))
    shown = 0
    for result in report.results:
        if shown >= args.misses:
            break
        missing = [s for s in result.case.schemes if s not in result.found]
        if missing or result.irrelevant:
            shown += 1
            print(f"\n[{result.case.source}] {result.case.text[:140]}\n  manque: {missing}  "
                  f"en trop: {result.irrelevant}  montrés: {result.shown}  tours: {result.turns}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

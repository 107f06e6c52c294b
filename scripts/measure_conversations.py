"""Run every conversation test (tests/conversations/*.yml) through the real engine and report:
questions asked before the first orientation (median, mean, max) and per-turn latency.

    .venv/bin/python scripts/measure_conversations.py [--output docs/conversations.md]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", help="also write the Markdown table to this file")
    args = parser.parse_args()

    import os

    os.environ.setdefault("AIGUILLAGE_DATA_DIR", tempfile.mkdtemp(prefix="aiguillage-measure-"))
    from bot.dialogue.api import Incoming
    from bot.dialogue.engine import build_engine

    engine = build_engine()
    questions_before: list[int] = []
    latencies: list[float] = []
    files = sorted((ROOT / "tests" / "conversations").glob("*.yml"))
    for path in files:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        state = engine.new_state()
        asked, oriented = 0, False
        for turn in spec["turns"]:
            if "location" in turn:
                incoming = Incoming(latitude=turn["location"]["lat"], longitude=turn["location"]["lon"])
            else:
                incoming = Incoming(text=str(turn["user"]))
            started = time.perf_counter()
            result = engine.handle(state, incoming)
            latencies.append((time.perf_counter() - started) * 1000)
            state = engine.new_state() if result.erase else result.state
            if oriented:
                continue
            if any(r.custom.get("orientation") for r in result.replies):
                oriented = True
                questions_before.append(asked)
            elif any(r.custom.get("question") or r.custom.get("request_location") for r in result.replies):
                asked += 1
    latencies.sort()
    rows = [
        ("conversations", f"{len(files)}"),
        ("conversations reaching an orientation", f"{len(questions_before)}"),
        ("questions before the first orientation: median", f"{statistics.median(questions_before):g}"),
        ("questions before the first orientation: mean", f"{statistics.mean(questions_before):.2f}"),
        ("questions before the first orientation: max", f"{max(questions_before)}"),
        ("turns measured", f"{len(latencies)}"),
        ("latency per turn p50", f"{latencies[len(latencies) // 2]:.1f} ms"),
        ("latency per turn p95", f"{latencies[int(len(latencies) * 0.95)]:.1f} ms"),
        ("latency per turn max", f"{latencies[-1]:.1f} ms"),
    ]
    table = "\n".join(["| measure | value |", "|---|---|", *[f"| {k} | {v} |" for k, v in rows]])
    print(table)
    if args.output:
        Path(args.output).write_text(
            "# Conversation tests: questions and latency\n\n"
            f"Measured with `scripts/measure_conversations.py` on {time.strftime('%Y-%m-%d')} "
            "(2 cores; engine in process, NLU included).\n\n" + table + "\n",
            encoding="utf-8",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

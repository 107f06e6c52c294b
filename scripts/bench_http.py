#!/usr/bin/env python3
"""HTTP latency of the assistant, end to end: a real `aiguillage serve` (uvicorn) on a free port.

Plays the scripted conversations of `aiguillage bench` (bot/bench.py: texts, quick-reply
answers, a shared position) over the native JSON API until `--messages` messages are sent, first
from one client (one message at a time), then from `--clients` clients at once, each on its own
conversations. Every message is timed from the client (request sent -> JSON parsed; the client is bot/bench_http.py, shared with
`aiguillage bench`), so the figures include HTTP, the rate limiter, the store's locks and database write, and the engine turn.
Prints a Markdown table (p50 / p95 / max); `--output FILE` also writes it.

    .venv/bin/python scripts/bench_http.py --messages 300 --clients 4
    .venv/bin/python scripts/bench_http.py --database-url postgresql+psycopg://postgres@127.0.0.1/bench \
        --redis-url redis://127.0.0.1:6379/0

Default database: a new temporary SQLite file. The data folder ($AIGUILLAGE_DATA_DIR, else var/)
must hold the trained NLU model, or the first start trains it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bot.bench_http import play, run_clients, start_server, stop_server  # noqa: E402


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def row(label: str, durations: list[float], elapsed: float) -> str:
    p50, p95 = np.percentile(durations, [50, 95])
    rate = len(durations) / elapsed
    return f"| {label} | {len(durations)} | {ms(p50)} | {ms(p95)} | {ms(max(durations))} | {rate:.0f} |"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=300, help="messages per scenario (default 300)")
    parser.add_argument("--clients", type=int, default=4, help="clients at once in the second scenario")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers (default 1)")
    parser.add_argument("--database-url", default=None, help="default: a new temporary SQLite file")
    parser.add_argument("--redis-url", default="", help="locks and rate limits in Redis (default: none)")
    parser.add_argument("--output", default=None, help="also write the table to this Markdown file")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="aiguillage-bench-") as tmp:
        database_url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        load = os.getloadavg()[0]
        process, url = start_server(database_url, Path(tmp) / "server.log", workers=args.workers,
                                    redis_url=args.redis_url)
        try:
            play(url, 20, offset=3)  # warm-up: first requests, caches
            started = time.perf_counter()
            one, _errors = play(url, args.messages)
            one_elapsed = time.perf_counter() - started
            run = run_clients(url, args.clients, max(1, args.messages // args.clients))
            many, many_elapsed = run.durations, run.elapsed
        finally:
            stop_server(process)

    database = database_url.split("://", 1)[0].split("+", 1)[0]
    lines = [
        f"- Date : {dt.datetime.now():%Y-%m-%d %H:%M}",
        f"- Machine : {os.cpu_count()} cœurs, {platform.system()} {platform.machine()}, "
        f"Python {platform.python_version()}, charge moyenne au départ {load:.1f}",
        f"- Serveur : `aiguillage serve`, {args.workers} worker(s) uvicorn, base {database}"
        + (", Redis (verrous, limites)" if args.redis_url else ", sans Redis"),
        f"- Commande : `scripts/bench_http.py --messages {args.messages} --clients {args.clients}"
        + (f" --workers {args.workers}" if args.workers != 1 else "")
        + (" --database-url …" if args.database_url else "")
        + (" --redis-url …" if args.redis_url else "")
        + "`",
        "",
        "| scénario | messages | p50 | p95 | max | messages/s |",
        "|---|---:|---:|---:|---:|---:|",
        row("1 client, un message à la fois", one, one_elapsed),
        row(f"{args.clients} clients en même temps", many, many_elapsed),
    ]
    table = "\n".join(lines)
    print(table)
    if args.output:
        Path(args.output).write_text(table + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

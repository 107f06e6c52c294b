#!/usr/bin/env python3
"""HTTP latency of the assistant, end to end: a real `aiguillage serve` (uvicorn) on a free port.

Plays the scripted conversations of `aiguillage bench` (bot/bench.py: texts, quick-reply
answers, a shared position) over the native JSON API until `--messages` messages are sent, first
from one client (one message at a time), then from `--clients` clients at once, each on its own
conversations. Every message is timed from the client (request sent -> JSON parsed), so the
figures include HTTP, the rate limiter, the store's locks and database write, and the engine turn.
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
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bot.bench import CONVERSATIONS  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(
    args: argparse.Namespace, database_url: str, log_path: Path
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "AIGUILLAGE_DATABASE_URL": database_url,
        "AIGUILLAGE_RATE_LIMIT_PER_MINUTE": "1000000",  # measure the server, not the limiter's refusals
        "AIGUILLAGE_RATE_LIMIT_BURST": "1000000",
        "AIGUILLAGE_WORKERS": str(args.workers),
    }
    env.pop("AIGUILLAGE_TELEGRAM_TOKEN", None)
    if args.redis_url:
        env["AIGUILLAGE_REDIS_URL"] = args.redis_url
    else:
        env.pop("AIGUILLAGE_REDIS_URL", None)
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "serve", "--port", str(port)],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # so that stopping it also stops its workers
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server stopped:\n{log_path.read_text()[-2000:]}")
        try:
            if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)
    raise SystemExit("the server was not ready after 180 s")


def body(step: Any) -> dict[str, Any]:
    if isinstance(step, dict):
        lat, lon = step["location"]
        return {"location": {"lat": lat, "lon": lon}}
    return {"text": step}


def play(url: str, budget: int, offset: int = 0) -> list[float]:
    """Send `budget` messages (conversations in turn, starting at `offset`); one duration per message."""
    durations: list[float] = []
    with httpx.Client(base_url=url, timeout=60) as client:
        index = offset
        while len(durations) < budget:
            script = CONVERSATIONS[index % len(CONVERSATIONS)]
            index += 1
            conversation = None
            for step in script:
                if len(durations) >= budget:
                    break
                started = time.perf_counter()
                if conversation is None:
                    response = client.post("/api/v1/conversations", json=body(step))
                else:
                    response = client.post(f"/api/v1/conversations/{conversation}/messages", json=body(step))
                data = response.json()
                durations.append(time.perf_counter() - started)
                if response.status_code not in (200, 201):
                    raise SystemExit(f"HTTP {response.status_code}: {data}")
                if data.get("erased"):
                    break
                conversation = data["conversation_id"]
    return durations


def concurrent(url: str, budget: int, clients: int) -> tuple[list[float], float]:
    results: list[list[float]] = [[] for _ in range(clients)]
    share = [budget // clients + (1 if i < budget % clients else 0) for i in range(clients)]

    def run(i: int) -> None:
        results[i] = play(url, share[i], offset=i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [d for r in results for d in r], time.perf_counter() - started


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
        process, url = start_server(args, database_url, Path(tmp) / "server.log")
        try:
            play(url, 20, offset=3)  # warm-up: first requests, caches
            started = time.perf_counter()
            one = play(url, args.messages)
            one_elapsed = time.perf_counter() - started
            many, many_elapsed = concurrent(url, args.messages, args.clients)
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)

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

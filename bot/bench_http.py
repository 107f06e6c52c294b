"""HTTP latency of the assistant, end to end: a real `aiguillage serve` (uvicorn) on a free loopback port.

Plays the scripted conversations of `aiguillage bench` (bot/bench.py) over the native JSON API,
from `clients` concurrent conversations, each message timed from the client (request sent ->
JSON parsed): HTTP, rate limiter, the store's locks and database write, and the engine turn.
With `pause_s`, each client waits that long between its messages (a person reading and typing).
Every run is bounded: a number of messages per client, and the server is stopped at the end.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np

REPO = Path(__file__).resolve().parent.parent


@dataclass
class HttpRun:
    clients: int
    pause_s: float
    durations: list[float]
    elapsed: float
    errors: int

    @property
    def turns_per_s(self) -> float:
        return len(self.durations) / self.elapsed if self.elapsed else 0.0

    def percentiles(self) -> tuple[float, float]:
        p50, p95 = np.percentile(self.durations, [50, 95])
        return float(p50), float(p95)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(database_url: str, log_path: Path, workers: int = 1, redis_url: str = "",
                 data_dir: str | None = None) -> tuple[subprocess.Popen[bytes], str]:  # fmt: skip
    """`aiguillage serve` on 127.0.0.1 with the rate limit lifted (measure the server, not refusals)."""
    port = free_port()
    env = {
        **os.environ,
        "AIGUILLAGE_DATABASE_URL": database_url,
        "AIGUILLAGE_RATE_LIMIT_PER_MINUTE": "1000000",
        "AIGUILLAGE_RATE_LIMIT_BURST": "1000000",
        "AIGUILLAGE_WORKERS": str(workers),
        # the dialogue turn is measured here; OpenFisca's simulations (seconds each, in worker
        # processes) have their own rows (`aiguillage bench --openfisca on`)
        "AIGUILLAGE_OPENFISCA": "off",
        "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
    }
    if data_dir:
        env["AIGUILLAGE_DATA_DIR"] = data_dir
    env.pop("AIGUILLAGE_TELEGRAM_TOKEN", None)
    if redis_url:
        env["AIGUILLAGE_REDIS_URL"] = redis_url
    else:
        env.pop("AIGUILLAGE_REDIS_URL", None)
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,  # so that stopping it also stops its workers
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server stopped:\n{log_path.read_text()[-2000:]}")
        try:
            if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    stop_server(process)
    raise RuntimeError("the server was not ready after 240 s")


def stop_server(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(process.pid, signal.SIGKILL)


def server_rss_mb(process: subprocess.Popen[bytes]) -> list[float]:
    """Resident memory of the server's processes (the main one, then its workers), in MB."""
    pids = [process.pid]
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    out = []
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    out.append(int(line.split()[1]) / 1024)
        except OSError:
            continue
    return out


def _body(step: Any) -> dict[str, Any]:
    if isinstance(step, dict):
        lat, lon = step["location"]
        return {"location": {"lat": lat, "lon": lon}}
    return {"text": step}


def play(url: str, budget: int, offset: int = 0, pause_s: float = 0.0) -> tuple[list[float], int]:
    """Send `budget` messages (the scripted conversations in turn, from `offset`): durations, errors."""
    from bot.bench import CONVERSATIONS

    durations: list[float] = []
    errors = 0
    with httpx.Client(base_url=url, timeout=60) as client:
        index = offset
        while len(durations) + errors < budget:
            script = CONVERSATIONS[index % len(CONVERSATIONS)]
            index += 1
            conversation = None
            for step in script:
                if len(durations) + errors >= budget:
                    break
                if pause_s and (durations or errors):
                    time.sleep(pause_s)
                started = time.perf_counter()
                path = "/api/v1/conversations" + (f"/{conversation}/messages" if conversation else "")
                try:
                    response = client.post(path, json=_body(step))
                    data = response.json()
                except (httpx.HTTPError, ValueError):
                    errors += 1
                    break
                if response.status_code not in (200, 201):
                    errors += 1
                    break
                durations.append(time.perf_counter() - started)
                if data.get("erased"):
                    break
                conversation = data["conversation_id"]
    return durations, errors


def run_clients(url: str, clients: int, per_client: int, pause_s: float = 0.0) -> HttpRun:
    """`clients` conversations at once, `per_client` messages each (staggered over the first pause)."""
    results: list[tuple[list[float], int]] = [([], 0)] * clients

    def run(i: int) -> None:
        if pause_s:
            time.sleep(pause_s * i / clients)  # people do not all type at the same instant
        results[i] = play(url, per_client, offset=i, pause_s=pause_s)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return HttpRun(clients, pause_s, [d for r, _e in results for d in r], elapsed, sum(e for _r, e in results))


#: (clients, pause between a client's messages in s, messages per client) of each scenario
SCENARIOS = [(1, 0.0, 40), (10, 0.0, 12), (100, 0.0, 3), (1, 3.0, 4), (10, 3.0, 4), (100, 3.0, 3)]
QUICK_SCENARIOS = [(1, 0.0, 20), (10, 0.0, 6), (100, 0.0, 2), (10, 3.0, 3), (100, 3.0, 2)]


def http_rows(row: Any, quick: bool, progress: Any, data_dir: str | None = None) -> list[Any]:
    """One row per scenario (p50 / p95, turns/s without pauses) and the server's memory."""
    import tempfile

    rows = []
    with tempfile.TemporaryDirectory(prefix="aiguillage-bench-http-") as folder:
        database_url = f"sqlite:///{Path(folder) / 'http.sqlite3'}"
        progress("serveur HTTP (base neuve : import des annuaires au premier démarrage)")
        process, url = start_server(database_url, Path(folder) / "server.log", data_dir=data_dir)
        try:
            play(url, 10, offset=3)  # warm-up: first requests, caches
            for clients, pause, per_client in QUICK_SCENARIOS if quick else SCENARIOS:
                progress(f"HTTP : {clients} conversation(s), pause {pause:.0f} s")
                run = run_clients(url, clients, per_client, pause)
                if not run.durations:
                    continue
                p50, p95 = run.percentiles()
                rate = f" ; {run.turns_per_s:.0f} tours/s" if not pause else ""
                paused = f", {pause:.0f} s entre deux messages" if pause else ", sans pause"
                rows.append(row(
                    f"Tour via HTTP, {clients} conversation(s) à la fois{paused} (p50 / p95)",
                    f"{p50 * 1000:.0f} ms / {p95 * 1000:.0f} ms",
                    f"{len(run.durations)} messages{rate}" + (f", {run.errors} erreur(s)" if run.errors else "")
                    + " ; 1 worker uvicorn, SQLite, sans Redis, sans OpenFisca",
                    f"aiguillage bench{' --quick' if quick else ''} (bot/bench_http.py)",
                ))  # fmt: skip
            rss = server_rss_mb(process)
            rows.append(row("Mémoire par processus serveur (RSS)", " + ".join(f"{r:.0f} Mo" for r in rss),
                            "après les scénarios HTTP ; processus principal puis workers", "aiguillage bench"))
        finally:
            stop_server(process)
    return rows

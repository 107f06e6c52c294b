"""A real `aiguillage serve` (uvicorn) in a subprocess, for the crash, browser and latency tests.

`LiveServer(data_dir, database_url).start()` runs `python -m bot.cli serve --port P` on a free
port with $AIGUILLAGE_DATA_DIR and $AIGUILLAGE_DATABASE_URL set, waits for `/readyz`, and keeps
its output in `<data_dir>/server-<port>.log`. `kill()` sends SIGKILL (a crash), `stop()` SIGTERM.
Use the data dir where the NLU model is already trained (conftest's session dir), or the first
start trains it (about half a minute).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
#: variables of the developer's shell that would change what the server does
CLEARED = (
    "AIGUILLAGE_REDIS_URL",
    "AIGUILLAGE_TELEGRAM_TOKEN",
    "AIGUILLAGE_RETENTION_DAYS",
    "AIGUILLAGE_LOG_CONTENT",
    "AIGUILLAGE_WORKERS",
    "AIGUILLAGE_SECRET_KEY",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    def __init__(
        self,
        data_dir: Path,
        database_url: str,
        *,
        port: int | None = None,
        env: dict[str, str] | None = None,
        log_name: str | None = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.database_url = database_url
        self.port = port or free_port()
        self.extra_env = env or {}
        self.log_path = self.data_dir / (log_name or f"server-{self.port}.log")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120.0) -> LiveServer:
        env = {k: v for k, v in os.environ.items() if k not in CLEARED}
        env.update(
            AIGUILLAGE_DATA_DIR=str(self.data_dir),
            AIGUILLAGE_DATABASE_URL=self.database_url,
            PYTHONUNBUFFERED="1",
            **self.extra_env,
        )
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited ({self.process.returncode}):\n{self.log()[-3000:]}")
            try:
                if httpx.get(self.url + "/readyz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise TimeoutError(f"server not ready after {timeout} s:\n{self.log()[-3000:]}")

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL: no shutdown handler runs, like a crash or the OOM killer."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self) -> LiveServer:
        return self.start() if self.process is None else self

    def __exit__(self, *_exc: Any) -> None:
        self.stop()

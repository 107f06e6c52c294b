"""Engines for the store's concurrency tests, and a worker process that sends messages through a store.

    python tests/store_worker.py DB_URL REDIS_URL CHANNEL EXTERNAL_ID COUNT INTERVALS_FILE

sends COUNT messages to one conversation through its own `ConversationStore` (its own database
pool, its own in-process locks) and appends the (start, end) time of each engine turn to
INTERVALS_FILE, one JSON line per turn. $AIGUILLAGE_SECRET_KEY must be the parent's.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

if __name__ == "__main__":  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.dialogue.api import Engine, Incoming, Reply, Turn


class CountingEngine:
    """Counts turns in the state with a read-sleep-write race window; optionally wraps a real engine.

    If two turns of one conversation ever ran on the same stored state, one increment would be
    lost (`state["n"]` lower than the number of messages). Also records how many turns run at once
    and when each ran.
    """

    def __init__(self, inner: Engine | None = None, delay: float = 0.01) -> None:
        self.inner, self.delay = inner, delay
        self.inside = 0
        self.max_inside = 0
        self.intervals: list[tuple[float, float]] = []
        self.gate: threading.Event | None = None  # when set by a test, turns wait for it
        self.entered = threading.Event()
        self._lock = threading.Lock()

    def new_state(self) -> dict[str, Any]:
        state = self.inner.new_state() if self.inner else {}
        return {**state, "n": 0}

    def handle(self, state: dict[str, Any], incoming: Incoming) -> Turn:
        start = time.time()
        with self._lock:
            self.inside += 1
            self.max_inside = max(self.max_inside, self.inside)
        self.entered.set()
        try:
            seen = int(state.get("n", 0))
            if self.gate is not None:
                self.gate.wait(30)
            if self.inner is not None:
                turn = self.inner.handle(state, incoming)
                new_state, replies, erase = dict(turn.state), turn.replies, turn.erase
            else:
                new_state, replies, erase = dict(state), [Reply(f"tour {seen + 1}")], False
            time.sleep(self.delay)  # the race window
            new_state["n"] = seen + 1
            return Turn(new_state, replies, erase)
        finally:
            with self._lock:
                self.inside -= 1
            self.intervals.append((start, time.time()))

    def summary(self, state: dict[str, Any]) -> dict[str, Any]:
        return {"n": state.get("n", 0)}


def main(argv: list[str]) -> int:
    from bot.channels.store import ConversationStore
    from knowledge.db import make_engine

    db_url, redis_url, channel, external_id, count, out = argv
    engine = CountingEngine(delay=0.01)
    store = ConversationStore(make_engine(db_url), engine, redis_url=redis_url)
    for i in range(int(count)):
        store.process(channel, external_id, Incoming(text=f"message {i}", channel=channel))
    with open(out, "a", encoding="utf-8") as handle:
        for start, end in engine.intervals:
            handle.write(json.dumps([start, end]) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

"""A dialogue engine that answers « Bonjour. » to everything: for tests of the pages and routes
around the conversation (console, outreach app), where the real engine would only cost time."""

from __future__ import annotations

from typing import Any

from bot.dialogue.api import Incoming, Reply, Turn


class StubEngine:
    def new_state(self) -> dict[str, Any]:
        return {"slots": {}}

    def handle(self, state: dict[str, Any], incoming: Incoming) -> Turn:
        return Turn(state or self.new_state(), [Reply("Bonjour.")])

    def summary(self, state: dict[str, Any]) -> dict[str, Any]:
        return {}

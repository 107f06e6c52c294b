"""The warm-up before the first person's turn (bot/dialogue/warm_up.py): what the engine loads lazily
is loaded by a throwaway conversation, and a failure there never stops a server from starting."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from actions.common import _search_for
from bot.dialogue.api import Incoming, Turn
from bot.dialogue.warm_up import WARM_UP_TURNS, warm_up


def test_the_places_index_is_built_by_the_warm_up(engine: Any) -> None:
    _search_for.cache_clear()
    assert _search_for.cache_info().currsize == 0
    warm_up(engine)
    assert _search_for.cache_info().currsize == 1  # the orientation read the places nearby


class _Recording:
    def __init__(self, fail_on: int | None = None) -> None:
        self.seen: list[tuple[dict[str, Any], Incoming]] = []
        self.fail_on = fail_on

    def new_state(self) -> dict[str, Any]:
        return {"turns": 0}

    def handle(self, state: dict[str, Any], incoming: Incoming) -> Turn:
        self.seen.append((dict(state), incoming))
        if self.fail_on == len(self.seen):
            raise RuntimeError("boom")
        return Turn({"turns": state["turns"] + 1}, [])


def test_the_turns_follow_each_other_on_one_fresh_state() -> None:
    recording = _Recording()
    warm_up(recording, channel="web")  # type: ignore[arg-type]
    assert [i.text for _s, i in recording.seen] == list(WARM_UP_TURNS)
    assert [s["turns"] for s, _i in recording.seen] == list(range(len(WARM_UP_TURNS)))
    assert {i.channel for _s, i in recording.seen} == {"web"}


def test_a_failing_warm_up_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="bot.dialogue.warm_up"):
        warm_up(_Recording(fail_on=1))  # type: ignore[arg-type]
    assert "engine warm-up failed (RuntimeError)" in caplog.text

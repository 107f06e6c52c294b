"""One throwaway turn before the first person's: what the engine loads lazily (the places'
index, the gazetteer's search, the word vectors of the fiches' sentences) is loaded at start-up,
not while someone waits. The HTTP server, the Telegram bot and the benchmark run it."""

from __future__ import annotations

import logging
import time

from bot.dialogue.api import Engine, Incoming

log = logging.getLogger(__name__)

#: a need, a commune and a follow-up: the orientation reads the places, the follow-up the fiche
WARM_UP_TURNS = ("je cherche une crèche à Arras", "c'est combien ?")


def warm_up(engine: Engine, channel: str = "warm-up") -> None:
    """A short conversation on a fresh state, not stored; a failure is logged, not fatal."""
    started = time.perf_counter()
    state = engine.new_state()
    try:
        for text in WARM_UP_TURNS:
            state = engine.handle(state, Incoming(text=text, channel=channel)).state
    except Exception as error:  # the real turns will tell
        log.warning("engine warm-up failed (%s)", type(error).__name__)
        return
    log.info("engine warmed up in %.2f s", time.perf_counter() - started)

"""Commune detection grows linearly with the message (issue 9, defect 4: "a\\n" x 900 was quadratic).

No timing (the test machine is shared): the number of Python function calls (cProfile counts
each generator step) for a 4-times longer message must grow about 4 times; the quadratic scan
grew about 16 times (1.1 s for 900 lines before the fix, 28 ms after, on the 2-core machine).
"""

from __future__ import annotations

import cProfile
import pstats

import pytest

from knowledge.gazetteer import Gazetteer


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return Gazetteer.load()


def _cost(gazetteer: Gazetteer, text: str) -> int:
    profile = cProfile.Profile()
    profile.runcall(gazetteer.find_in_text, text)
    return int(pstats.Stats(profile).total_calls)  # type: ignore[attr-defined]


@pytest.mark.parametrize("line", ["a\n", "a b ", "le la "])
def test_commune_detection_is_linear_in_the_message_length(gazetteer: Gazetteer, line: str) -> None:
    gazetteer.find_in_text("Arras")
    short, long = _cost(gazetteer, line * 225), _cost(gazetteer, line * 900)
    assert long / short < 6, f"{short} -> {long} calls for 4x the text"


def test_results_unchanged_on_ordinary_messages(gazetteer: Gazetteer) -> None:
    found = gazetteer.find_in_text("j'habite à Hersin-Coupigny")
    assert found and found[0][0].nom == "Hersin-Coupigny"
    assert [c.nom for c, _ in gazetteer.find_in_text("Lens")] == ["Lens"]

"""The held-out situation test set (tests/situations/*.yml) played through the dialogue engine.

Issue 7's target is recall of the expected schemes among those shown >= 0.90 and irrelevant
schemes shown <= 10 %; it is NOT reached yet (86.7 % / 14.6 % on 2026-12-01, third session; docs/situations.md).
This test guards against regressions: its floors sit a little under the figures measured, and
are to be raised towards the target as the reading improves. Each opening is sent, every question
answered "je ne sais pas" (at most 6 turns). `scripts/eval_situations.py --misses N` lists misses.
"""

from __future__ import annotations

import pytest

from bot.dialogue.situations_eval import DEFAULT_DIR, evaluate, load_cases, markdown, shown_schemes

#: issue 7's target: recall 0.90, irrelevant 0.10 (not reached); floors of the measured figures
RECALL_TARGET, IRRELEVANT_TARGET = 0.90, 0.10
RECALL_MIN = 0.85
IRRELEVANT_MAX = 0.16
#: who writes (the person, a relative, an agent, an ambassadeur), read after the opening: 92.2 %
ROLE_MIN = 0.90


def test_shown_schemes_are_read_by_name_longest_first() -> None:
    names = [("pass-colo", "pass colo"), ("pcb", "point conseil budget pcb")]
    assert shown_schemes(["✅ Pass colo : vous pourriez…", "Point conseil budget (PCB)"], names) == [
        "pass-colo", "pcb"]
    assert shown_schemes(["rien ici"], names) == []
    # the CAF named in a question is not the allocations familiales shown
    family = [("allocations-familiales", "allocations familiales")]
    assert shown_schemes(["Connaissez-vous votre quotient familial CAF (Caisse d'allocations familiales) ?"], family) == []
    assert shown_schemes(["✅ Allocations familiales : vous pourriez…"], family) == ["allocations-familiales"]


def test_the_test_set_is_large_and_labelled(kb) -> None:  # type: ignore[no-untyped-def]
    cases = load_cases(DEFAULT_DIR, known=kb.schemes)
    assert len(cases) >= 400
    assert {c.role for c in cases} >= {"self", "agent", "ambassadeur", "relative"}
    assert sum(1 for c in cases if c.schemes) >= 300


@pytest.mark.slow
def test_situation_gate(engine, kb) -> None:  # type: ignore[no-untyped-def]
    cases = load_cases(DEFAULT_DIR, known=kb.schemes)
    report = evaluate(engine, cases, {sid: s.name for sid, s in kb.schemes.items()})
    summary = markdown(report)
    assert report.recall >= RECALL_MIN, summary
    assert report.irrelevant_rate <= IRRELEVANT_MAX, summary
    assert report.role_accuracy >= ROLE_MIN, summary

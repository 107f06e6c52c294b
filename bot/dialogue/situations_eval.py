"""Play the held-out situation test set (tests/situations/*.yml) through the dialogue engine.

Each case's opening is sent as a first message; any question is answered "je ne sais pas"
(someone who answers nothing more than the opening) until an orientation or an answer comes,
at most MAX_TURNS turns. A scheme counts as *shown* when its name appears in the assistant's
replies. Two figures: recall of the expected schemes among the shown ones, and the share of
shown schemes that are neither expected nor acceptable (irrelevant).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.dialogue.api import Engine, Incoming
from knowledge.textnorm import fold
from knowledge.yamlio import load_yaml

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "tests" / "situations"
MAX_TURNS = 6
DONT_KNOW = "je ne sais pas"


@dataclass
class SituationCase:
    text: str
    needs: list[str]
    schemes: list[str]
    acceptable: list[str] = field(default_factory=list)
    role: str = "self"
    asks: str = "orientation"
    source: str = ""


@dataclass
class CaseResult:
    case: SituationCase
    shown: list[str]
    turns: int
    oriented: bool
    #: who the assistant took the writer for after the opening (self, relative, agent, ambassadeur)
    role: str = "self"

    @property
    def found(self) -> list[str]:
        return [s for s in self.case.schemes if s in self.shown]

    @property
    def irrelevant(self) -> list[str]:
        ok = set(self.case.schemes) | set(self.case.acceptable)
        return [s for s in self.shown if s not in ok]


@dataclass
class Report:
    results: list[CaseResult]

    @property
    def expected(self) -> int:
        return sum(len(r.case.schemes) for r in self.results)

    @property
    def recall(self) -> float:
        return sum(len(r.found) for r in self.results) / self.expected if self.expected else 1.0

    @property
    def shown(self) -> int:
        return sum(len(r.shown) for r in self.results)

    @property
    def role_accuracy(self) -> float:
        return sum(1 for r in self.results if r.role == r.case.role) / len(self.results) if self.results else 1.0

    @property
    def irrelevant_rate(self) -> float:
        return sum(len(r.irrelevant) for r in self.results) / self.shown if self.shown else 0.0

    def by(self, key: Callable[[SituationCase], str]) -> dict[str, tuple[int, float, float]]:
        """Cases, recall and irrelevant rate per group (role, asks...)."""
        groups: dict[str, list[CaseResult]] = {}
        for result in self.results:
            groups.setdefault(key(result.case), []).append(result)
        return {
            name: (len(items), Report(items).recall, Report(items).irrelevant_rate)
            for name, items in sorted(groups.items())
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "cases": len(self.results),
            "expected_schemes": self.expected,
            "shown_schemes": self.shown,
            "recall": round(self.recall, 4),
            "irrelevant_rate": round(self.irrelevant_rate, 4),
            "role_accuracy": round(self.role_accuracy, 4),
            "by_role": {k: {"cases": n, "recall": round(r, 4), "irrelevant": round(i, 4)}
                        for k, (n, r, i) in self.by(lambda c: c.role).items()},
        }


def load_cases(folder: Path = DEFAULT_DIR, known: Iterable[str] | None = None) -> list[SituationCase]:
    """Every case of the folder's YAML files; labels naming unknown schemes are dropped."""
    keep = set(known) if known is not None else None
    cases = []
    for path in sorted(folder.glob("*.yml")):
        data = load_yaml(path.read_text(encoding="utf-8")) or {}
        for item in data.get("cases") or []:
            schemes = [s for s in item.get("schemes") or [] if keep is None or s in keep]
            acceptable = [s for s in item.get("acceptable") or [] if keep is None or s in keep]
            cases.append(
                SituationCase(
                    text=str(item["text"]),
                    needs=list(item.get("needs") or []),
                    schemes=schemes,
                    acceptable=acceptable,
                    role=item.get("role") or "self",
                    asks=item.get("asks") or "orientation",
                    source=path.name,
                )
            )
    return cases


def _names(scheme_names: dict[str, str]) -> list[tuple[str, str]]:
    """(scheme id, folded name) — longest names first so "Pass Colo" is not read inside another."""
    return sorted(((sid, fold(name)) for sid, name in scheme_names.items()), key=lambda x: -len(x[1]))


#: names of institutions that contain a scheme's name: the CAF is not the allocations familiales
NOT_SCHEMES = ("caisse d allocations familiales",)


def shown_schemes(texts: list[str], names: list[tuple[str, str]]) -> list[str]:
    folded = fold("\n".join(texts))
    for institution in NOT_SCHEMES:
        folded = folded.replace(institution, " ")
    found = []
    for scheme_id, name in names:
        if name and name in folded:
            found.append(scheme_id)
            folded = folded.replace(name, " ")
    return found


def play(engine: Engine, case: SituationCase, names: list[tuple[str, str]]) -> CaseResult:
    state = engine.new_state()
    texts: list[str] = []
    message = case.text
    oriented = False
    turns = 0
    role = "self"
    for turns in range(1, MAX_TURNS + 1):  # noqa: B007 - the count is reported
        turn = engine.handle(state, Incoming(text=message, channel="eval"))
        state = turn.state
        texts += [r.text for r in turn.replies]
        slots = state.get("slots", {}) if state else {}
        if turns == 1:
            role = slots.get("role") or "self"
        oriented = any(r.custom.get("orientation") or r.custom.get("answer") for r in turn.replies)
        if oriented or not (slots.get("asking") or state.get("pending")):
            break
        message = DONT_KNOW
    return CaseResult(case, shown_schemes(texts, names), turns, oriented, role)


def evaluate(engine: Engine, cases: list[SituationCase], scheme_names: dict[str, str]) -> Report:
    names = _names(scheme_names)
    return Report([play(engine, case, names) for case in cases])


def markdown(report: Report) -> str:
    lines = [
        f"- cases: {len(report.results)}; expected schemes: {report.expected}; shown: {report.shown}",
        f"- recall of expected schemes: **{report.recall:.1%}**",
        f"- irrelevant schemes shown: **{report.irrelevant_rate:.1%}**",
        f"- writer's role read after the opening: **{report.role_accuracy:.1%}**",
        "",
        "| role | cases | recall | irrelevant |",
        "|---|---|---|---|",
    ]
    for name, (n, recall, irrelevant) in report.by(lambda c: c.role).items():
        lines.append(f"| {name} | {n} | {recall:.1%} | {irrelevant:.1%} |")
    lines += ["", "| asks | cases | recall | irrelevant |", "|---|---|---|---|"]
    for name, (n, recall, irrelevant) in report.by(lambda c: c.asks).items():
        lines.append(f"| {name} | {n} | {recall:.1%} | {irrelevant:.1%} |")
    return "\n".join(lines)

"""The question catalogue (fact -> question, quick replies, parser) and the next-question chooser."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from knowledge.answers import (
    is_dont_know,
    parse_age,
    parse_children,
    parse_choice,
    parse_duration_years,
    parse_money,
    parse_quotient,
    parse_yes_no,
)
from knowledge.eligibility import SchemeResult, Status
from knowledge.facts import HOUSING_WORDS, SITUATION_WORDS
from knowledge.schema import Question
from knowledge.textnorm import fold

if TYPE_CHECKING:
    from knowledge.gazetteer import Gazetteer

#: Facts that can replace a missing one: an unknown QF is estimated from income and household.
SUBSTITUTES = {"quotient_familial": ["monthly_income", "household_adults", "children_count"]}
ENUM_WORDS = {"situation": SITUATION_WORDS, "housing": HOUSING_WORDS}


@dataclass
class ParsedAnswer:
    facts: dict[str, Any] = field(default_factory=dict)
    dont_know: bool = False

    @property
    def understood(self) -> bool:
        return bool(self.facts) or self.dont_know


class QuestionCatalogue:
    def __init__(self, questions: list[Question], gazetteer: Gazetteer | None = None) -> None:
        self.questions = {q.fact: q for q in questions}
        self.order = [q.fact for q in questions]
        self._gazetteer = gazetteer

    def get(self, fact: str) -> Question:
        return self.questions[fact]

    # ------------------------------------------------------------------ parsing
    def parse(self, fact: str, text: str) -> ParsedAnswer:
        """Understand an answer to the question about `fact` (None-safe: nothing understood)."""
        question = self.questions[fact]
        folded = fold(text)
        for option in question.options:
            if folded in {fold(option.title), fold(str(option.value)), *(fold(s) for s in option.synonyms)}:
                if option.value is None:
                    return ParsedAnswer(dont_know=True)
                return ParsedAnswer(self._option_facts(fact, option.value))
        if is_dont_know(text):
            return ParsedAnswer(dont_know=True)
        value = self._parse_value(question, text)
        return ParsedAnswer(value or {})

    def _option_facts(self, fact: str, value: Any) -> dict[str, Any]:
        if fact in ("children_count", "children_ages") and value == 0:
            return {"children_count": 0, "children_ages": []}
        if fact == "household_adults":
            return {fact: int(value)}
        return {fact: value}

    def _parse_value(self, question: Question, text: str) -> dict[str, Any] | None:
        fact, parser = question.fact, question.parser
        if parser == "age":
            age = parse_age(text)
            return {fact: age} if age is not None else None
        if parser == "children":
            info = parse_children(text, expecting=True)
            if info is None:
                return None
            out: dict[str, Any] = {}
            if info.count is not None:
                out["children_count"] = info.count
            if info.ages:
                out["children_ages"] = info.ages
            if info.count == 0:
                out["children_ages"] = []
            return out or None
        if parser == "yes_no":
            answer = parse_yes_no(text)
            return {fact: answer} if answer is not None else None
        if parser == "money":
            amount = parse_money(text)
            return {fact: amount} if amount is not None else None
        if parser == "quotient":
            amount = parse_quotient(text)
            if amount is None:
                amount = parse_money(text)
            return {fact: amount} if amount is not None and amount < 10_000 else None
        if parser == "choice":
            words = ENUM_WORDS.get(fact) or {
                str(o.value): [o.title, *o.synonyms] for o in question.options if o.value is not None
            }
            if fact in ENUM_WORDS:
                words = {
                    k: [*v, *[o.title for o in question.options if o.value == k]] for k, v in words.items()
                }
            value = parse_choice(text, words)
            if value is None:
                return None
            return self._option_facts(fact, value)
        if parser == "commune":
            gazetteer = self._gazetteer_or_load()
            commune = gazetteer.resolve(text)
            if commune is None:
                found = gazetteer.find_in_text(text)
                commune = found[0][0] if found else None
            return {fact: commune.code_insee} if commune else None
        if parser == "years":
            years = parse_duration_years(text)
            return {fact: years} if years is not None else None
        if parser == "integer":
            amount = parse_money(text)
            return {fact: int(amount)} if amount is not None else None
        return None

    def _gazetteer_or_load(self) -> Gazetteer:
        if self._gazetteer is None:
            from knowledge.gazetteer import Gazetteer

            self._gazetteer = Gazetteer.load()
        return self._gazetteer

    # ------------------------------------------------------------------ choosing
    def next_question(
        self,
        results: list[SchemeResult],
        facts: dict[str, Any],
        declined: set[str] | frozenset[str] = frozenset(),
    ) -> Question | None:
        """The question that settles the most candidate schemes (fewest missing facts weigh more)."""
        scores: dict[str, float] = defaultdict(float)
        for result in results:
            if result.status is not Status.to_check:
                continue
            askable = self.askable_facts(result.missing, facts, declined)
            for fact in askable:
                scores[fact] += 1.0 / len(askable)
        if not scores:
            return None
        best = max(scores, key=lambda f: (round(scores[f], 6), -self.questions[f].cost, -self.order.index(f)))
        return self.questions[best]

    def askable_facts(
        self, missing: list[str], facts: dict[str, Any], declined: set[str] | frozenset[str]
    ) -> list[str]:
        out: list[str] = []
        for fact in missing:
            candidates = SUBSTITUTES.get(fact, []) if fact in declined else [fact]
            for candidate in candidates:
                if candidate in facts or candidate in declined or candidate not in self.questions:
                    continue
                if candidate not in out:
                    out.append(candidate)
        return out

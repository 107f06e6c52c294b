"""Button payloads (`/intent{json}`): parse and validate every value before it reaches the state.

A payload bypasses the classifier, so anything a person types in that shape must be checked
here: known intent, known entity names, each value of the expected type, in range, from a
closed set where there is one (needs, schemes, communes, situations...). Free text is never
accepted: a payload value is an identifier, a number or a boolean. A payload that fails any
check is read as the fallback intent with no entities (the text itself is never said back).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from knowledge.schema import Housing, Situation

#: longest payload accepted (the assistant's own are < 80 characters)
MAX_PAYLOAD_CHARS = 256
MAX_KEYS = 4
PAYLOAD = re.compile(r"^/(\w{1,40})(\{.*\})?\s*$", re.S)
INSEE = re.compile(r"^[0-9][0-9AB][0-9]{3}$")
IDENTIFIER = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")

#: intents a payload may carry: the classifier's 14 plus those only buttons produce
PAYLOAD_INTENTS = frozenset(
    {
        "affirm", "deny", "dont_know", "greet", "goodbye", "thanks", "ask_help", "ask_human",
        "ask_why", "erase_data", "out_of_scope", "express_need", "check_eligibility",
        "find_service_nearby", "ask_scheme_info", "give_location", "emergency", "inform",
        "choose_scheme", "give_age", "give_household_info", "give_housing", "give_income",
        "give_situation",
    }
)  # fmt: skip


def _integer(low: int, high: int) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError
        return value

    return check


def _number(low: float, high: float) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
            raise ValueError
        return float(value)

    return check


def _boolean(value: Any) -> Any:
    if not isinstance(value, bool):
        raise ValueError
    return value


def _one_of(values: frozenset[str]) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if not isinstance(value, str) or value not in values:
            raise ValueError
        return value

    return check


def _ages(value: Any) -> Any:
    if not isinstance(value, list) or len(value) > 12:
        raise ValueError
    return [_number(0, 30)(age) for age in value]


@dataclass
class PayloadVocabulary:
    """The closed sets a payload value is checked against (from the knowledge base)."""

    needs: frozenset[str] = frozenset()
    service_types: frozenset[str] = frozenset()
    schemes: frozenset[str] = frozenset()
    commune_exists: Callable[[str], bool] = lambda _code: True
    checks: dict[str, Callable[[Any], Any]] = field(init=False)

    def __post_init__(self) -> None:
        self.checks = {
            "age": _integer(0, 120),
            "children_count": _integer(0, 20),
            "household_adults": _integer(1, 2),
            "children_ages": _ages,
            "single_parent": _boolean,
            "owns_vacant_dwelling": _boolean,
            "pregnant": _boolean,
            "all": _boolean,
            "quotient_familial": _number(0, 100_000),
            "monthly_income": _number(0, 1_000_000),
            "situation": _one_of(frozenset(s.value for s in Situation)),
            "housing": _one_of(frozenset(h.value for h in Housing)),
            # the need buttons draw from needs and service types alike (actions.common.needs_catalogue)
            "need": _one_of(self.needs | self.service_types),
            "service_type": _one_of(self.service_types),
            "scheme": _one_of(self.schemes),
            "commune": self._commune,
        }

    def _commune(self, value: Any) -> Any:
        if not isinstance(value, str) or not INSEE.match(value) or not self.commune_exists(value):
            raise ValueError
        return value

    def check(self, name: str, value: Any) -> Any:
        """The value if `name` is a known entity and the value valid for it; ValueError otherwise."""
        checker = self.checks.get(name)
        if checker is None:
            raise ValueError
        return checker(value)


@dataclass(frozen=True)
class Payload:
    intent: str
    values: dict[str, Any]


def _shallow_json(raw: str) -> Any:
    """json.loads with no nesting deeper than a list in an object (no recursion bombs)."""
    depth = 0
    in_string = escaped = False
    for ch in raw:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > 2:
                raise ValueError("too deep")
        elif ch in "]}":
            depth -= 1
    return json.loads(raw)


def _clean_string(value: Any) -> bool:
    return not isinstance(value, str) or (
        len(value) <= 64 and not any(0xD800 <= ord(ch) <= 0xDFFF for ch in value)
    )


def parse_payload(text: str, vocabulary: PayloadVocabulary) -> Payload | None:
    """The validated payload, or None if `text` is not a well-formed payload with valid values."""
    stripped = text.strip()
    if len(stripped) > MAX_PAYLOAD_CHARS:
        return None
    match = PAYLOAD.match(stripped)
    if not match or match.group(1) not in PAYLOAD_INTENTS:
        return None
    intent, raw = match.group(1), match.group(2)
    if not raw:
        return Payload(intent, {})
    try:
        data = _shallow_json(raw)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or len(data) > MAX_KEYS:
        return None
    values: dict[str, Any] = {}
    for name, value in data.items():
        if not _clean_string(value):
            return None
        try:
            values[name] = vocabulary.check(name, value)
        except (ValueError, TypeError):
            return None
    return Payload(intent, values)


def looks_like_payload(text: str) -> bool:
    """True if `text` has the payload shape (a slash, a word, maybe braces), valid or not."""
    return bool(text) and bool(PAYLOAD.match(text.strip()[: MAX_PAYLOAD_CHARS + 1]))


def vocabulary_for(kb: Any, extractor: Any) -> PayloadVocabulary:
    """The vocabulary of a knowledge base (schemes, communes) and an entity extractor (needs)."""
    needs = getattr(extractor, "needs", {}) or {}
    return PayloadVocabulary(
        needs=frozenset(item["id"] for item in needs.get("needs", [])),
        service_types=frozenset(item["id"] for item in needs.get("service_types", [])),
        schemes=frozenset(getattr(kb, "schemes", {}) or {}),
        commune_exists=lambda code: kb.gazetteer.get(code) is not None,
    )

"""The situation form: the person's facts, read from the form in any order, and the same
eligibility as the chat (all schemes; OpenFisca amounts when its engine is ready, else « à vérifier »)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from actions.common import get_kb, rank_results
from actions.orientation import fact_label
from knowledge.eligibility import EligibilityEngine, SchemeResult, Status
from knowledge.facts import FactError, normalize_facts
from knowledge.schema import Housing, Situation

#: the form's fields, in the order shown (every one optional)
FIELDS = (
    "commune", "age", "situation", "housing", "children_count", "children_ages", "single_parent", "pregnant",
    "household_adults", "monthly_income", "quotient_familial", "salary", "partner_salary",
    "unemployment_benefit", "pension", "rent", "disability", "owns_vacant_dwelling",
)  # fmt: skip
YES_NO_FIELDS = ("single_parent", "pregnant", "disability", "owns_vacant_dwelling")
SITUATION_CHOICES = [(s.value, s.value) for s in Situation]
HOUSING_CHOICES = [(h.value, h.value) for h in Housing]
OPEN_TO_ALL = "Ouvert à tous"
STATUS_LABELS = {
    Status.eligible: "Peut y avoir droit",
    Status.to_check: "À vérifier",
    Status.not_eligible: "A priori non",
}


@dataclass
class SituationOutcome:
    facts: dict[str, Any]
    errors: list[str] = field(default_factory=list)
    results: list[SchemeResult] = field(default_factory=list)
    #: a missing fact -> the schemes still « à vérifier » that it would settle
    settles: list[tuple[str, str, list[str]]] = field(default_factory=list)


def children_ages_list(raw: str) -> list[str]:
    """"0,5 ; 4 ans" -> ["0.5", "4"]: a comma between two digits is a decimal comma; ";", "/",
    spaces and ", " separate the ages."""
    text = re.sub(r"(\d),(\d)", r"\1.\2", raw.lower())
    text = re.sub(r"\bans?\b", " ", text)
    return [part for part in re.split(r"[,;/\s]+", text) if part]


def read_form(form: dict[str, str]) -> tuple[dict[str, Any], list[str]]:
    """Facts from the form's text fields; an unreadable field is an error message, the others stay."""
    facts: dict[str, Any] = {}
    errors: list[str] = []
    kb = get_kb()
    for name in FIELDS:
        raw = (form.get(name) or "").strip()
        if not raw:
            continue
        value: Any = raw
        if name == "children_ages":
            value = children_ages_list(raw)
        try:
            facts.update(normalize_facts({name: value}, kb.gazetteer).facts)
        except (FactError, ValueError) as error:
            errors.append(str(error))
    if "children_ages" in facts and "children_count" not in facts:
        facts["children_count"] = len(facts["children_ages"])
    return facts, errors


def evaluate_situation(form: dict[str, str]) -> SituationOutcome:
    from knowledge.benefits.engines import current_benefits

    facts, errors = read_form(form)
    kb = get_kb()
    engine = EligibilityEngine(kb.gazetteer, benefits=current_benefits())
    results = rank_results(engine.evaluate_all(list(kb.schemes.values()), facts))
    outcome = SituationOutcome(facts, errors, results)
    settles: dict[str, list[str]] = {}
    for result in results:
        if result.status is Status.to_check:
            for fact in result.missing:
                settles.setdefault(fact, []).append(kb.schemes[result.scheme_id].name)
    ordered = sorted(settles.items(), key=lambda kv: -len(kv[1]))
    outcome.settles = [(fact, fact_label(fact, third_person=True), names) for fact, names in ordered]
    return outcome


def result_row(result: SchemeResult) -> dict[str, Any]:
    scheme = get_kb().schemes[result.scheme_id]
    # nothing about the person was checked: a place that can help, not a right (as in the chat)
    open_to_all = result.open_to_all
    return {
        "id": scheme.id,
        "name": scheme.name,
        "summary": scheme.summary,
        "status": result.status.value,
        "status_label": OPEN_TO_ALL if open_to_all else STATUS_LABELS[result.status],
        "reasons": [r for r in result.reasons if r],
        "missing": [fact_label(m, third_person=True) for m in result.missing],
        "to_verify": result.to_verify,
        "amount_text": result.amount_text,
        "computed": scheme.engine == "openfisca",
    }

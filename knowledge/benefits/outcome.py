"""From OpenFisca's numbers to an eligibility outcome: eligible with an estimated amount, not
eligible (0 € while every fact that matters is known), or to check (facts missing, or the
engine not ready: never a guess)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from knowledge.benefits.engines import Engine
from knowledge.benefits.simulator import Variable
from knowledge.benefits.situation import Household, mapping
from knowledge.schema import OpenFiscaOutcome, OpenFiscaSpec

MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
          "octobre", "novembre", "décembre")  # fmt: skip


@dataclass
class Assessment:
    result: bool | None
    reason: str = ""
    missing: list[str] = field(default_factory=list)
    amount: float | None = None
    per: str | None = None  # month, year, once, participation
    amount_text: str | None = None


def euros(value: float) -> str:
    return f"{value:,.0f}".replace(",", "\u202f") + " €"


def _known(fact: str, facts: dict[str, Any]) -> bool:
    if facts.get(fact) is not None:
        return True
    return any(facts.get(other) is not None for other in mapping()["satisfied_by"].get(fact, []))


def _applies(condition: dict[str, Any], facts: dict[str, Any]) -> bool | None:
    """Whether a `required_when` condition holds (None: not known yet)."""
    for name, wanted in condition.items():
        value = facts.get(name)
        if name == "household_adults" and value is None and facts.get("single_parent") is not None:
            value = 1 if facts["single_parent"] else 2
        if name == "children_count" and value is None and facts.get("children_ages") is not None:
            value = len(facts["children_ages"])
        if value is None:
            return None
        if isinstance(wanted, dict):
            if ("min" in wanted and value < wanted["min"]) or ("max" in wanted and value > wanted["max"]):
                return False
        elif value != wanted:
            return False
    return True


def missing_facts(spec: OpenFiscaSpec, facts: dict[str, Any]) -> list[str]:
    """The facts that change the answer and are not known yet, in the scheme's order."""
    conditional = mapping()["required_when"]
    out = []
    for fact in spec.facts:
        if _known(fact, facts):
            continue
        if fact in conditional and _applies(conditional[fact], facts) is not True:
            continue  # only needed in some situations, and this is not (or not yet) one of them
        out.append(fact)
    return out


def variables(spec: OpenFiscaSpec) -> tuple[Variable, ...]:
    return tuple(Variable(o.variable, o.entity, o.period) for o in spec.outcomes)


def prefetch(specs: list[OpenFiscaSpec], facts: dict[str, Any], engine: Engine) -> None:
    """Simulate once the variables of every scheme whose facts are all known (the engine caches them)."""
    ready = [spec for spec in specs if not missing_facts(spec, facts)]
    if ready and engine.ready:
        wanted = tuple(dict.fromkeys(v for spec in ready for v in variables(spec)))
        engine.estimate(Household.from_facts(facts), wanted)


def _phrase(outcome: OpenFiscaOutcome, value: float) -> str:
    label = f" ({outcome.label})" if outcome.label else ""
    if outcome.show == "flag":
        return outcome.label or "a priori oui"
    if outcome.show == "participation":
        return f"avec une participation d'environ {euros(value)} par mois{label}"
    per = {"month": "par mois", "year": "par an", "once": "une fois"}[outcome.show]
    return f"environ {euros(value)} {per}{label}"


def assess(spec: OpenFiscaSpec, facts: dict[str, Any], engine: Engine | None,
           today: dt.date | None = None) -> Assessment:
    missing = missing_facts(spec, facts)
    if missing:
        return Assessment(None, missing=missing)
    if engine is None or not engine.ready:
        return Assessment(None, "Le calcul du montant n'est pas disponible pour l'instant : à vérifier avec le "
                                "simulateur officiel ou l'organisme.")
    values = engine.estimate(Household.from_facts(facts), variables(spec))
    if values is None:
        return Assessment(None, "Le calcul du montant n'a pas abouti : à vérifier avec le simulateur officiel "
                                "ou l'organisme.")
    today = today or dt.date.today()
    when = f"{MONTHS[today.month - 1]} {today.year}"
    for outcome in spec.outcomes:
        value = values.get(outcome.variable, 0.0)
        if value > 0.005:
            text = _phrase(outcome, value)
            amount = None if outcome.show == "flag" else round(value, 2)
            return Assessment(
                True,
                f"Estimation pour {when}, d'après ce que vous m'avez dit : {text}, "
                "à confirmer avec le simulateur officiel ou l'organisme.",
                amount=amount,
                per=None if outcome.show == "flag" else outcome.show,
                amount_text=text,
            )
    return Assessment(
        False,
        f"D'après le calcul officiel (OpenFisca) pour {when}, avec ce que vous m'avez dit, "
        "le montant serait de 0 € : a priori pas pour vous en ce moment.",
        amount=0.0,
    )

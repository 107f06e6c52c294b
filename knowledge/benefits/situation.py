"""From our facts to an OpenFisca situation (individus, familles, foyers fiscaux, ménages).

`Household.from_facts` keeps only what OpenFisca needs, as a frozen (hashable, picklable)
value: it is the cache key and what crosses to the worker processes. `build_situation` turns
a batch of households into one situation dict for `SimulationBuilder.build_from_entities`,
so that one vectorised simulation computes them all. The mapping itself is data
(situation.yml).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from knowledge.yamlio import load_yaml

MAPPING_FILE = Path(__file__).with_name("situation.yml")
INCOME_FACTS = ("salary", "partner_salary", "unemployment_benefit", "pension")


@cache
def mapping() -> dict[str, Any]:
    data: dict[str, Any] = load_yaml(MAPPING_FILE.read_text(encoding="utf-8"))
    return data


@dataclass(frozen=True)
class Household:
    """What OpenFisca needs to know about one household (incomes monthly, net, in euros)."""

    age: int
    couple: bool = False
    children_ages: tuple[float, ...] = ()
    situation: str | None = None
    salary: float = 0.0
    partner_salary: float = 0.0
    unemployment_benefit: float = 0.0
    pension: float = 0.0
    housing: str | None = None
    rent: float = 0.0
    commune: str | None = None
    disability: bool = False
    pregnant: bool = False

    @classmethod
    def from_facts(cls, facts: dict[str, Any]) -> Household:
        """Unknown facts take neutral values: callers simulate only once the facts that matter are known."""
        table = mapping()
        count = int(facts.get("children_count") or 0)
        ages = [float(a) for a in facts.get("children_ages") or []]
        ages += [float(table["default_child_age"])] * max(0, count - len(ages))
        adults = facts.get("household_adults")
        if adults is None and facts.get("single_parent") is not None:
            adults = 1 if facts["single_parent"] else 2
        incomes = {name: float(facts.get(name) or 0) for name in INCOME_FACTS}
        if not any(name in facts for name in INCOME_FACTS) and facts.get("monthly_income"):
            kinds = table["income_kind_by_situation"]
            kind = kinds.get(facts.get("situation") or "", kinds["default"])
            if kind != "none":
                incomes[kind] = float(facts["monthly_income"])
        return cls(
            age=int(facts.get("age") or 40),
            couple=adults == 2,
            children_ages=tuple(sorted(ages)),
            situation=facts.get("situation"),
            housing=facts.get("housing"),
            rent=float(facts.get("rent") or 0),
            commune=facts.get("commune"),
            disability=bool(facts.get("disability")),
            pregnant=bool(facts.get("pregnant")),
            **incomes,
        )


def current_month(today: dt.date | None = None) -> str:
    today = today or dt.date.today()
    return f"{today.year:04d}-{today.month:02d}"


def _months_before(period: str, count: int) -> list[str]:
    year, month = (int(x) for x in period.split("-"))
    out = []
    for _ in range(count + 1):
        out.append(f"{year:04d}-{month:02d}")
        month -= 1
        if month == 0:
            year, month = year - 1, 12
    return out


def _birth_date(age: float, period: str) -> str:
    """A birth date that gives `age` (years) in the middle of the simulated month."""
    year, month = (int(x) for x in period.split("-"))
    days = round(age * 365.25)
    return (dt.date(year, month, 15) - dt.timedelta(days=days)).isoformat()


def _schooling(age: float) -> str:
    value = "inconnue"
    for step in mapping()["schooling"]:
        if age >= step["from"]:
            value = step["scolarite"]
    return str(value)


def build_situation(households: list[Household], period: str) -> dict[str, Any]:
    """One OpenFisca situation holding every household of the batch (ids h0_*, h1_*...)."""
    table = mapping()
    months = _months_before(period, int(table["history_months"]))
    individus: dict[str, Any] = {}
    familles: dict[str, Any] = {}
    foyers: dict[str, Any] = {}
    menages: dict[str, Any] = {}

    def monthly(value: Any) -> dict[str, Any]:
        """The same value on the simulated month and the months before (past resources count)."""
        return dict.fromkeys(months, value)

    for n, h in enumerate(households):
        applicant, partner = f"h{n}_a", f"h{n}_b"
        parents = [applicant, *([partner] if h.couple else [])]
        children = [f"h{n}_c{k}" for k in range(len(h.children_ages))]
        activite = table["activite"].get(h.situation or "", "inactif")
        for person in parents:
            individus[person] = {
                "date_naissance": {"ETERNITY": _birth_date(h.age, period)},
                "statut_marital": monthly("marie" if h.couple else "celibataire"),
            }
        individus[applicant].update({
            "activite": monthly(activite),
            "handicap": monthly(h.disability),
            "taux_incapacite": monthly(table["disability_rate"] if h.disability else 0.0),
            "enceinte": {period: h.pregnant},
        })
        if h.couple:
            individus[partner]["activite"] = monthly("actif" if h.partner_salary > 0 else "inactif")
        for fact, spec in table["incomes"].items():
            amount = float(getattr(h, fact))
            person = applicant if spec["person"] == "applicant" else partner
            if amount <= 0 or person not in individus:
                continue
            for variable in spec["variables"]:
                individus[person][variable] = monthly(amount)
        for child, age in zip(children, h.children_ages, strict=True):
            individus[child] = {
                "date_naissance": {"ETERNITY": _birth_date(age, period)},
                "scolarite": {period: _schooling(age)},
            }
        familles[f"h{n}_f"] = {"parents": parents, "enfants": children}
        foyers[f"h{n}_ff"] = {"declarants": parents, "personnes_a_charge": children}
        menage: dict[str, Any] = {
            "personne_de_reference": [applicant],
            "enfants": children,
            "statut_occupation_logement": monthly(table["housing"].get(h.housing or "", "non_renseigne")),
            "loyer": monthly(h.rent),
        }
        if h.couple:
            menage["conjoint"] = [partner]
        if h.commune:
            menage["depcom"] = monthly(h.commune)
        menages[f"h{n}_m"] = menage
    return {"individus": individus, "familles": familles, "foyers_fiscaux": foyers, "menages": menages}

"""Eligibility: from partial facts, each scheme is eligible, not eligible or to check.

Every machine condition evaluates to True, False or None (a fact is missing). A scheme is
`not_eligible` if one condition is False, `eligible` if all are True (the assistant still
says "vous pourriez y avoir droit" and lists what only the service can check), and
`to_check` otherwise, with the facts still missing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from knowledge.density import DensityGrid
from knowledge.quotient import estimate_quotient
from knowledge.schema import Conditions, Scheme

if TYPE_CHECKING:
    from knowledge.benefits.engines import Engine
    from knowledge.gazetteer import Commune, Gazetteer

SITUATION_LABELS = {
    "salarie": "salarié·e", "independant": "indépendant·e", "demandeur_emploi": "en recherche d'emploi",
    "beneficiaire_rsa": "au RSA", "en_formation": "en formation", "etudiant": "étudiant·e",
    "scolaire": "élève", "retraite": "retraité·e", "sans_activite": "sans activité",
}  # fmt: skip
HOUSING_LABELS = {
    "locataire": "locataire", "proprietaire": "propriétaire", "heberge": "hébergé·e",
    "sans_domicile": "sans logement",
}  # fmt: skip


class Status(StrEnum):
    eligible = "eligible"
    not_eligible = "not_eligible"
    to_check = "to_check"


@dataclass
class Check:
    result: bool | None
    reason: str = ""
    missing: list[str] = field(default_factory=list)
    territorial: bool = False


@dataclass
class SchemeResult:
    scheme_id: str
    status: Status
    reasons: list[str]
    missing: list[str]
    to_verify: list[str] = field(default_factory=list)
    #: how many machine conditions were checked true: a scheme that fits the person's
    #: situation closely ranks before one open to everyone
    specificity: int = 0
    #: OpenFisca's estimate (engine: openfisca): the value, per month/year/once, and in words
    amount: float | None = None
    amount_per: str | None = None
    amount_text: str | None = None
    #: refused only because the person lives outside the scheme's territory (nothing personal)
    only_territory: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "amount": None if self.amount is None else {
                "value": self.amount, "per": self.amount_per, "text": self.amount_text, "estimate": True,
            },
            "scheme": self.scheme_id,
            "scheme_id": self.scheme_id,  # same value, for scripts that expect the longer name
            "status": self.status.value,
            "reasons": self.reasons,
            "missing_facts": self.missing,
            "to_verify": self.to_verify,
        }


def euros(value: float) -> str:
    """1000 -> "1 000 €" (French grouping)."""
    return f"{value:,.0f}".replace(",", "\u202f") + " €"


def _fmt_age(value: float) -> str:
    """0.5 -> "6 mois", 1.17 -> "14 mois", 7 -> "7 ans"."""
    if value < 3 and abs(value - round(value)) > 0.01:
        return f"{round(value * 12)} mois"
    years = round(value)
    return f"{years} an" if years == 1 else f"{years} ans"


class EligibilityEngine:
    def __init__(
        self, gazetteer: Gazetteer | None = None, density: DensityGrid | None = None, benefits: Engine | None = None
    ) -> None:
        self._gazetteer = gazetteer
        self._density = density
        #: where OpenFisca schemes are simulated; None: they stay "to check" once their facts are known
        self.benefits = benefits

    @property
    def density(self) -> DensityGrid:
        if self._density is None:
            self._density = DensityGrid.load()
        return self._density

    @property
    def gazetteer(self) -> Gazetteer:
        if self._gazetteer is None:
            from knowledge.gazetteer import Gazetteer

            self._gazetteer = Gazetteer.load()
        return self._gazetteer

    # ------------------------------------------------------------------ public
    def evaluate(self, scheme: Scheme, facts: dict[str, Any]) -> SchemeResult:
        checks = self._check_all(scheme.conditions, facts)
        # how closely the scheme fits the person: a place condition alone says nothing about them
        personal = sum(1 for c in checks if c.result and not c.territorial)
        failed = [c for c in checks if c.result is False]
        unknown = [c for c in checks if c.result is None]
        missing = _unique(m for c in unknown for m in c.missing)
        if failed:
            return SchemeResult(scheme.id, Status.not_eligible, [c.reason for c in failed], [], [],
                                only_territory=all(c.territorial for c in failed))
        if scheme.openfisca is not None:
            return self._openfisca(scheme, facts, checks, missing, personal)
        reasons = [c.reason for c in checks if c.result and c.reason]
        if unknown:
            # what only the service can check comes first in what to verify
            to_verify = _unique([*(c.reason for c in unknown if c.reason), *scheme.conditions_text])
            return SchemeResult(scheme.id, Status.to_check, reasons, missing, to_verify, personal)
        if not checks:
            reasons = ["Ce dispositif n'a pas de condition que je puisse vérifier moi-même."]
        return SchemeResult(scheme.id, Status.eligible, reasons, [], list(scheme.conditions_text), personal)

    def _openfisca(self, scheme: Scheme, facts: dict[str, Any], checks: list[Check], missing: list[str],
                   personal: int) -> SchemeResult:
        """The scheme's own conditions hold or are unknown: OpenFisca says the rest (and the amount)."""
        from knowledge.benefits.outcome import assess

        assert scheme.openfisca is not None
        reasons = [c.reason for c in checks if c.result and c.reason]
        verify = list(scheme.conditions_text)
        found = assess(scheme.openfisca, facts, self.benefits)
        missing = _unique([*missing, *found.missing])
        if found.result is False and not missing:
            return SchemeResult(scheme.id, Status.not_eligible, [found.reason], [], [])
        if found.result is None or missing:
            return SchemeResult(scheme.id, Status.to_check, [*reasons, *([found.reason] if found.reason else [])],
                                missing, verify, personal)
        # an estimated amount fits the person more closely than an open door
        return SchemeResult(scheme.id, Status.eligible, [found.reason, *reasons], [], verify, personal + 1,
                            found.amount, found.per, found.amount_text)

    def evaluate_all(self, schemes: list[Scheme], facts: dict[str, Any]) -> list[SchemeResult]:
        if self.benefits is not None:  # one simulation for every OpenFisca scheme of the list
            from knowledge.benefits.outcome import prefetch

            prefetch([s.openfisca for s in schemes if s.openfisca is not None], facts, self.benefits)
        return [self.evaluate(s, facts) for s in schemes]

    def quotient(self, facts: dict[str, Any]) -> tuple[float | None, str | None]:
        """The known QF, else an estimate from income and household (with its explanation)."""
        if facts.get("quotient_familial") is not None:
            return float(facts["quotient_familial"]), None
        income = facts.get("monthly_income")
        children = facts.get("children_count")
        adults = facts.get("household_adults")
        if adults is None and facts.get("single_parent") is not None:
            adults = 1 if facts["single_parent"] else 2
        if income is None or children is None or adults is None:
            return None, None
        estimate = estimate_quotient(float(income), int(adults), int(children))
        return estimate.value, estimate.explanation

    # ------------------------------------------------------------------ conditions
    def _check_all(self, cond: Conditions, facts: dict[str, Any]) -> list[Check]:
        checks: list[Check] = []
        if cond.age is not None:
            checks.append(self._age(cond, facts))
        if cond.zone is not None:
            checks.append(self._zone(cond, facts))
        if cond.commune_max_population is not None:
            checks.append(self._population(cond, facts))
        if cond.children is not None:
            checks.append(self._children(cond, facts))
        if cond.situation is not None:
            checks.append(self._situation(cond, facts))
        if cond.single_parent is not None:
            checks.append(self._single_parent(cond, facts))
        if cond.quotient_familial_max is not None:
            checks.append(self._quotient(cond, facts))
        if cond.monthly_income_max is not None:
            checks.append(self._income(cond, facts))
        if cond.housing is not None:
            checks.append(self._housing(cond, facts))
        if cond.owns_vacant_dwelling is not None:
            checks.append(self._vacant(cond, facts))
        if cond.pregnant is not None:
            checks.append(self._pregnant(cond, facts))
        if cond.vacant_dwelling is not None:
            checks.append(self._vacant_dwelling(cond, facts))
        if cond.local_check is not None:
            # never settled by facts: the person asks the service (the mairie...)
            checks.append(Check(None, cond.local_check))
        if cond.any_of:
            checks.append(self._any_of(cond.any_of, facts))
        return checks

    def _age(self, cond: Conditions, facts: dict[str, Any]) -> Check:
        assert cond.age is not None
        low, high = cond.age.min, cond.age.max
        span = (
            f"de {low} à {high} ans"
            if low is not None and high is not None
            else (f"à partir de {low} ans" if low is not None else f"jusqu'à {high} ans")
        )
        age = facts.get("age")
        if age is None:
            return Check(None, missing=["age"])
        ok = (low is None or age >= low) and (high is None or age <= high)
        if ok:
            return Check(True, f"Âge : {age} ans, dans la tranche prévue ({span}).")
        return Check(False, f"Âge : {age} ans, or ce dispositif est pour les personnes {span}.")

    def _commune(self, facts: dict[str, Any]) -> Commune | None:
        """The person's commune (a Paris/Lyon/Marseille arrondissement counts as its city)."""
        code = facts.get("commune")
        commune = self.gazetteer.get(code) if code else None
        return self.gazetteer.commune_of(commune) if commune else None

    def _zone(self, cond: Conditions, facts: dict[str, Any]) -> Check:
        assert cond.zone is not None
        commune = self._commune(facts)
        if commune is None:
            return Check(None, missing=["commune"])
        zone = cond.zone
        inside = (
            commune.code_insee in zone.communes
            or commune.departement in zone.departements
            or commune.region in zone.regions
            or (commune.epci is not None and commune.epci in zone.epcis)
        )
        names = [self.gazetteer.departement_name(d) or d for d in zone.departements]
        names += [self.gazetteer.region_name(r) or r for r in zone.regions]
        names += [self.gazetteer.epci_name(e) or e for e in zone.epcis]
        names += [(self.gazetteer.get(c).nom if self.gazetteer.get(c) else c) for c in zone.communes]
        where = ", ".join(n for n in names if n)
        if inside:
            return Check(True, f"{commune.nom} est dans le territoire couvert ({where}).", territorial=True)
        return Check(
            False, f"Ce dispositif est proposé seulement ici : {where} ; {commune.nom} n'en fait pas partie.",
            territorial=True,
        )

    def _population(self, cond: Conditions, facts: dict[str, Any]) -> Check:
        commune = self._commune(facts)
        if commune is None:
            return Check(None, missing=["commune"])
        limit = cond.commune_max_population
        assert limit is not None
        if commune.population is None:
            return Check(True, f"Population de {commune.nom} inconnue : à vérifier auprès de la mairie.", territorial=True)
        if commune.population < limit:
            return Check(True, f"{commune.nom} compte moins de {limit:,} habitants.".replace(",", " "), territorial=True)
        return Check(
            False,
            f"{commune.nom} compte {commune.population:,} habitants ; ce dispositif concerne les communes "
            f"de moins de {limit:,} habitants.".replace(",", " "),
        )

    def _children(self, cond: Conditions, facts: dict[str, Any]) -> Check:
        child = cond.children
        assert child is not None
        count = facts.get("children_count")
        ages: list[float] | None = facts.get("children_ages")
        low = child.min_age if child.min_age is not None else 0
        high = child.max_age if child.max_age is not None else 99
        if child.max_age is None:
            span = f"d'au moins {_fmt_age(low)}"
        elif low <= 0:
            span = f"jusqu'à {_fmt_age(high)}"
        else:
            span = f"de {_fmt_age(low)} à {_fmt_age(high)}"
        if count == 0:
            return Check(
                False,
                f"Ce dispositif concerne les familles avec un enfant {span} ; vous n'avez pas d'enfant à charge.",
            )
        if not ages or (
            count is not None
            and len(ages) < count
            and sum(1 for a in ages if low <= a <= high) < child.min_count
        ):
            if facts.get("pregnant") and low == 0:
                return Check(None, missing=["children_ages"])
            return Check(None, missing=["children_ages"] if count else ["children_count"])
        matching = [a for a in ages if low <= a <= high]
        if len(matching) >= child.min_count:
            listed = ", ".join(_fmt_age(a) for a in matching)
            return Check(True, f"Vous avez un enfant dans la bonne tranche d'âge ({listed}).")
        listed = ", ".join(_fmt_age(a) for a in ages)
        return Check(False, f"Ce dispositif concerne les enfants {span} ; vos enfants ont {listed}.")

    def _situation(self, cond: Conditions, facts: dict[str, Any]) -> Check:
        assert cond.situation is not None
        situation = facts.get("situation")
        if situation is None:
            return Check(None, missing=["situation"])
        allowed = ", ".join(SITUATION_LABELS[s.value] for s in cond.situation)
        label = SITUATION_LABELS.get(situation, situation)
        if situation in {s.value for s in cond.situation}:
            return Check(True, f"Vous êtes {label} : c'est l'une des situations concernées.")
        return Check(False, f"Vous êtes {label} ; ce dispositif concerne les personnes {allowed}.")

    def _single_parent(self, cond: Conditions, facts: dict[str, Any]) -> Check:
        value = facts.get("single_parent")
        if value is None and facts.get("household_adults") is not None and facts.get("children_count"):
            value = facts["household_adults"] == 1
        if value is None:
            return Check(None, missing=["single_parent"])
        if value == cond.single_parent:
            return Check(
                True, "Vous élevez seul·e vos enfants." if value else "Vous n'élevez pas seul·e vos enfants."
            )
        return Check(
            False,
            "Ce dispositif concerne les parents qui élèvent seuls leurs enfants."
            if cond.single_parent
            else "Ce dispositif ne concerne pas les parents isolés.",
        )

    def _quotient(self, cond: Conditions, facts: dict[str, Any]) -> Check:
        limit = cond.quotient_familial_max
        assert limit is not None
        value, estimate = self.quotient(facts)
        if value is None:
            return Check(None, missing=["quotient_familial"])
        prefix = (
            f"Votre quotient familial ({estimate})"
            if estimate
            else f"Votre quotient familial ({euros(value)})"
        )
        if value <= limit:
            return Check(True, f"{prefix} est inférieur ou égal à {euros(limit)}.")
        return Check(False, f"{prefix} dépasse le plafond de {euros(limit)}.")

    def _income(self, cond: Conditions, facts: dict[str, Any]) -> Check:
        limit = cond.monthly_income_max
        assert limit is not None
        income = facts.get("monthly_income")
        if income is None:
            return Check(None, missing=["monthly_income"])
        if income <= limit:
            return Check(
                True, f"Vos revenus ({euros(income)} par mois) sont sous le plafond de {euros(limit)}."
            )
        return Check(False, f"Vos revenus ({euros(income)} par mois) dépassent le plafond de {euros(limit)}.")

    def _housing(self, cond: Conditions, facts: dict[str, Any]) -> Check:
        assert cond.housing is not None
        housing = facts.get("housing")
        if housing is None:
            return Check(None, missing=["housing"])
        allowed = " ou ".join(HOUSING_LABELS[h.value] for h in cond.housing)
        label = HOUSING_LABELS.get(housing, housing)
        if housing in {h.value for h in cond.housing}:
            return Check(True, f"Vous êtes {label}.")
        return Check(False, f"Vous êtes {label} ; ce dispositif est pour les personnes {allowed}.")

    def _vacant(self, cond: Conditions, facts: dict[str, Any]) -> Check:
        value = facts.get("owns_vacant_dwelling")
        if value is None:
            return Check(None, missing=["owns_vacant_dwelling"])
        if value == cond.owns_vacant_dwelling:
            return Check(True, "Vous possédez un logement vacant.")
        return Check(False, "Ce dispositif concerne les propriétaires d'un logement vide (vacant).")

    def _vacant_dwelling(self, cond: Conditions, facts: dict[str, Any]) -> Check:
        """Judged on the empty dwelling the person owns, wherever they live themselves."""
        rule = cond.vacant_dwelling
        assert rule is not None
        owns = facts.get("owns_vacant_dwelling")
        if owns is None:
            return Check(None, missing=["owns_vacant_dwelling"])
        if not owns:
            return Check(False, "Ce dispositif concerne les propriétaires d'un logement vide (vacant).")
        reasons = ["Vous possédez un logement vide."]
        missing: list[str] = []
        if rule.min_years_empty is not None:
            years = facts.get("vacant_dwelling_years")
            if years is None:
                missing.append("vacant_dwelling_years")
            elif years <= rule.min_years_empty:
                return Check(
                    False,
                    f"Le logement est vide depuis {_fmt_age(years)} ; il doit l'être depuis plus de "
                    f"{_fmt_age(rule.min_years_empty)}.",
                )
            else:
                reasons.append(f"Il est vide depuis {_fmt_age(years)} (plus de {_fmt_age(rule.min_years_empty)}).")
        if rule.commune_density_levels:
            code = facts.get("vacant_dwelling_commune")
            commune = self.gazetteer.get(code) if code else None
            commune = self.gazetteer.commune_of(commune) if commune else None
            if commune is None:
                missing.append("vacant_dwelling_commune")
            else:
                level = self.density.level(commune.code_insee)
                if level is None:
                    missing.append("vacant_dwelling_commune")
                elif level not in rule.commune_density_levels:
                    return Check(
                        False,
                        f"Le logement est à {commune.nom}, classée « {self.density.label(level)} » "
                        f"(niveau {level} de la grille de densité de l'Insee) ; la commune doit être rurale "
                        f"(niveaux {', '.join(str(n) for n in sorted(rule.commune_density_levels))}).",
                    )
                else:
                    reasons.append(
                        f"Il est à {commune.nom}, commune rurale (« {self.density.label(level)} », "
                        f"grille de densité de l'Insee)."
                    )
        if missing:
            return Check(None, missing=missing)
        return Check(True, " ".join(reasons))

    def _pregnant(self, cond: Conditions, facts: dict[str, Any]) -> Check:
        value = facts.get("pregnant")
        if value is None:
            return Check(None, missing=["pregnant"])
        if value == cond.pregnant:
            return Check(True, "Vous attendez un enfant." if value else "")
        return Check(False, "Ce dispositif concerne les femmes enceintes." if cond.pregnant else "")

    def _any_of(self, groups: list[Conditions], facts: dict[str, Any]) -> Check:
        results = [self._check_all(g, facts) for g in groups]
        group_status = []
        for checks in results:
            if any(c.result is False for c in checks):
                group_status.append(False)
            elif all(c.result for c in checks):
                group_status.append(True)
            else:
                group_status.append(None)
        for ok, checks in zip(group_status, results, strict=True):
            if ok:
                return Check(True, " ".join(c.reason for c in checks if c.reason))
        if all(s is False for s in group_status):
            reasons = [c.reason for checks in results for c in checks if c.result is False]
            return Check(False, " Ou : ".join(_unique(reasons)))
        missing = [
            m
            for s, checks in zip(group_status, results, strict=True)
            if s is None
            for c in checks
            if c.result is None
            for m in c.missing
        ]
        return Check(None, missing=_unique(missing))


def _unique(items: Any) -> list[Any]:
    seen: list[Any] = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen

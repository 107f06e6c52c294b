"""Eligibility: from partial facts, each scheme is eligible, not eligible or to check.

Every machine condition evaluates to True, False or None (a fact is missing). A scheme is
`not_eligible` if one condition is False, `eligible` if all are True (the assistant still
says "vous pourriez y avoir droit" and lists what only the service can check), and
`to_check` otherwise, with the facts still missing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from knowledge.density import DensityGrid
from knowledge.facts import situations_of
from knowledge.quotient import QuotientEstimate, estimate_quotient
from knowledge.schema import Conditions, Scheme
from knowledge.yamlio import load_yaml

if TYPE_CHECKING:
    from knowledge.benefits.engines import Engine
    from knowledge.gazetteer import Commune, Gazetteer

REASONS_PATH = Path(__file__).parent / "content" / "reasons.yml"
LANGUAGES = ("fr", "en")


@lru_cache(maxsize=1)
def _wording() -> dict[str, Any]:
    """knowledge/content/reasons.yml: each reason's sentence in French and English, and the labels."""
    return load_yaml(REASONS_PATH.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Said:
    """A reason (or a fragment of one) in each language of the replies."""

    fr: str
    en: str

    def __bool__(self) -> bool:
        return bool(self.fr)


NOTHING = Said("", "")


def said(key: str, **values: Any) -> Said:
    """The reason `key` of reasons.yml, its {placeholders} filled in each language (a Said value in
    its own language)."""
    entry = _wording()["reasons"][key]
    return Said(*(entry.get(lang, entry["fr"]).format(**{
        name: getattr(v, lang) if isinstance(v, Said) else v for name, v in values.items()
    }) for lang in LANGUAGES))


def joined(parts: list[Said], sep: Said | str = " ") -> Said:
    sep_ = sep if isinstance(sep, Said) else Said(sep, sep)
    return Said(*(getattr(sep_, lang).join(getattr(p, lang) for p in parts) for lang in LANGUAGES))


def _label(kind: str, value: str) -> Said:
    entry = _wording()["labels"][kind].get(value)
    return Said(entry["fr"], entry.get("en", entry["fr"])) if entry else Said(value, value)


SITUATION_LABELS = {k: v["fr"] for k, v in _wording()["labels"]["situation"].items()}
HOUSING_LABELS = {k: v["fr"] for k, v in _wording()["labels"]["housing"].items()}


class Status(StrEnum):
    eligible = "eligible"
    not_eligible = "not_eligible"
    to_check = "to_check"


@dataclass
class Check:
    result: bool | None
    said: Said = NOTHING
    missing: list[str] = field(default_factory=list)
    territorial: bool = False
    #: of an `any_of` still open, why the ways already ruled out do not fit (« les enfants de 14 à
    #: 17 ans ; vos enfants ont 6 ans, 11 ans » while the person's own age is unknown)
    excluded: Said = NOTHING

    @property
    def reason(self) -> str:
        return self.said.fr


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
    #: `reasons` in English, one for one (an English reply says these)
    reasons_en: list[str] = field(default_factory=list)
    #: to check: why the ways of qualifying already ruled out do not fit (Check.excluded), French, English
    ruled_out: list[str] = field(default_factory=list)
    ruled_out_en: list[str] = field(default_factory=list)

    @property
    def open_to_all(self) -> bool:
        """Eligible with nothing about the person checked: a place that can help, not a right (the
        chat's « ➡️ Un lieu qui peut aider », the console's label)."""
        return self.status is Status.eligible and self.specificity == 0

    def reasons_in(self, lang: str) -> list[str]:
        return reasons_in(self.reasons, self.reasons_en, lang)

    def ruled_out_in(self, lang: str) -> list[str]:
        return reasons_in(self.ruled_out, self.ruled_out_en, lang)

    def to_json(self) -> dict[str, Any]:
        return {
            "amount": None if self.amount is None else {
                "value": self.amount, "per": self.amount_per, "text": self.amount_text, "estimate": True,
            },
            "scheme": self.scheme_id,
            "scheme_id": self.scheme_id,  # same value, for scripts that expect the longer name
            "status": self.status.value,
            "reasons": self.reasons,
            "reasons_en": self.reasons_en,
            "missing_facts": self.missing,
            "to_verify": self.to_verify,
            "ruled_out": self.ruled_out,
        }


def reasons_in(reasons: list[str], reasons_en: list[str], lang: str) -> list[str]:
    """The reasons in English for an English reply when each has its translation, else in French."""
    return reasons_en if lang == "en" and len(reasons_en) == len(reasons) else reasons


def euros(value: float) -> str:
    """1000 -> "1 000 €" (French grouping)."""
    return f"{value:,.0f}".replace(",", "\u202f") + " €"


def _fmt_age(value: float) -> Said:
    """0.5 -> "6 mois", 1.17 -> "14 mois", 7 -> "7 ans" (and in English)."""
    if value < 3 and abs(value - round(value)) > 0.01:
        return said("months", n=round(value * 12))
    years = round(value)
    return said("years_one" if years == 1 else "years", n=years)


def _span(low: Any, high: Any, at_least: bool = False) -> Said:
    """An age span: « de 3 à 6 ans », « à partir de 16 ans », « jusqu'à 25 ans »."""
    if low is not None and high is not None:
        return said("span_from_to", low=low, high=high)
    if low is not None:
        return said("span_at_least" if at_least else "span_from", low=low)
    return said("span_up_to", high=high)


def _both(reasons: list[Said]) -> dict[str, list[str]]:
    """A SchemeResult's reasons, French and English."""
    return {"reasons": [r.fr for r in reasons], "reasons_en": [r.en for r in reasons]}


def _plain(text: str) -> Said:
    """A text said the same in both languages (OpenFisca's reason, a content sentence)."""
    return Said(text, text)


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
        if {s.value for s in scheme.received_as}.intersection(situations_of(facts)):
            return SchemeResult(scheme.id, Status.not_eligible, missing=[], to_verify=[],
                                **_both([said("already_received")]))
        checks = self._check_all(scheme.conditions, facts)
        # how closely the scheme fits the person: a place condition alone says nothing about them
        personal = sum(1 for c in checks if c.result and not c.territorial)
        failed = [c for c in checks if c.result is False]
        unknown = [c for c in checks if c.result is None]
        missing = _unique(m for c in unknown for m in c.missing)
        if failed:
            return SchemeResult(scheme.id, Status.not_eligible, missing=[], to_verify=[],
                                only_territory=all(c.territorial for c in failed), **_both([c.said for c in failed]))
        if scheme.openfisca is not None:
            return self._openfisca(scheme, facts, checks, missing, personal)
        reasons = [c.said for c in checks if c.result and c.said]
        if unknown:
            # what only the service can check comes first in what to verify
            to_verify = _unique([*(c.reason for c in unknown if c.reason), *scheme.conditions_text])
            excluded = [c.excluded for c in unknown if c.excluded.fr]
            return SchemeResult(scheme.id, Status.to_check, missing=missing, to_verify=to_verify,
                                specificity=personal, ruled_out=[e.fr for e in excluded],
                                ruled_out_en=[e.en for e in excluded], **_both(reasons))
        if not checks:
            reasons = [said("no_condition")]
        return SchemeResult(scheme.id, Status.eligible, missing=[], to_verify=list(scheme.conditions_text),
                            specificity=personal, **_both(reasons))

    def _openfisca(self, scheme: Scheme, facts: dict[str, Any], checks: list[Check], missing: list[str],
                   personal: int) -> SchemeResult:
        """The scheme's own conditions hold or are unknown: OpenFisca says the rest (and the amount)."""
        from knowledge.benefits.outcome import assess

        assert scheme.openfisca is not None
        reasons = [c.said for c in checks if c.result and c.said]
        verify = list(scheme.conditions_text)
        found = assess(scheme.openfisca, facts, self.benefits)
        missing = _unique([*missing, *found.missing])
        simulated = _plain(found.reason)  # OpenFisca's outcome is worded in French only
        if found.result is False and not missing:
            return SchemeResult(scheme.id, Status.not_eligible, missing=[], to_verify=[], **_both([simulated]))
        if found.result is None or missing:
            return SchemeResult(scheme.id, Status.to_check, missing=missing, to_verify=verify, specificity=personal,
                                **_both([*reasons, *([simulated] if found.reason else [])]))
        unsettled = [c.reason for c in checks if c.result is None and c.reason]
        if unsettled:  # OpenFisca assumes what the assistant does not ask (the ASF: that the other parent
            # pays nothing): the estimate is said, the decisive condition stays to verify
            return SchemeResult(scheme.id, Status.to_check, missing=[], to_verify=_unique([*unsettled, *verify]),
                                specificity=personal, amount=found.amount, amount_per=found.per,
                                amount_text=found.amount_text, **_both([simulated, *reasons]))
        # an estimated amount fits the person more closely than an open door
        return SchemeResult(scheme.id, Status.eligible, missing=[], to_verify=verify, specificity=personal + 1,
                            amount=found.amount, amount_per=found.per, amount_text=found.amount_text,
                            **_both([simulated, *reasons]))

    def evaluate_all(self, schemes: list[Scheme], facts: dict[str, Any]) -> list[SchemeResult]:
        if self.benefits is not None:  # one simulation for every OpenFisca scheme of the list
            from knowledge.benefits.outcome import prefetch

            prefetch([s.openfisca for s in schemes if s.openfisca is not None], facts, self.benefits)
        return [self.evaluate(s, facts) for s in schemes]

    def quotient(self, facts: dict[str, Any]) -> tuple[float | None, str | None]:
        """The known QF, else an estimate from income and household (with its explanation)."""
        if facts.get("quotient_familial") is not None:
            return float(facts["quotient_familial"]), None
        estimate = self._quotient_estimate(facts)
        return (estimate.value, estimate.explanation) if estimate else (None, None)

    @staticmethod
    def _quotient_estimate(facts: dict[str, Any]) -> QuotientEstimate | None:
        income = facts.get("monthly_income")
        children = facts.get("children_count")
        adults = facts.get("household_adults")
        if adults is None and facts.get("single_parent") is not None:
            adults = 1 if facts["single_parent"] else 2
        if income is None or children is None or adults is None:
            return None
        return estimate_quotient(float(income), int(adults), int(children))

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
            checks.append(Check(None, _plain(cond.local_check)))
        if cond.any_of:
            checks.append(self._any_of(cond.any_of, facts))
        return checks

    def _age(self, cond: Conditions, facts: dict[str, Any]) -> Check:
        assert cond.age is not None
        low, high = cond.age.min, cond.age.max
        span = (said("age_from_to", low=low, high=high) if low is not None and high is not None
                else said("age_from", low=low) if low is not None else said("age_up_to", high=high))
        age = facts.get("age")
        if age is None:
            return Check(None, missing=["age"])
        ok = (low is None or age >= low) and (high is None or age <= high)
        if ok:
            return Check(True, said("age_fits", age=age, span=span))
        return Check(False, said("age_does_not_fit", age=age, span=span))

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
            return Check(True, said("zone_inside", commune=commune.nom, where=where), territorial=True)
        return Check(False, said("zone_outside", commune=commune.nom, where=where), territorial=True)

    def _population(self, cond: Conditions, facts: dict[str, Any]) -> Check:
        commune = self._commune(facts)
        if commune is None:
            return Check(None, missing=["commune"])
        limit = cond.commune_max_population
        assert limit is not None
        if commune.population is None:
            return Check(True, said("population_unknown", commune=commune.nom), territorial=True)
        limit_ = f"{limit:,}".replace(",", " ")
        if commune.population < limit:
            return Check(True, said("population_below", commune=commune.nom, limit=limit_), territorial=True)
        population = f"{commune.population:,}".replace(",", " ")
        return Check(False, said("population_above", commune=commune.nom, population=population, limit=limit_))

    def _children(self, cond: Conditions, facts: dict[str, Any]) -> Check:
        child = cond.children
        assert child is not None
        count = facts.get("children_count")
        ages: list[float] | None = facts.get("children_ages")
        low = child.min_age if child.min_age is not None else 0
        high = child.max_age if child.max_age is not None else 99
        if child.max_age is None:
            span = _span(_fmt_age(low), None, at_least=True)
        elif low <= 0:
            span = _span(None, _fmt_age(high))
        else:
            span = _span(_fmt_age(low), _fmt_age(high))
        if count == 0:
            return Check(False, said("no_child", span=span))
        if count is not None and int(count) < child.min_count:  # two children, where three are needed
            return Check(False, said("too_few_children", count=child.min_count, span=span))
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
            return Check(True, said("child_fits", ages=joined([_fmt_age(a) for a in matching], ", ")))
        return Check(False, said("children_do_not_fit", span=span, ages=joined([_fmt_age(a) for a in ages], ", ")))

    def _situation(self, cond: Conditions, facts: dict[str, Any]) -> Check:
        assert cond.situation is not None
        situation = facts.get("situation")
        if situation is None:
            return Check(None, missing=["situation"])
        allowed = joined([_label("situation", s.value) for s in cond.situation], ", ")
        label = _label("situation", situation)
        fitting = [s for s in situations_of(facts) if s in {c.value for c in cond.situation}]
        if fitting:  # any situation said: « au RSA, inscrit à France Travail » is looking for work too
            return Check(True, said("situation_fits", label=_label("situation", fitting[0])))
        return Check(False, said("situation_does_not_fit", label=label, allowed=allowed))

    def _single_parent(self, cond: Conditions, facts: dict[str, Any]) -> Check:
        value = facts.get("single_parent")
        if value is None and facts.get("household_adults") is not None and facts.get("children_count"):
            value = facts["household_adults"] == 1
        if value is None:
            return Check(None, missing=["single_parent"])
        if value == cond.single_parent:
            return Check(True, said("single_parent_yes" if value else "single_parent_no"))
        return Check(False, said("single_parent_required" if cond.single_parent else "single_parent_excluded"))

    def _quotient(self, cond: Conditions, facts: dict[str, Any]) -> Check:
        limit = cond.quotient_familial_max
        assert limit is not None
        known = facts.get("quotient_familial")
        estimate = None if known is not None else self._quotient_estimate(facts)
        if known is None and estimate is None:
            return Check(None, missing=["quotient_familial"])
        if estimate is not None:
            value = float(estimate.value)
            quotient = said("quotient_estimated", income=euros(float(facts["monthly_income"])),
                            parts=f"{estimate.parts:g}", value=euros(value))
        else:
            value = float(known)
            quotient = said("quotient_known", value=euros(value))
        if value <= limit:
            return Check(True, said("quotient_below", quotient=quotient, limit=euros(limit)))
        return Check(False, said("quotient_above", quotient=quotient, limit=euros(limit)))

    def _income(self, cond: Conditions, facts: dict[str, Any]) -> Check:
        limit = cond.monthly_income_max
        assert limit is not None
        income = facts.get("monthly_income")
        if income is None:
            return Check(None, missing=["monthly_income"])
        if income <= limit:
            return Check(True, said("income_below", income=euros(income), limit=euros(limit)))
        return Check(False, said("income_above", income=euros(income), limit=euros(limit)))

    def _housing(self, cond: Conditions, facts: dict[str, Any]) -> Check:
        assert cond.housing is not None
        housing = facts.get("housing")
        if housing is None:
            return Check(None, missing=["housing"])
        allowed = joined([_label("housing", h.value) for h in cond.housing], said("either"))
        label = _label("housing", housing)
        if housing in {h.value for h in cond.housing}:
            return Check(True, said("housing_fits", label=label))
        return Check(False, said("housing_does_not_fit", label=label, allowed=allowed))

    def _vacant(self, cond: Conditions, facts: dict[str, Any]) -> Check:
        value = facts.get("owns_vacant_dwelling")
        if value is None:
            return Check(None, missing=["owns_vacant_dwelling"])
        if value == cond.owns_vacant_dwelling:
            return Check(True, said("owns_vacant"))
        return Check(False, said("vacant_required"))

    def _vacant_dwelling(self, cond: Conditions, facts: dict[str, Any]) -> Check:
        """Judged on the empty dwelling the person owns, wherever they live themselves."""
        rule = cond.vacant_dwelling
        assert rule is not None
        owns = facts.get("owns_vacant_dwelling")
        if owns is None:
            return Check(None, missing=["owns_vacant_dwelling"])
        if not owns:
            return Check(False, said("vacant_required"))
        reasons = [said("owns_empty")]
        missing: list[str] = []
        if rule.min_years_empty is not None:
            years = facts.get("vacant_dwelling_years")
            if years is None:
                missing.append("vacant_dwelling_years")
            elif years <= rule.min_years_empty:
                return Check(False, said("empty_too_short", years=_fmt_age(years),
                                         minimum=_fmt_age(rule.min_years_empty)))
            else:
                reasons.append(said("empty_long_enough", years=_fmt_age(years), minimum=_fmt_age(rule.min_years_empty)))
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
                    levels = ", ".join(str(n) for n in sorted(rule.commune_density_levels))
                    return Check(False, said("not_rural", commune=commune.nom, density=self.density.label(level),
                                             level=level, levels=levels))
                else:
                    reasons.append(said("rural", commune=commune.nom, density=self.density.label(level)))
        if missing:
            return Check(None, missing=missing)
        return Check(True, joined(reasons))

    def _pregnant(self, cond: Conditions, facts: dict[str, Any]) -> Check:
        value = facts.get("pregnant")
        if value is None:
            return Check(None, missing=["pregnant"])
        if value == cond.pregnant:
            return Check(True, said("pregnant") if value else NOTHING)
        return Check(False, said("pregnant_required") if cond.pregnant else NOTHING)

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
                return Check(True, joined([c.said for c in checks if c.said]))
        if all(s is False for s in group_status):
            reasons = [c.said for checks in results for c in checks if c.result is False]
            return Check(False, joined(_unique(reasons), said("or_else")))
        missing = [
            m
            for s, checks in zip(group_status, results, strict=True)
            if s is None
            for c in checks
            if c.result is None
            for m in c.missing
        ]
        excluded = [c.said for s, checks in zip(group_status, results, strict=True) if s is False
                    for c in checks if c.result is False and c.said.fr]
        return Check(None, missing=_unique(missing), excluded=joined(_unique(excluded)))


def _unique(items: Any) -> list[Any]:
    seen: list[Any] = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen

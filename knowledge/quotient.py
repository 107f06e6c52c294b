"""Estimate the CAF quotient familial when the person does not know it.

QF = (monthly resources of the household, family benefits included) / number of parts.
Parts (source: http://www.coevrons.fr/simulateur-de-quotient-familial, which reproduces the
CAF rule): 2 parts for the parent(s), couple or single parent; +0.5 for the 1st child,
+0.5 for the 2nd, +1 for the 3rd, +0.5 for each further child. For a household without
children we count 1 part per adult: an assumption, which is why the result is always
presented as an estimate ("estimation") and never as the CAF's figure.
"""

from __future__ import annotations

from dataclasses import dataclass

SOURCE_URL = "http://www.coevrons.fr/simulateur-de-quotient-familial"


@dataclass(frozen=True)
class QuotientEstimate:
    value: float
    parts: float
    explanation: str


def household_parts(adults: int, children: int) -> float:
    if children <= 0:
        return float(max(1, min(adults, 2)))
    parts = 2.0
    for rank in range(1, children + 1):
        parts += 1.0 if rank == 3 else 0.5
    return parts


def estimate_quotient(monthly_income: float, adults: int, children: int) -> QuotientEstimate:
    """Estimate the QF from the household's monthly resources and composition."""
    if monthly_income < 0:
        raise ValueError("monthly_income must be >= 0")
    parts = household_parts(adults, children)
    value = round(monthly_income / parts)
    income = f"{monthly_income:,.0f}".replace(",", "\u202f")
    explanation = (
        f"estimation : {income} € par mois ÷ {parts:g} parts ≈ {value:,.0f} € ".replace(",", "\u202f")
        + "(le chiffre exact est sur votre espace caf.fr)"
    )
    return QuotientEstimate(value=value, parts=parts, explanation=explanation)

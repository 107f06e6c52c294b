"""One vectorised OpenFisca simulation for a batch of households.

`Simulator` loads the French tax-benefit system and the local extension once (about 10 s),
then `run` computes the requested variables for every household of the batch in a single
simulation (OpenFisca works on arrays: 100 households cost little more than one).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from knowledge.benefits.situation import Household, build_situation, current_month

log = logging.getLogger(__name__)

EXTENSION = "openfisca_france_local"


@dataclass(frozen=True)
class Variable:
    """An OpenFisca variable to compute: name, entity (individu, famille, menage, foyer_fiscal), period."""

    name: str
    entity: str
    period: str = "month"  # "month": the current month; "year": the current calendar year


class Simulator:
    def __init__(self) -> None:
        started = time.perf_counter()
        from openfisca_france import CountryTaxBenefitSystem

        self.tbs = CountryTaxBenefitSystem()
        try:
            self.tbs.load_extension(EXTENSION)
        except Exception as exc:  # the national benefits still work without the local aids
            log.warning("extension %s non chargée : %s", EXTENSION, exc)
        self.load_seconds = time.perf_counter() - started

    def has(self, name: str) -> bool:
        return name in self.tbs.variables

    def run(
        self, households: list[Household], variables: list[Variable], period: str | None = None
    ) -> list[dict[str, float]]:
        """Each household's value of each variable (a boolean becomes 1.0 or 0.0)."""
        from openfisca_core.simulation_builder import SimulationBuilder

        if not households:
            return []
        period = period or current_month()
        situation = build_situation(households, period)
        simulation = SimulationBuilder().build_from_entities(self.tbs, situation)
        # the row of each household in each entity's arrays: its applicant, its famille...
        rows = {
            "individu": _rows(simulation, "individu", [f"h{n}_a" for n in range(len(households))]),
            "famille": _rows(simulation, "famille", [f"h{n}_f" for n in range(len(households))]),
            "foyer_fiscal": _rows(simulation, "foyer_fiscal", [f"h{n}_ff" for n in range(len(households))]),
            "menage": _rows(simulation, "menage", [f"h{n}_m" for n in range(len(households))]),
        }
        out: list[dict[str, float]] = [{} for _ in households]
        for var in variables:
            if not self.has(var.name):
                continue
            when = period if var.period == "month" else period.split("-")[0]
            values = simulation.calculate(var.name, when)
            for n, row in enumerate(rows[var.entity]):
                out[n][var.name] = float(values[row])
        return out


def _rows(simulation: Any, entity: str, ids: list[str]) -> list[int]:
    population = simulation.populations[entity]
    index = {str(i): k for k, i in enumerate(population.ids)}
    return [index[i] for i in ids]

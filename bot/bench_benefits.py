"""`aiguillage bench --openfisca`: the benefits computed by OpenFisca, off the turn's hot path.

Measured with the production set-up (`PooledEngine`: worker processes warmed up in the
background, a batcher that groups concurrent requests into one vectorised simulation):
- warm-up time (tax-benefit system + extension + a first simulation, in a worker process);
- the orientation turn's action with a simulation (need "allocations": 12 benefits computed
  by OpenFisca, then ranking, texts and nearest places), p50 / p95, each with new facts so
  that no cached answer is reused;
- simulations per second (one simulation = every benefit of one household) with 1, 10 and 100
  conversations asking at the same time, and the number of vectorised batches that served them.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

SEED = 20261129


def _household_facts(rng: random.Random, communes: list[str]) -> dict[str, Any]:
    """A complete, random household (every fact the OpenFisca schemes ask for)."""
    adults = rng.choice([1, 1, 2])
    ages = [round(rng.uniform(0.5, 19), 1) for _ in range(rng.choice([0, 0, 1, 2, 3]))]
    situation = rng.choice(["salarie", "demandeur_emploi", "sans_activite", "etudiant", "retraite"])
    return {
        "age": rng.randint(19, 80), "household_adults": adults, "children_count": len(ages), "children_ages": ages,
        "single_parent": adults == 1 and bool(ages), "situation": situation,
        "monthly_income": float(rng.choice([0, rng.randint(300, 3500)])),
        "partner_salary": float(rng.choice([0, rng.randint(800, 2500)])) if adults == 2 else 0.0,
        "housing": "locataire", "rent": float(rng.randint(250, 900)), "commune": rng.choice(communes),
        "pregnant": False, "disability": rng.random() < 0.15,
    }  # fmt: skip


def run_benefits_bench(progress: Callable[[str], None], workers: int = 1) -> list[Any]:
    from actions.common import set_kb
    from actions.orientation import ActionOrientation
    from actions.sdk import LocalDispatcher, LocalTracker
    from bot.bench import Row, _ms, _p50_p95
    from knowledge.benefits.engines import PooledEngine, set_benefits
    from knowledge.benefits.outcome import variables
    from knowledge.benefits.situation import Household
    from knowledge.kb import KnowledgeBase

    rng = random.Random(SEED)
    rows: list[Row] = []
    kb = KnowledgeBase.load()
    set_kb(kb)
    communes = ["62119", "59350", "80021", "62041", "59512", "02691", "60057", "62498"]
    specs = [s.openfisca for s in kb.schemes.values() if s.openfisca is not None]
    wanted = tuple(dict.fromkeys(v for spec in specs for v in variables(spec)))

    progress("OpenFisca : démarrage des processus et préchauffage")
    started = time.perf_counter()
    engine = PooledEngine(workers=workers, window_ms=5).start()
    if not engine.wait_ready(timeout=900):
        raise RuntimeError("OpenFisca ne s'est pas chargé en 15 minutes")
    rows.append(Row("OpenFisca : préchauffage en arrière-plan", f"{time.perf_counter() - started:.1f} s",
                    f"{workers} processus : openfisca-france + extension locale + une première simulation ; "
                    "pendant ce temps les orientations disent « à vérifier »"))  # fmt: skip
    set_benefits(engine)
    try:
        progress("OpenFisca : tour d'orientation avec simulation")
        candidates = _need_schemes("ressources")
        samples = []
        for _ in range(12):
            facts = _household_facts(rng, communes)
            slots = {**facts, "need": "ressources", "candidates": candidates}
            dispatcher = LocalDispatcher()
            began = time.perf_counter()
            ActionOrientation().run(dispatcher, LocalTracker("bench", slots), {})
            samples.append(time.perf_counter() - began)
        rows.append(Row("Tour d'orientation avec simulation (p50 / p95)", _p50_p95(samples),
                        f"{len(samples)} foyers différents, besoin « allocations » ({len(candidates)} dispositifs "
                        "dont 12 calculés par OpenFisca en une simulation)"))  # fmt: skip

        for concurrent in (1, 10, 100):
            progress(f"OpenFisca : {concurrent} conversation(s) en même temps")
            households = [Household.from_facts(_household_facts(rng, communes)) for _ in range(concurrent)]
            rounds = 3 if concurrent == 1 else 1
            before = engine.batches
            began = time.perf_counter()
            latencies: list[float] = []

            def one(household: Household, out: list[float] = latencies) -> None:
                t0 = time.perf_counter()
                result = engine.estimate(household, wanted)
                out.append(time.perf_counter() - t0)
                assert result is not None, "simulation sans réponse"

            with ThreadPoolExecutor(concurrent) as pool:
                for n in range(rounds):
                    batch = households if n == 0 else [
                        Household.from_facts(_household_facts(rng, communes)) for _ in range(concurrent)
                    ]
                    list(pool.map(one, batch))
            elapsed = time.perf_counter() - began
            done = concurrent * rounds
            rows.append(Row(f"Simulations par seconde, {concurrent} conversation(s) à la fois",
                            f"{done / elapsed:.2f} /s",
                            f"{done} simulations ({len(wanted)} variables chacune) en {engine.batches - before} "
                            f"lot(s) vectorisé(s) ; attente par conversation p50 {_ms(float(np.percentile(latencies, 50)))}"
                            ))  # fmt: skip
    finally:
        set_benefits(None)
        engine.stop()
    return rows


def _need_schemes(need: str) -> list[str]:
    from actions.common import needs_catalogue

    return list(needs_catalogue()[need]["schemes"])

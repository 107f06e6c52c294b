"""Benefits computed by OpenFisca, as tables.

1. Households -> amounts, simulated directly for June 2025 (a fixed month, so the figures do not
   move with each revaluation). The expected values were computed with OpenFisca-France 176.1.8;
   where an official scale gives the figure by hand, the comment says which (service-public.fr
   fiches cited by the schemes: F13213 allocations familiales, F815 ASF, F12242 AAH, F16871 ASPA,
   F10027 C2S, chequeenergie.gouv.fr).
2. The RSA cases of issue 8 through `aiguillage kb eligibility --json` (the current month).
3. The fallback: without an engine, or before warm-up, an OpenFisca scheme is "à vérifier".
4. The pooled engine batches concurrent requests into one simulation.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from knowledge.benefits.engines import LocalEngine, PooledEngine, shared_simulator
from knowledge.benefits.outcome import missing_facts
from knowledge.benefits.simulator import Simulator, Variable
from knowledge.benefits.situation import Household
from knowledge.eligibility import EligibilityEngine, Status

PERIOD = "2025-06"
SMIC_NET_2025 = 1426.30  # net monthly minimum wage, full time, 2025

VARIABLES = [
    Variable("rsa", "famille"), Variable("ppa", "famille"), Variable("aide_logement", "famille"),
    Variable("af", "famille"), Variable("asf", "famille"), Variable("ars", "famille", "year"),
    Variable("aah", "individu"), Variable("aspa", "famille"), Variable("cmu_c", "famille"),
    Variable("css_participation_forfaitaire", "famille"), Variable("cheque_energie", "menage", "year"),
    Variable("bourse_college", "famille"),
]  # fmt: skip

#: (case, household, expected values; every variable not listed must be 0)
CASES: list[tuple[str, Household, dict[str, float]]] = [
    # A single parent without income, two children (4 and 12), tenant in Béthune paying 550 €.
    # AF for 2 children, tranche 1: 151,80 € a month (scale from April 2025, F13213).
    # ASF: 200,18 € a month per child from April 2025 (F815) -> 400,37 € for two.
    # RSA: 1,8 x 646,52 € for a single parent with 2 children, less the housing flat rate and the
    # family benefits counted as resources; C2S without participation (RSA level of resources).
    # Chèque énergie: 1.8 consumption units, no taxable income -> 240 € a year.
    ("parent-isole-sans-revenu-2-enfants",
     Household(age=32, children_ages=(4.0, 12.0), situation="sans_activite", housing="locataire", rent=550,
               commune="62119"),
     {"rsa": 606.45, "aide_logement": 487.0, "af": 151.80, "asf": 400.37, "ars": 449.09, "cmu_c": 1.0,
      "cheque_energie": 240.0, "bourse_college": 516.0}),
    # A couple, both on the full-time minimum wage, tenants in Lille: prime d'activité only (their
    # 2 853 € a month are above the RSA and the aide au logement thresholds for a 600 € rent).
    ("couple-smic",
     Household(age=35, couple=True, situation="salarie", salary=SMIC_NET_2025, partner_salary=SMIC_NET_2025,
               housing="locataire", rent=600, commune="59350"),
     {"ppa": 176.63}),
    # A 20-year-old student without income, tenant in Amiens (400 €): aide au logement; no RSA
    # (students are excluded); C2S without participation; chèque énergie 194 € (1 unit, 0 income).
    ("etudiant",
     Household(age=20, situation="etudiant", housing="locataire", rent=400, commune="80021"),
     {"aide_logement": 196.0, "cmu_c": 1.0, "cheque_energie": 194.0}),
    # A 72-year-old with a 700 € pension, tenant in Arras: ASPA completes up to 1 034,28 € a month
    # for a single person (2025, F16871): 1 034,28 - 700 = 334,28 (OpenFisca rounds to 334,29).
    # C2S with a participation of 30 € a month (70 and over, F10027): 12 × 1 034,29 € is between the
    # ceilings without (10 339 €) and with participation (13 957 €) for one person, 1-4-2025 to 1-4-2026.
    ("retraite-petite-pension",
     Household(age=72, situation="retraite", pension=700, housing="locataire", rent=400, commune="62041"),
     {"aspa": 334.29, "aide_logement": 210.0, "css_participation_forfaitaire": 30.0, "cheque_energie": 194.0}),
    # A 40-year-old with a disability recognised at 80 %, no income, tenant in Roubaix: AAH at the
    # full rate, 1 033,32 € a month from April 2025 (F12242); no RSA (the AAH is counted as a
    # resource); C2S with a 14 € participation (30-49 years old; the participation scale is
    # 8/14/21/25/30 € a month by age, arrêté of 29 December 2023).
    ("adulte-handicape",
     Household(age=40, situation="sans_activite", disability=True, housing="locataire", rent=450,
               commune="59512"),
     {"aah": 1033.32, "aide_logement": 301.0, "css_participation_forfaitaire": 14.0, "cheque_energie": 194.0}),
]  # fmt: skip


@pytest.fixture(scope="module")
def simulator() -> Simulator:
    return shared_simulator()


@pytest.fixture(scope="module")
def batch(simulator: Simulator) -> list[dict[str, float]]:
    """All cases in one vectorised simulation (as the pooled engine runs them)."""
    return simulator.run([household for _, household, _ in CASES], VARIABLES, PERIOD)


@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(CASES)), ids=[case for case, _, _ in CASES])
def test_amounts(batch: list[dict[str, float]], index: int) -> None:
    case, _, expected = CASES[index]
    got = batch[index]
    for variable in VARIABLES:
        assert got[variable.name] == pytest.approx(expected.get(variable.name, 0.0), abs=0.02), (
            f"{case}: {variable.name}"
        )


@pytest.mark.slow
def test_one_household_alone_gives_the_same_figures_as_in_a_batch(
    simulator: Simulator, batch: list[dict[str, float]]
) -> None:
    alone = simulator.run([CASES[3][1]], VARIABLES, PERIOD)[0]
    assert alone == pytest.approx(batch[3])


# ---------------------------------------------------------------------- through `kb eligibility`
RSA_CASES: list[tuple[str, dict[str, Any], set[Status]]] = [
    # a single person earning 3,000 € a month is never told RSA ✅
    ("celibataire-3000",
     {"age": 35, "household_adults": 1, "children_count": 0, "situation": "salarie", "salary": 3000,
      "housing": "locataire", "rent": 600, "commune": "59350"}, {Status.not_eligible}),
    ("celibataire-3000-revenu-global",
     {"age": 35, "monthly_income": 3000}, {Status.to_check, Status.not_eligible}),
    # nor a 77-year-old pensioner (with a pension: 0 € of RSA; without one known yet: to check)
    ("retraite-77-ans",
     {"age": 77, "household_adults": 1, "children_count": 0, "situation": "retraite", "pension": 1100,
      "housing": "locataire", "rent": 450}, {Status.not_eligible}),
    ("retraite-77-ans-sans-revenu-connu", {"age": 77, "situation": "retraite"}, {Status.to_check}),
    # a pregnant 22-year-old is not refused for her age alone
    ("enceinte-22-ans",
     {"age": 22, "pregnant": True, "household_adults": 1, "children_count": 0, "situation": "sans_activite",
      "monthly_income": 0, "housing": "heberge"}, {Status.eligible}),
    ("enceinte-22-ans-revenu-inconnu", {"age": 22, "pregnant": True}, {Status.to_check}),
]  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(RSA_CASES)), ids=[case for case, _, _ in RSA_CASES])
def test_rsa_through_kb_eligibility(
    index: int, tmp_path: Path, capsys: pytest.CaptureFixture[str], kb: Any
) -> None:
    from bot.cli import main

    case, facts, expected = RSA_CASES[index]
    path = tmp_path / "facts.json"
    path.write_text(json.dumps(facts), encoding="utf-8")
    assert main(["kb", "eligibility", "--facts", str(path), "--scheme", "rsa", "--json"]) == 0
    (result,) = json.loads(capsys.readouterr().out)
    assert Status(result["status"]) in expected, (case, result)
    assert {"scheme", "scheme_id", "status", "reasons", "missing_facts", "to_verify", "amount"} <= set(result)
    if result["status"] == "eligible":
        assert result["amount"]["value"] > 0 and result["amount"]["per"] == "month"
        assert "estimation" in result["reasons"][0].lower() or "estimation" in result["amount"]["text"]
        assert "vous avez droit" not in " ".join(result["reasons"]).lower()


# ---------------------------------------------------------------------- the interface and fallback
def test_facts_that_matter_are_asked_first_and_only_when_needed(kb: Any) -> None:
    rsa = kb.scheme("rsa").openfisca
    assert missing_facts(rsa, {}) == ["age", "household_adults", "children_count", "situation", "monthly_income",
                                      "housing"]  # fmt: skip
    # an income by kind stands for the household income; the rent only matters for a tenant;
    # the partner's salary only in a couple; pregnancy only under 25 without a child
    facts = {"age": 40, "single_parent": True, "children_ages": [3.0], "situation": "salarie", "salary": 1200,
             "housing": "heberge"}  # fmt: skip
    assert missing_facts(rsa, facts) == []
    assert missing_facts(kb.scheme("aides-logement").openfisca, {**facts, "housing": "locataire"}) == ["rent", "commune"]
    assert "pregnant" in missing_facts(rsa, {"age": 22, "children_count": 0})
    assert "partner_salary" in missing_facts(rsa, {"household_adults": 2})


def test_without_engine_an_openfisca_scheme_is_to_check_never_a_guess(kb: Any) -> None:
    facts = {"age": 35, "household_adults": 1, "children_count": 0, "situation": "salarie", "salary": 3000,
             "housing": "heberge"}  # fmt: skip
    result = EligibilityEngine(kb.gazetteer).evaluate(kb.scheme("rsa"), facts)
    assert result.status is Status.to_check and result.missing == [] and result.amount is None
    assert "à vérifier" in result.reasons[-1]

    cold = PooledEngine()  # not started: not ready
    result = EligibilityEngine(kb.gazetteer, benefits=cold).evaluate(kb.scheme("rsa"), facts)
    assert result.status is Status.to_check


def test_scheme_conditions_come_before_the_simulation(kb: Any) -> None:
    """A Hauts-de-France aid is refused outside the region without simulating anything."""

    class Exploding:
        ready = True

        def estimate(self, household: Household, variables: tuple[Variable, ...]) -> None:
            raise AssertionError("no simulation expected")

    facts = {"commune": "75056", "age": 22, "situation": "demandeur_emploi", "monthly_income": 0,
             "household_adults": 1}  # fmt: skip
    engine = EligibilityEngine(kb.gazetteer, benefits=Exploding())  # type: ignore[arg-type]
    assert engine.evaluate(kb.scheme("aide-permis-hauts-de-france"), facts).status is Status.not_eligible


@pytest.mark.slow
def test_eligible_with_an_amount_through_the_engine(kb: Any) -> None:
    facts = {"age": 40, "household_adults": 1, "children_count": 0, "situation": "sans_activite",
             "monthly_income": 0, "housing": "heberge", "disability": True}  # fmt: skip
    engine = EligibilityEngine(kb.gazetteer, benefits=LocalEngine())
    results = {r.scheme_id: r for r in engine.evaluate_all([kb.scheme("aah"), kb.scheme("rsa")], facts)}
    assert results["aah"].status is Status.eligible and results["aah"].amount and results["aah"].amount > 900
    assert "par mois" in (results["aah"].amount_text or "")
    assert results["aah"].to_json()["amount"]["estimate"] is True
    assert results["rsa"].status is Status.not_eligible  # the AAH is counted in the RSA's resources


@pytest.mark.slow
def test_an_estimate_whose_decisive_condition_is_not_asked_stays_to_verify(kb: Any) -> None:
    """The ASF: OpenFisca assumes the other parent pays nothing, which the assistant never asks
    (simulated users, round 16: ✅ for a mother whose ex may pay). The estimate is said, « à vérifier »."""
    facts = {"age": 29, "household_adults": 1, "single_parent": True, "children_count": 1, "children_ages": [4]}
    engine = EligibilityEngine(kb.gazetteer, benefits=LocalEngine())
    result = engine.evaluate(kb.scheme("allocation-soutien-familial"), facts)
    assert result.status is Status.to_check
    assert result.amount and result.amount > 100
    assert result.to_verify[0].startswith("Élever seul·e un enfant de moins de 20 ans privé de l'aide de l'autre parent")


@pytest.mark.slow
def test_pooled_engine_batches_concurrent_requests() -> None:
    engine = PooledEngine(workers=1, window_ms=50).start()
    try:
        assert engine.wait_ready(timeout=600), "OpenFisca did not warm up"
        households = [Household(age=30 + n, situation="salarie", salary=1000 + 50 * n) for n in range(8)]
        wanted = (Variable("ppa", "famille"),)
        before = engine.batches
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(lambda h: engine.estimate(h, wanted), households))
        assert all(r is not None and r["ppa"] > 0 for r in results)
        assert engine.batches - before < len(households), "concurrent requests share simulations"
        # the same answers as in this process
        local = LocalEngine().estimate_many(households, wanted)
        assert [r["ppa"] for r in results if r] == pytest.approx([r["ppa"] for r in local])
    finally:
        engine.stop()


def test_a_worker_exits_when_the_process_that_started_it_dies() -> None:
    """A server killed, or a test's subprocess ended, left its OpenFisca workers behind: four orphans
    of 280 MB per clean-clone CI run, still there an hour later. A worker now watches its parent."""
    script = (
        "import multiprocessing as mp, sys\n"
        "from knowledge.benefits.engines import PooledEngine\n"
        "engine = PooledEngine(workers=1).start()\n"
        "print(' '.join(str(p.pid) for p in mp.active_children()), flush=True)\n"
        "sys.stdin.readline()\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True, cwd=Path(__file__).resolve().parents[1])
    try:
        workers = [int(p) for p in (parent.stdout.readline() if parent.stdout else "").split()]
        assert workers, "no worker process started"
        parent.send_signal(signal.SIGKILL)  # no clean shutdown: as a killed server
        parent.wait(timeout=30)
        deadline = time.monotonic() + 60
        alive = workers
        while alive and time.monotonic() < deadline:
            time.sleep(0.5)
            alive = [pid for pid in workers if _running(pid)]
        assert not alive, f"workers still running after their parent died: {alive}"
    finally:
        if parent.poll() is None:
            parent.kill()


def _running(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "State:\tZ" in status.read_text())

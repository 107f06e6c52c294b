"""Search: nearest service to a place, zones, tolerant text search, and the `aiguillage kb` commands.

The command-line cases run as real subprocesses of the installed `aiguillage` script, with
AIGUILLAGE_DATA_DIR pointing at the test run's temporary folder. They are started together
(a module fixture) because each one loads the knowledge base (a few seconds).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from knowledge.search import ServiceSearch

REPO = Path(__file__).resolve().parent.parent
AVIP_SERVICE = "hersin-coupigny-creche-avip"
HERSIN = "62443"
CHILDCARE = "famille--garde-denfants"


def aiguillage_command() -> list[str]:
    script = REPO / ".venv" / "bin" / "aiguillage"
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot.cli"]


def run_cli(args: list[str], data_dir: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "AIGUILLAGE_DATABASE_URL"}
    env["AIGUILLAGE_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [*aiguillage_command(), *args], input=stdin, capture_output=True, text=True, env=env, cwd=data_dir,
        timeout=240,
    )  # fmt: skip


# ---------------------------------------------------------------------------- command line
@pytest.fixture(scope="module")
def facts_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("facts")
    files = {
        "good": '{"age": 19, "commune": "62530", "enfants": [1.17], "situation": "au chômage"}',
        "invalid": '{"age": 19,',
        "bad_commune": '{"commune": "Zzyzxville-les-Bains"}',
    }
    paths = {}
    for name, text in files.items():
        paths[name] = folder / f"{name}.json"
        paths[name].write_text(text, encoding="utf-8")
    paths["missing"] = folder / "absent.json"
    return paths


@pytest.fixture(scope="module")
def cli(
    kb, session_data_dir: Path, facts_files: dict[str, Path]
) -> dict[str, subprocess.CompletedProcess[str]]:  # type: ignore[no-untyped-def]
    """Every command-line case: the first alone (it creates and fills the SQLite file), then the
    others concurrently (several processes migrating one new database at once would race)."""
    cases = {
        "search_name": ["kb", "search", "--commune", "Hersin-Coupigny", "--theme", CHILDCARE, "--json"],
        "search_postal": ["kb", "search", "--commune", "62530", "--theme", CHILDCARE, "--json"],
        "search_folded": ["kb", "search", "--commune", "hersin coupigny", "--theme", CHILDCARE, "--json"],
        "search_text": ["kb", "search", "creche avip", "--commune", "hersin coupigny", "--json"],
        "show_scheme": ["kb", "show", "avip-creches", "--json"],
        "show_service": ["kb", "show", AVIP_SERVICE, "--json"],
        "eligibility": ["kb", "eligibility", "--facts", str(facts_files["good"]), "--json"],
        "unknown_id": ["kb", "show", "avip-crech", "--json"],
        "unknown_commune": ["kb", "search", "creche", "--commune", "Zzyzxville-les-Bains", "--json"],
        "missing_file": ["kb", "eligibility", "--facts", str(facts_files["missing"]), "--json"],
        "invalid_json": ["kb", "eligibility", "--facts", str(facts_files["invalid"]), "--json"],
        "bad_commune_fact": ["kb", "eligibility", "--facts", str(facts_files["bad_commune"]), "--json"],
        "unknown_scheme": ["kb", "eligibility", "--facts", str(facts_files["good"]), "--scheme", "nope"],
        "search_places": ["kb", "search", "france services", "--commune", "62800", "--json"],
        "search_named_place": ["kb", "search", "surendettement Amiens", "--json"],
        "show_place": ["kb", "show", "mairie-62510", "--json"],
    }
    first, *others = cases
    results = {first: run_cli(cases[first], session_data_dir)}
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {name: pool.submit(run_cli, cases[name], session_data_dir) for name in others}
        results.update({name: future.result() for name, future in futures.items()})
    return results


def _json(result: subprocess.CompletedProcess[str]):  # type: ignore[no-untyped-def]
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("case", ["search_name", "search_postal", "search_folded"])
def test_cli_search_by_commune_finds_the_avip_creche_first(cli, case: str) -> None:  # type: ignore[no-untyped-def]
    data = _json(cli[case])
    assert data["commune"] == HERSIN
    services = [r for r in data["results"] if r["kind"] == "service"]
    assert services, data
    first = services[0]
    assert first["id"] == AVIP_SERVICE
    assert first["service"]["courriel"] == "avip@ville-hersin-coupigny.fr"
    assert first["distance_km"] < 1
    assert "avip-creches" in first["service"]["schemes"]


def test_cli_text_search_with_commune(cli) -> None:  # type: ignore[no-untyped-def]
    results = _json(cli["search_text"])["results"]
    ids = [r["id"] for r in results]
    assert ids[0] == AVIP_SERVICE  # the service on the spot before the scheme sheet
    assert "avip-creches" in ids[:3]


def test_cli_search_gives_a_lievin_resident_the_actual_nearest_france_services(cli) -> None:  # type: ignore[no-untyped-def]
    data = _json(cli["search_places"])
    assert data["commune"] == "62510"  # postal code 62800 -> Liévin, INSEE code 62510
    places = [r for r in data["results"] if r["kind"] == "service" and r["service"]["origin"] == "annuaire"]
    first = places[0]["service"]
    assert first["nom"] == "France services Pimms Médiation de Lens" and places[0]["distance_km"] < 6
    assert first["adresse"] == "49 Place du Général de Gaulle" and first["code_postal"] == "62300"
    assert first["telephone"] == "03 21 28 78 17" and first["courriel"] == "lens@pimmsmediation.fr"
    assert first["horaires_accueil"].startswith("Mo 13:00-17:00; Tu 09:00-12:00,13:30-17:00")
    assert first["aujourd_hui"] in ("fermé aujourd'hui",) or first["aujourd_hui"].startswith("ouvert aujourd'hui")
    assert first["date_maj"] == "2024-08-01" and first["reseaux_porteurs"] == ["france-service"]
    distances = [p["distance_km"] for p in places]
    assert distances == sorted(distances)


def test_cli_search_uses_the_commune_named_in_the_text(cli) -> None:  # type: ignore[no-untyped-def]
    data = _json(cli["search_named_place"])
    assert data["commune"] == "80021" and data["commune_named_in_query"] is True
    assert data["query"] == "surendettement Amiens"
    assert data["results"][0]["id"] == "point-conseil-budget"
    near = [r for r in data["results"] if r["kind"] == "service" and r.get("distance_km", 99) < 10]
    assert near and all(r["service"]["telephone"] for r in near)


def test_cli_show_a_place(cli) -> None:  # type: ignore[no-untyped-def]
    place = _json(cli["show_place"])
    assert place["kind"] == "service" and place["nom"] == "Mairie de Liévin"
    assert place["telephone"] == "03 21 44 89 89" and place["horaires_accueil"]


def test_cli_show_json(cli) -> None:  # type: ignore[no-untyped-def]
    scheme = _json(cli["show_scheme"])
    assert scheme["kind"] == "scheme" and scheme["id"] == "avip-creches"
    assert scheme["sources"] and scheme["steps"] and AVIP_SERVICE in scheme["services"]
    service = _json(cli["show_service"])
    assert service["kind"] == "service" and service["id"] == AVIP_SERVICE
    assert service["code_insee"] == HERSIN and service["courriel"] == "avip@ville-hersin-coupigny.fr"
    assert service["sources"] and all("seed" in s or "url" in s for s in service["sources"])


def test_cli_eligibility_json_shape(cli, kb) -> None:  # type: ignore[no-untyped-def]
    results = _json(cli["eligibility"])
    assert isinstance(results, list) and len(results) == len(kb.schemes)
    for item in results:
        assert {"scheme", "status", "reasons", "missing_facts"} <= set(item)
        assert item["scheme"] in kb.schemes
        assert item["status"] in {"eligible", "not_eligible", "to_check"}
        assert isinstance(item["reasons"], list) and isinstance(item["missing_facts"], list)
        assert all(isinstance(r, str) and r for r in item["reasons"])
    status = {item["scheme"]: item["status"] for item in results}
    # 19 years old, a 14-month-old child, job seeker, Hersin-Coupigny (written as its postal code)
    assert status["sac-ados"] == "eligible"
    assert status["avip-creches"] == "eligible"
    assert status["point-conseil-budget"] == "eligible"
    assert status["cantine-a-1-euro"] == "not_eligible"  # the child is too young for school


@pytest.mark.parametrize(
    ("case", "code", "words"),
    [
        ("unknown_id", 1, ["Identifiant inconnu", "avip-creches"]),  # with a suggestion
        ("unknown_commune", 2, ["Commune introuvable", "Zzyzxville"]),
        ("missing_file", 2, ["introuvable", "absent.json"]),
        ("invalid_json", 2, ["JSON invalide"]),
        ("bad_commune_fact", 2, ["commune introuvable", "Zzyzxville"]),
        ("unknown_scheme", 2, ["inconnu", "nope"]),
    ],
)
def test_cli_bad_inputs(cli, case: str, code: int, words: list[str]) -> None:  # type: ignore[no-untyped-def]
    result = cli[case]
    assert result.returncode == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 5  # a message, not a dump


# ---------------------------------------------------------------------------- nearest services
@pytest.fixture(scope="module")
def search(kb) -> ServiceSearch:  # type: ignore[no-untyped-def]
    return ServiceSearch(kb)


def test_nearest_by_coordinates(kb, search) -> None:  # type: ignore[no-untyped-def]
    hersin = kb.gazetteer.get(HERSIN)
    lat, lon = hersin.latitude + 0.008, hersin.longitude - 0.01  # about 1 km away
    by_theme = search.nearest(lat=lat, lon=lon, themes=[CHILDCARE])
    assert by_theme[0].service.id == AVIP_SERVICE and by_theme[0].distance_km < 2
    by_scheme = search.nearest(lat=lat, lon=lon, scheme_ids=["avip-creches"])
    assert by_scheme[0].service.id == AVIP_SERVICE
    assert all(n.service.id != AVIP_SERVICE for n in by_scheme[1:])
    # located through the commune the coordinates fall in, with its zone respected
    commune = kb.gazetteer.nearest(lat, lon)
    assert commune.code_insee == HERSIN
    assert search.nearest(commune=commune, scheme_ids=["avip-creches"])[0].service.id == AVIP_SERVICE
    # distances are sorted, unknown positions last
    distances = [n.distance_km for n in search.nearest(lat=lat, lon=lon, limit=50)]
    known = [d for d in distances if d is not None]
    assert known == sorted(known) and distances[: len(known)] == known


def test_a_commune_limited_service_is_not_offered_elsewhere(kb, search) -> None:  # type: ignore[no-untyped-def]
    bethune = kb.gazetteer.get("62119")
    ids = [n.service.id for n in search.nearest(commune=bethune, themes=[CHILDCARE], limit=50)]
    assert AVIP_SERVICE not in ids  # its zone is Hersin-Coupigny only
    unfiltered = search.nearest(commune=bethune, themes=[CHILDCARE], limit=50, respect_zone=False)
    assert AVIP_SERVICE in [n.service.id for n in unfiltered]


def test_a_departement_62_service_is_not_offered_in_paris(kb, search) -> None:  # type: ignore[no-untyped-def]
    only_62 = [s for s in kb.services if s.zone_eligibilite == ["62"]]
    assert only_62, "le contenu devrait compter des services limités au Pas-de-Calais"
    paris, arras = kb.gazetteer.get("75056"), kb.gazetteer.get("62041")
    in_paris = {n.service.id for n in search.nearest(commune=paris, limit=10_000)}
    in_arras = {n.service.id for n in search.nearest(commune=arras, limit=10_000)}
    for service in only_62:
        assert service.id not in in_paris
        assert service.id in in_arras
    # the agents' search applies the same rule
    for service in only_62[:3]:
        hits = search.search(service.nom, commune=paris, limit=50)
        assert service.id not in {h.id for h in hits}
        hits = search.search(service.nom, commune=arras, limit=50)
        assert service.id in {h.id for h in hits}


# ---------------------------------------------------------------------------- tolerant text search
@pytest.mark.parametrize(
    ("query", "scheme_id"),
    [
        ("cantine a 1e", "cantine-a-1-euro"),
        ("point conseil budjet", "point-conseil-budget"),
        ("epicerie solidere", "epiceries-solidaires"),
        ("CRECHE AVIP", "avip-creches"),
        ("sac ado", "sac-ados"),
        ("pcb", "point-conseil-budget"),
        ("prime sortie de vacance", "prime-sortie-vacance"),
    ],
)
def test_tolerant_scheme_search(search, query: str, scheme_id: str) -> None:  # type: ignore[no-untyped-def]
    found = search.search_schemes(query)
    assert found and found[0][0].id == scheme_id, [(s.id, score) for s, score in found]
    hits = search.search(query)
    assert hits[0].kind == "scheme" and hits[0].id == scheme_id


def test_search_with_nothing_matching(search) -> None:  # type: ignore[no-untyped-def]
    assert search.search_schemes("xqzw") == []
    assert search.search("") == []

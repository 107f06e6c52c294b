"""Nearest services at national scale: the spatial index answers exactly what a linear scan
answers (SQLite and PostgreSQL), and the synthetic services used to measure it stay synthetic.

The databases hold the edited content plus a few thousand synthetic services (the generator of
`aiguillage kb synth-places`), a few services without a position and a few at the very same
point (ties broken by name). No timing is asserted here: `aiguillage bench` measures.
"""

from __future__ import annotations

import os
import random
import types
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine, select, text

from knowledge import datainclusion, nearest
from knowledge.content import CONTENT_DIR, default_content
from knowledge.datainclusion import import_data_inclusion
from knowledge.db import make_engine, session_scope, upgrade
from knowledge.gazetteer import Gazetteer, haversine_km
from knowledge.kb import KnowledgeBase, sync_content
from knowledge.models import ServiceRow
from knowledge.nearest import Filters, NearestServices
from knowledge.search import ServiceSearch
from knowledge.spatial import SpatialIndex
from knowledge.synthetic import (
    SYNTHETIC_DESCRIPTION,
    SYNTHETIC_NAME,
    SYNTHETIC_SOURCE,
    SyntheticTargetError,
    content_themes,
    import_synthetic,
    is_synthetic,
    synthetic_services,
)
from tests.conftest import PG_ADMIN_URL, require

SYNTHETIC_COUNT = 3000
KINDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
CONTACT_FIELDS = ("adresse", "complement_adresse", "telephone", "courriel", "site_web", "lien_mobilisation",
                  "lien_source", "horaires_accueil", "contact_nom_prenom")  # fmt: skip


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return Gazetteer.load()


@pytest.fixture
def new_database(pg_admin, tmp_path: Path) -> Iterator[Callable[[str], str]]:  # type: ignore[no-untyped-def]
    """A new, migrated database of the given kind; returns its URL."""
    engines: list[Engine] = []
    pg_names: list[str] = []

    def make(kind: str) -> str:
        if kind == "sqlite":
            url = f"sqlite:///{tmp_path / f'scale{len(engines)}.sqlite3'}"
        else:
            require(pg_admin is not None, f"PostgreSQL ({PG_ADMIN_URL.split('@')[-1]})")
            name = f"aiguillage_test_{os.getpid()}_{uuid.uuid4().hex[:10]}"
            with pg_admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            pg_names.append(name)
            url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
        engine = make_engine(url)
        upgrade(engine)
        engines.append(engine)
        return url

    yield make
    for engine in engines:
        engine.dispose()
    for name in pg_names:
        with pg_admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _scale_kb(url: str, gazetteer: Gazetteer) -> KnowledgeBase:
    """Edited content + synthetic services + 12 at one point (ties) + 5 without a position."""
    engine = make_engine(url)
    sync_content(engine, gazetteer=gazetteer)
    import_synthetic(url, SYNTHETIC_COUNT, gazetteer=gazetteer)
    themes = content_themes()
    extra = [{"source": "test", "id": f"meme-point-{i}", "structure_id": "s-test", "nom": f"Même point {11 - i:02d}",
              "thematiques": [themes[i % 3]], "latitude": 50.4479, "longitude": 2.6494} for i in range(12)]
    extra += [{"source": "test", "id": f"sans-position-{i}", "structure_id": "s-test", "nom": f"Sans position {i}",
               "thematiques": [themes[i % 2]]} for i in range(5)]  # fmt: skip
    report = import_data_inclusion(engine, [], extra, gazetteer)
    assert report.errors == []
    kb = KnowledgeBase.from_database(engine, gazetteer=gazetteer)
    engine.dispose()
    return kb


def _answer(found: list) -> list[tuple[str, float | None]]:  # type: ignore[type-arg]
    return [(service.id, None if d is None else round(d, 9)) for service, d in found]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("selective", [nearest.SELECTIVE, 0], ids=["scan-of-filtered", "tree-always"])
def test_nearest_equals_a_linear_scan(
    new_database, gazetteer: Gazetteer, kind: str, selective: int, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    kb = _scale_kb(new_database(kind), gazetteer)
    assert sum(s.source == SYNTHETIC_SOURCE for s in kb.services) == SYNTHETIC_COUNT
    monkeypatch.setattr(nearest, "SELECTIVE", selective)
    index = NearestServices(kb.services)
    assert len(index.spatial.unlocated) >= 5
    rng = random.Random(7)
    communes = [c for c in gazetteer if not c.is_arrondissement]
    themes = sorted({t for s in kb.services for t in s.thematiques})
    schemes = sorted({x for s in kb.services for x in s.schemes})
    networks = sorted({x for s in kb.services for x in s.reseaux_porteurs})
    checked_ties = False
    for trial in range(160):
        commune = rng.choice(communes)
        if trial % 8 == 0:  # the point where 12 services tie
            lat, lon = 50.4479, 2.6494
        else:
            lat, lon = commune.latitude + rng.uniform(-0.3, 0.3), commune.longitude + rng.uniform(-0.3, 0.3)
        filters = Filters(
            tuple(rng.sample(themes, rng.choice([0, 0, 1, 2]))),
            tuple(rng.sample(schemes, rng.choice([0, 0, 0, 1]))),
            tuple(rng.sample(networks, rng.choice([0, 0, 0, 1]))),
        )
        limit = rng.choice([1, 3, 5, 20, 100_000])
        max_km = rng.choice([None, None, 5.0, 30.0, 80.0])
        include_unlocated = rng.random() < 0.5
        zone = commune if rng.random() < 0.7 else None
        fast = index.nearest(lat, lon, zone, filters, limit, max_km, include_unlocated)
        slow = index.nearest_scan(lat, lon, zone, filters, limit, max_km, include_unlocated)
        assert _answer(fast) == _answer(slow), (trial, lat, lon, filters, limit, max_km, include_unlocated)
        checked_ties |= trial % 8 == 0 and sum(1 for s, d in fast if d == 0.0) > 1
    assert checked_ties
    # the search the dialogue uses is the indexed one, with the same answers
    search = ServiceSearch(kb)
    commune = gazetteer.get("62443")
    assert commune is not None
    answer = search.nearest(commune=commune, limit=10)
    reference = search._nearest.nearest_scan(commune.latitude, commune.longitude, commune, Filters(), 10)
    assert [(n.service.id, n.distance_km) for n in answer] == [(s.id, d) for s, d in reference]


def test_spatial_index_gives_every_point_once_nearest_first() -> None:
    rng = np.random.default_rng(3)
    lat = rng.uniform(41, 51, 2000)
    lon = rng.uniform(-5, 9, 2000)
    lat[::97] = np.nan  # unknown positions are left out
    index = SpatialIndex(lat, lon)
    for max_km in (None, 250.0):
        batches = list(index.nearest_first(47.0, 2.0, max_km, first_batch=16))
        assert len(batches) > 1
        positions = np.concatenate([p for p, _k in batches])
        km = np.concatenate([k for _p, k in batches])
        expected = index.distances(47.0, 2.0)
        inside = ~np.isnan(expected) & (expected <= (max_km if max_km is not None else np.inf))
        assert sorted(positions.tolist()) == np.flatnonzero(inside).tolist()
        assert np.all(np.diff(km) >= -1e-9)
        assert np.allclose(km, [haversine_km(47.0, 2.0, lat[p], lon[p]) for p in positions])


# ---------------------------------------------------------------------------- synthetic services
def test_synthetic_services_are_marked_in_real_communes_without_contacts(gazetteer: Gazetteer) -> None:
    themes = content_themes()
    items = synthetic_services(500, gazetteer, themes)
    assert isinstance(items, types.GeneratorType)  # produced one at a time, never a list
    seen = set()
    for item in items:
        assert item["source"] == SYNTHETIC_SOURCE and is_synthetic(str(item["source"]), str(item["id"]))
        assert str(item["nom"]).startswith(SYNTHETIC_NAME) and item["description"] == SYNTHETIC_DESCRIPTION
        assert not any(item.get(name) for name in CONTACT_FIELDS)
        commune = gazetteer.get(str(item["code_insee"]))
        assert commune is not None and item["commune"] == commune.nom
        assert haversine_km(commune.latitude, commune.longitude, item["latitude"], item["longitude"]) < 2  # type: ignore[arg-type]
        assert set(item["thematiques"]) <= set(themes)  # type: ignore[arg-type]
        seen.add(item["id"])
    assert len(seen) == 500


def test_synthetic_services_never_reach_the_real_content() -> None:
    assert not any(is_synthetic(s.source, s.id) for s in default_content().services)
    for path in CONTENT_DIR.rglob("*"):
        if path.is_file():
            body = path.read_text(encoding="utf-8", errors="replace")
            assert SYNTHETIC_SOURCE not in body and SYNTHETIC_NAME not in body, path


def test_synthetic_import_refuses_the_assistants_database(tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    from bot.cli import main

    own = f"sqlite:///{tmp_path / 'assistant.sqlite3'}"
    monkeypatch.setenv("AIGUILLAGE_DATABASE_URL", own)
    with pytest.raises(SyntheticTargetError):
        import_synthetic(own, 10)
    assert main(["kb", "synth-places", "10", "--db", own]) == 2
    assert "base de l'assistant" in capsys.readouterr().err
    assert not (tmp_path / "assistant.sqlite3").exists()

    measure = f"sqlite:///{tmp_path / 'mesure.sqlite3'}"
    assert main(["kb", "synth-places", "25", "--db", measure]) == 0
    assert "25 services SYNTHÉTIQUES" in capsys.readouterr().out
    with session_scope(make_engine(measure)) as session:
        sources = session.scalars(select(ServiceRow.source).where(ServiceRow.origin == "import")).all()
    assert sources == [SYNTHETIC_SOURCE] * 25


def test_import_reads_a_generator_batch_by_batch(
    tmp_path: Path, gazetteer: Gazetteer, monkeypatch: pytest.MonkeyPatch
) -> None:
    produced = 0
    seen_at_lookup: list[int] = []

    def counted() -> Iterator[dict[str, object]]:
        nonlocal produced
        for item in synthetic_services(250, gazetteer, content_themes()):
            produced += 1
            yield item

    original = datainclusion._existing

    def existing(session, model, keys):  # type: ignore[no-untyped-def]
        if model is ServiceRow:
            seen_at_lookup.append(produced)
        return original(session, model, keys)

    monkeypatch.setattr(datainclusion, "BATCH_SIZE", 100)
    monkeypatch.setattr(datainclusion, "_existing", existing)
    engine = make_engine(f"sqlite:///{tmp_path / 'lots.sqlite3'}")
    upgrade(engine)
    report = import_data_inclusion(engine, [], counted(), gazetteer, allow_synthetic=True)
    assert report.services == 250 and report.errors == []
    assert seen_at_lookup == [100, 200, 250]  # each batch written before the next is read


def test_zone_mask_is_zone_contains(kb, gazetteer: Gazetteer) -> None:  # type: ignore[no-untyped-def]
    from knowledge.kb import ServiceRecord
    from knowledge.places import zone_contains
    from knowledge.zone_mask import ZoneMask

    lievin = gazetteer.get("62510")
    paris_11 = gazetteer.get("75111")
    assert lievin is not None and paris_11 is not None and lievin.epci
    zones = [[], ["France"], ["99100"], [" 62 "], ["region:32"], ["reg-11"], ["REGION:32"], [lievin.epci],
             ["62510"], ["75056"], ["75111"], ["2a004"], ["59", "80"], ["62510", "region:11"], [""]]  # fmt: skip
    made = [ServiceRecord(source="test", id=f"z{i}", nom=f"z{i}", structure_id="s", zone_eligibilite=z)
            for i, z in enumerate(zones)]  # fmt: skip
    services = [*kb.services, *made]
    mask = ZoneMask(services)
    rng = random.Random(5)
    communes = [lievin, paris_11, *rng.sample(list(gazetteer), 300)]
    for commune in communes:
        expected = [not s.zone_eligibilite or zone_contains(s.zone_eligibilite, commune) for s in services]
        assert mask.for_commune(commune).tolist() == expected, commune.code_insee
    assert mask.for_commune(lievin)[len(kb.services):].sum() >= 8  # the zones written above did match


def _lines(path: Path, items: list[dict[str, object]]) -> None:
    import json

    path.write_text("".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items), encoding="utf-8")


def test_kb_import_reads_json_lines_and_refuses_synthetic_services(
    tmp_path: Path, gazetteer: Gazetteer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main

    url = f"sqlite:///{tmp_path / 'assistant.sqlite3'}"
    monkeypatch.setenv("AIGUILLAGE_DATABASE_URL", url)
    themes = content_themes()
    items = [{"source": "test", "id": f"ligne-{i}", "structure_id": f"s-{i // 4}", "nom": f"Service {i}",
              "code_insee": "62510", "thematiques": [themes[i % len(themes)]]} for i in range(2500)]  # fmt: skip
    good = tmp_path / "services.jsonl"
    _lines(good, items)
    assert main(["kb", "import", str(good)]) == 0
    assert "2500 services importés" in capsys.readouterr().out

    broken = tmp_path / "abime.jsonl"
    _lines(broken, [{**item, "id": f"autre-{n}"} for n, item in enumerate(items[:2200])])
    with broken.open("a", encoding="utf-8") as fh:
        fh.write('{"source": "test", "id": \n')
    assert main(["kb", "import", str(broken)]) == 2
    assert "ligne 2201" in capsys.readouterr().err
    with session_scope(make_engine(url)) as session:
        ids = session.scalars(select(ServiceRow.id).where(ServiceRow.origin == "import")).all()
    assert len(ids) == 2500 and not any(i.startswith("autre-") for i in ids)  # the broken file wrote nothing

    synthetic = tmp_path / "synthetiques.jsonl"
    _lines(synthetic, list(synthetic_services(30, gazetteer, themes)))
    assert main(["kb", "import", str(synthetic)]) == 1
    assert capsys.readouterr().err.count("SYNTHÉTIQUE") >= 30
    with session_scope(make_engine(url)) as session:
        assert session.scalars(select(ServiceRow.id).where(ServiceRow.source == SYNTHETIC_SOURCE)).all() == []

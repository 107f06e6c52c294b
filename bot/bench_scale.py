"""National scale for `aiguillage bench`: N SYNTHETIC services (knowledge/synthetic.py) imported into
a temporary SQLite database, then the knowledge base loaded from it and the nearest services asked
for around random communes, against the 215 edited services. Measurements only: the database is
removed at the end and never is the assistant's.
"""

from __future__ import annotations

import random
import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def nearest_samples(kb: Any, rng: random.Random, count: int) -> tuple[list[float], list[float]]:
    """Durations of (the 5 nearest services, a theme one time in two) and of the orientation's
    pick (`pick_services`: a need, within 80 km, sorted by relevance) around random communes."""
    from actions import common
    from knowledge.search import ServiceSearch

    search = ServiceSearch(kb)
    communes = [c for c in kb.gazetteer if not c.is_arrondissement]
    themes = sorted({t for s in kb.services for t in s.thematiques})
    queries = [(rng.choice(communes), rng.choice([None, *themes])) for _ in range(count)]
    search.nearest(commune=queries[0][0])  # builds the index
    nearest, orientation = [], []
    for commune, theme in queries:
        started = time.perf_counter()
        search.nearest(commune=commune, themes=[theme] if theme else None, limit=5)
        nearest.append(time.perf_counter() - started)
    common.set_kb(kb)
    needs = sorted(common.needs_catalogue())
    for commune, _theme in queries[: max(20, count // 5)]:
        started = time.perf_counter()
        common.pick_services({"commune": commune.code_insee}, [], rng.choice(needs))
        orientation.append(time.perf_counter() - started)
    return nearest, orientation


def run_scale(count: int, rng: random.Random, row: Callable[..., Any], p50_p95: Callable[[list[float]], str],
              progress: Callable[[str], None]) -> list[Any]:  # fmt: skip
    from knowledge.db import make_engine, upgrade
    from knowledge.gazetteer import Gazetteer
    from knowledge.kb import KnowledgeBase, sync_content
    from knowledge.synthetic import import_synthetic

    rows = []
    spaced = f"{count:,}".replace(",", " ")
    command = f"aiguillage bench --places {count}"
    gazetteer = Gazetteer.load()
    with tempfile.TemporaryDirectory(prefix="aiguillage-scale-") as folder:
        url = f"sqlite:///{Path(folder) / 'scale.sqlite3'}"
        engine = make_engine(url)
        upgrade(engine)
        sync_content(engine, gazetteer=gazetteer)
        progress(f"import de {spaced} services synthétiques")
        started = time.perf_counter()
        import_synthetic(url, count, gazetteer=gazetteer)
        seconds = time.perf_counter() - started
        rows.append(row(f"Import de {spaced} services data·inclusion", f"{seconds:.1f} s",
                        "services SYNTHÉTIQUES (communes réelles), lots de 1 000, SQLite, barre de progression "
                        "(`aiguillage kb synth-places N --db URL`)", f"aiguillage kb synth-places {count} --db …"))  # fmt: skip
        progress("chargement de la base à cette échelle")
        before = _rss_mb()
        started = time.perf_counter()
        kb = KnowledgeBase.from_database(engine, gazetteer=gazetteer)
        seconds = time.perf_counter() - started
        rows.append(row(f"Chargement de la base, {spaced} services de plus", f"{seconds:.1f} s",
                        f"{len(kb.services):,} fiches en mémoire ; mémoire maximale {_rss_mb():.0f} Mo "
                        f"(+{_rss_mb() - before:.0f} Mo)".replace(",", " "), command))  # fmt: skip
        progress("services les plus proches à cette échelle")
        nearest, orientation = nearest_samples(kb, rng, 300)
        rows.append(row(f"Services les plus proches parmi {len(kb.services):,} (p50 / p95)".replace(",", " "),
                        p50_p95(nearest), "300 communes au hasard, 5 services, une thématique sur deux, zone "
                        "respectée : arbre k-d + masques (knowledge/nearest.py)", command))  # fmt: skip
        rows.append(row(f"Lieux d'une orientation parmi {len(kb.services):,} (p50 / p95)".replace(",", " "),
                        p50_p95(orientation), f"{len(orientation)} communes, un besoin au hasard : `pick_services` "
                        "(actions/common.py), services utiles à 80 km triés par pertinence", command))  # fmt: skip
        engine.dispose()
    return rows

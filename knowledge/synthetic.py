"""SYNTHETIC services for load measurements only: never content, never shown to a person.

`aiguillage kb synth-places N --db URL` writes N fictitious data·inclusion services into a
database that must not be the assistant's own (`database_url()`): each is placed in a real
commune of the gazetteer (drawn by population, a few hundred metres from its centre), with real
data·inclusion themes taken from the edited content, and carries no contact at all (no address,
phone, email nor site: nothing is invented that a person could use). Every one is marked: source
`SYNTHETIC_SOURCE`, id `synth-…`, name « [SYNTHÉTIQUE] … » and a description saying it does not exist.
The import is the real one (`import_data_inclusion`, in batches, with a progress bar), fed by a
generator, so memory stays bounded whatever N.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence

import numpy as np

from knowledge.gazetteer import Commune, Gazetteer

SYNTHETIC_SOURCE = "synthetique-mesures"
SYNTHETIC_PREFIX = "synth-"
SYNTHETIC_NAME = "[SYNTHÉTIQUE]"
SYNTHETIC_DESCRIPTION = "Service fictif généré pour les mesures de charge : il n'existe pas."
#: services per structure (data·inclusion structures carry several services)
SERVICES_PER_STRUCTURE = 3
#: how far from its commune's centre a service is placed, in degrees (≈ 1 km)
JITTER_DEG = 0.01


class SyntheticTargetError(ValueError):
    """Synthetic services asked for in the assistant's own database (message in French)."""


def check_target(url: str, assistant_url: str) -> None:
    """Refuse the assistant's database: synthetic services are for a measurement database only."""
    if url.strip() == assistant_url.strip():
        raise SyntheticTargetError(
            f"refusé : {url} est la base de l'assistant ; les services synthétiques ne vont que dans "
            "une base de mesure (donnez --db avec une autre base)"
        )


def is_synthetic(source: str, service_id: str) -> bool:
    return source == SYNTHETIC_SOURCE or service_id.startswith(SYNTHETIC_PREFIX)


def _communes_by_population(gazetteer: Gazetteer) -> tuple[list[Commune], np.ndarray]:
    communes = [c for c in gazetteer if not c.is_arrondissement]
    weights = np.array([max(c.population or 0, 50) for c in communes], dtype=float)
    return communes, weights / weights.sum()


def synthetic_services(
    count: int, gazetteer: Gazetteer, themes: Sequence[str], seed: int = 20261129
) -> Iterator[dict[str, object]]:
    """`count` synthetic data·inclusion services, generated one at a time (never held in a list)."""
    if not themes:
        raise ValueError("il faut au moins une thématique")
    rng = random.Random(seed)
    draw = np.random.default_rng(seed)
    communes, weights = _communes_by_population(gazetteer)
    chunk = 4096
    for start in range(0, count, chunk):
        picks = draw.choice(len(communes), size=min(chunk, count - start), p=weights)
        for offset, pick in enumerate(picks.tolist()):
            number = start + offset
            commune = communes[pick]
            zone_kind = rng.random()
            zone = [] if zone_kind < 0.6 else [commune.departement] if zone_kind < 0.9 else [commune.code_insee]
            yield {
                "source": SYNTHETIC_SOURCE,
                "id": f"{SYNTHETIC_PREFIX}{number:07d}",
                "structure_id": f"{SYNTHETIC_PREFIX}structure-{number // SERVICES_PER_STRUCTURE:07d}",
                "nom": f"{SYNTHETIC_NAME} Service n° {number} ({commune.nom})",
                "description": SYNTHETIC_DESCRIPTION,
                "thematiques": rng.sample(list(themes), k=min(len(themes), rng.randint(1, 2))),
                "zone_eligibilite": zone,
                "commune": commune.nom,
                "code_insee": commune.code_insee,
                "code_postal": (commune.codes_postaux or (None,))[0],
                "latitude": round(commune.latitude + rng.uniform(-JITTER_DEG, JITTER_DEG), 6),
                "longitude": round(commune.longitude + rng.uniform(-JITTER_DEG, JITTER_DEG), 6),
            }


def content_themes() -> list[str]:
    """The data·inclusion themes of the edited services (real theme names, nothing invented)."""
    from knowledge.content import default_content

    return sorted({t for s in default_content().services for t in s.thematiques})


def import_synthetic(url: str, count: int, progress: bool = False, gazetteer: Gazetteer | None = None) -> int:
    """Write `count` synthetic services into the measurement database at `url` (migrated first);
    refuses the assistant's database. Returns the number of services written."""
    from knowledge.datainclusion import import_data_inclusion
    from knowledge.db import database_url, make_engine, upgrade

    check_target(url, database_url())
    gazetteer = gazetteer or Gazetteer.load()
    engine = make_engine(url)
    try:
        upgrade(engine)
        services = synthetic_services(count, gazetteer, content_themes())
        report = import_data_inclusion(engine, [], services, gazetteer, progress=progress, total_services=count,
                                       allow_synthetic=True)
    finally:
        engine.dispose()
    if report.errors:
        raise ValueError(f"services synthétiques refusés : {report.errors[:3]}")
    return report.services

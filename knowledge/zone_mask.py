"""Which services a commune may use (data·inclusion `zone_eligibilite`), as a numpy mask: an
inverted index from each zone code to the services that list it, so that the zone check of
`knowledge.places.zone_contains` costs a few array unions instead of one Python call per service.

A service without zone is open to everyone. A zone code is read as `zone_contains` reads it:
"france" / "99100" (whole country), "region:32" (a région), else a commune, arrondissement,
département or EPCI code (upper case).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from knowledge.places import WHOLE_COUNTRY, region_code

if TYPE_CHECKING:
    from knowledge.gazetteer import Commune
    from knowledge.kb import ServiceRecord

WHOLE = "*"


def zone_key(raw: str) -> str:
    code = raw.strip()
    if code.lower() in WHOLE_COUNTRY:
        return WHOLE
    region = region_code(code)
    return f"region:{region}" if region is not None else code.upper()


def commune_keys(commune: Commune) -> list[str]:
    """The zone keys that contain the commune."""
    keys = [WHOLE, f"region:{commune.region}"]
    keys += [c for c in (commune.code_insee, commune.arrondissement_de, commune.departement, commune.epci) if c]
    return keys


class ZoneMask:
    def __init__(self, services: Sequence[ServiceRecord]) -> None:
        self._open = np.array([not s.zone_eligibilite for s in services], dtype=bool)
        by_key: dict[str, list[int]] = defaultdict(list)
        for position, service in enumerate(services):
            for key in {zone_key(code) for code in service.zone_eligibilite}:
                by_key[key].append(position)
        self._by_key = {k: np.array(v, dtype=np.intp) for k, v in by_key.items()}

    def for_commune(self, commune: Commune) -> np.ndarray:
        """True for every service whose zone contains the commune (or that has no zone)."""
        keep = self._open.copy()
        for key in commune_keys(commune):
            positions = self._by_key.get(key)
            if positions is not None:
                keep[positions] = True
        return keep

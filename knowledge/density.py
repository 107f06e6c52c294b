"""INSEE's communal density grid (7 levels), per commune: is a commune rural?

Data: knowledge/data/grille_densite.csv.gz, built by scripts/build_density.py from INSEE's
"grille communale de densité à 7 niveaux" (provenance and licence: knowledge/data/grille_densite.md).
Levels 5, 6 and 7 are rural ("Bourgs ruraux", "Rural à habitat dispersé", "Rural à habitat
très dispersé"); the Anah's prime de sortie de vacance requires one of them.
"""

from __future__ import annotations

import csv
import functools
import gzip
import io
from pathlib import Path

DENSITY_FILE = Path(__file__).resolve().parent / "data" / "grille_densite.csv.gz"

LEVEL_LABELS = {
    1: "Grands centres urbains",
    2: "Centres urbains intermédiaires",
    3: "Petites villes",
    4: "Ceintures urbaines",
    5: "Bourgs ruraux",
    6: "Rural à habitat dispersé",
    7: "Rural à habitat très dispersé",
}
RURAL_LEVELS = frozenset({5, 6, 7})


class DensityGrid:
    """Density level (1-7) by INSEE commune code."""

    def __init__(self, levels: dict[str, int]) -> None:
        self._levels = levels

    def __len__(self) -> int:
        return len(self._levels)

    def level(self, code_insee: str) -> int | None:
        return self._levels.get(code_insee)

    @staticmethod
    def label(level: int) -> str:
        return LEVEL_LABELS.get(level, str(level))

    @classmethod
    @functools.lru_cache(maxsize=2)
    def load(cls, path: Path = DENSITY_FILE) -> DensityGrid:
        with gzip.open(path, "rb") as fh:
            reader = csv.DictReader(io.TextIOWrapper(fh, encoding="utf-8"))
            return cls({row["code_insee"]: int(row["dens7"]) for row in reader})

"""INSEE's density grid imported into knowledge/data/: levels per commune, re-runnable build."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from knowledge.density import DENSITY_FILE, RURAL_LEVELS, DensityGrid

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("code", "level"),
    [("59350", 1), ("62443", 4), ("62002", 6), ("75056", 1), ("13055", 1), ("69123", 1)],
)
def test_levels(code: str, level: int) -> None:
    assert DensityGrid.load().level(code) == level


def test_counts() -> None:
    grid = DensityGrid.load()
    assert len(grid) == 34_875
    assert DensityGrid.label(5) == "Bourgs ruraux" and {5, 6, 7} == RURAL_LEVELS
    assert grid.level("00000") is None


def _build_script():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("build_density", ROOT / "scripts" / "build_density.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_build_is_reproducible(tmp_path: Path) -> None:
    build = _build_script()
    if not build.DEFAULT_SRC.exists():
        pytest.skip(f"source absente : {build.DEFAULT_SRC}")
    assert build.main(["--out", str(tmp_path)]) == 0
    assert (tmp_path / DENSITY_FILE.name).read_bytes() == DENSITY_FILE.read_bytes()


def test_build_reads_insee_columns(tmp_path: Path) -> None:
    """A newer INSEE file (CODGEO, DENS7) builds the same way."""
    src = tmp_path / "insee.csv"
    src.write_text("CODGEO,LIBGEO,DENS7\n62002,Ablainzevelle,6\n59350,Lille,1\n", encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    assert _build_script().main(["--src", str(src), "--out", str(out)]) == 0
    grid = DensityGrid.load.__wrapped__(DensityGrid, out / DENSITY_FILE.name)
    assert grid.level("62002") == 6 and grid.level("59350") == 1 and len(grid) == 2

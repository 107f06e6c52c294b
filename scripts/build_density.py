#!/usr/bin/env python3
"""Import INSEE's 7-level communal density grid into knowledge/data/grille_densite.csv.gz.

Input: the per-commune CSV of `../shared/data/grille-densite/` (see its README for provenance):
`densite_anct_superposeur.csv` (insee_com, lib_com, niveau_densite as a label) — the verbatim
ANCT extract — or `grille_densite_7_niveaux_communes.csv` (code_insee, dens7...). Labels are
mapped to INSEE codes 1-7 (5 Bourgs ruraux, 6 Rural à habitat dispersé, 7 Rural à habitat très
dispersé = rural). Re-run on a newer file:

    python scripts/build_density.py [--src DIR_OR_CSV] [--out knowledge/data]
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from knowledge.density import DENSITY_FILE, LEVEL_LABELS  # noqa: E402

#: ../shared/data/grille-densite beside the checkout (a worktree sits one level deeper)
DEFAULT_SRC = next(
    (
        p / "shared" / "data" / "grille-densite"
        for p in (ROOT.parent, ROOT.parent.parent)
        if (p / "shared" / "data" / "grille-densite").exists()
    ),
    ROOT.parent / "shared" / "data" / "grille-densite",
)
CODES = {label: level for level, label in LEVEL_LABELS.items()}


def read_rows(src: Path) -> list[tuple[str, int]]:
    """(INSEE code, level 1-7) per commune, from either file format."""
    if src.is_dir():
        verbatim = src / "densite_anct_superposeur.csv"
        src = verbatim if verbatim.exists() else src / "grille_densite_7_niveaux_communes.csv"
    with src.open(encoding="utf-8-sig", newline="") as fh:
        rows: list[tuple[str, int]] = []
        for row in csv.DictReader(fh):
            code = (row.get("insee_com") or row.get("code_insee") or row.get("CODGEO") or "").strip()
            raw = (row.get("dens7") or row.get("DENS7") or row.get("niveau_densite") or "").strip()
            level = int(raw) if raw.isdigit() else CODES.get(raw.split(" - ")[-1])
            if not code or level is None:
                raise SystemExit(f"{src}: ligne illisible {row}")
            rows.append((code, level))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", type=Path, default=DEFAULT_SRC)
    parser.add_argument("--out", type=Path, default=DENSITY_FILE.parent)
    args = parser.parse_args(argv)
    rows = sorted(read_rows(args.src))
    if len({code for code, _ in rows}) != len(rows):
        raise SystemExit("codes INSEE en double")
    out = args.out / DENSITY_FILE.name
    # mtime=0: the same input gives the same bytes (reviewable diffs)
    with open(out, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
        gz.write(b"code_insee,dens7\n")
        gz.write("".join(f"{code},{level}\n" for code, level in rows).encode())
    counts = Counter(level for _, level in rows)
    digest = hashlib.sha256(out.read_bytes()).hexdigest()[:16]
    print(f"{out}: {len(rows)} communes, niveaux {dict(sorted(counts.items()))}, sha256 {digest}…")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

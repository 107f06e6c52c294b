"""The knowledge base at run time: schemes and services loaded from the database.

The curated YAML content is synchronised into the database (`sync_content`) when it
changed; imported data·inclusion services live beside it. `KnowledgeBase.load()` then
reads everything once into memory for fast lookups.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, delete, or_, select, text

from knowledge.content import Content, default_content
from knowledge.db import MIGRATION_LOCK_ID, make_engine, session_scope, upgrade
from knowledge.gazetteer import Gazetteer, haversine_km
from knowledge.models import MetaRow, SchemeRow, ServiceRow, StructureRow
from knowledge.placedata import PLACE_ORIGIN, ensure_places, iter_directory_sources
from knowledge.placeindex import PlaceIndex
from knowledge.places import resolve_service_commune
from knowledge.schema import EmergencyNumber, Question, Scheme, Service

CURATED_SOURCE = "aiguillage"
#: a zone whose towns or intercommunalités lie further than this from their mean position has no centre
#: (of the curated zones, only HopHopFood's Lille, Amiens and Senlis, 85 km; the next is 44 km)
ZONE_SPREAD_KM = 60.0
CONTENT_HASH_KEY = "content_hash"


@dataclass
class ServiceRecord:
    """A service as the assistant uses it (curated or imported), data·inclusion field names."""

    source: str
    id: str
    nom: str
    structure_id: str
    structure_nom: str = ""
    description: str = ""
    thematiques: list[str] = field(default_factory=list)
    reseaux_porteurs: list[str] = field(default_factory=list)
    zone_eligibilite: list[str] = field(default_factory=list)
    publics: list[str] = field(default_factory=list)
    modes_accueil: list[str] = field(default_factory=list)
    adresse: str | None = None
    complement_adresse: str | None = None
    commune: str | None = None
    code_postal: str | None = None
    code_insee: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    coord_precision: str | None = None
    telephone: str | None = None
    courriel: str | None = None
    site_web: str | None = None
    horaires_accueil: str | None = None
    conditions_acces: str | None = None
    schemes: list[str] = field(default_factory=list)
    no_contact_door: str | None = None
    no_contact_door_en: str | None = None
    sources: list[dict[str, Any]] = field(default_factory=list)
    date_maj: str | None = None
    origin: str = "curated"
    #: who each contact is for (knowledge.contacts); a contact not listed is for residents
    contact_audience: dict[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.source}--{self.id}"

    @property
    def has_contact(self) -> bool:
        return bool(self.telephone or self.courriel or self.site_web)

    def to_data_inclusion(self) -> dict[str, Any]:
        data = {
            "source": self.source, "id": self.id, "structure_id": self.structure_id, "nom": self.nom,
            "description": self.description, "date_maj": self.date_maj, "thematiques": self.thematiques,
            "publics": self.publics, "modes_accueil": self.modes_accueil, "zone_eligibilite": self.zone_eligibilite,
            "adresse": self.adresse, "complement_adresse": self.complement_adresse, "commune": self.commune, "code_postal": self.code_postal,
            "code_insee": self.code_insee, "latitude": self.latitude, "longitude": self.longitude,
            "telephone": self.telephone, "courriel": self.courriel, "lien_mobilisation": self.site_web,
            "horaires_accueil": self.horaires_accueil, "conditions_acces": self.conditions_acces,
        }  # fmt: skip
        return data


def content_hash(content: Content, gazetteer: Gazetteer | None = None) -> str:
    """The fingerprint of what the sync writes: the content, and where the gazetteer places the
    services that have no coordinates of their own (a rebuilt gazetteer moves them)."""
    payload: dict[str, Any] = {
        "schemes": [s.model_dump(mode="json") for s in content.schemes],
        "services": [s.model_dump(mode="json") for s in content.services],
    }
    if gazetteer is not None:
        placed = (curated_service_data(s, gazetteer) for s in content.services if s.latitude is None)
        payload["placed"] = [[d.get("code_insee"), d.get("latitude"), d.get("longitude")] for d in placed]
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def curated_service_data(service: Service, gazetteer: Gazetteer) -> dict[str, Any]:
    """A curated service with its commune resolved and coordinates from the gazetteer."""
    data = service.model_dump(mode="json")
    commune = resolve_service_commune(service, gazetteer)
    if commune is not None:
        data["code_insee"] = commune.code_insee
        data["commune"] = commune.nom
        if not data.get("code_postal") and len(commune.codes_postaux) == 1:
            data["code_postal"] = commune.codes_postaux[0]
        if service.latitude is None or service.longitude is None:
            data["latitude"], data["longitude"] = commune.latitude, commune.longitude
            data["coord_precision"] = f"centre-commune-{commune.precision}"
        else:
            data["coord_precision"] = "adresse"
    elif service.latitude is None:
        centre = zone_centre(service.zone_eligibilite, gazetteer)
        if centre is not None:
            data["latitude"], data["longitude"] = centre
            data["coord_precision"] = "centre-zone"
    return data


def zone_centre(codes: list[str], gazetteer: Gazetteer) -> tuple[float, float] | None:
    """Mean position of the communes of a zone made of commune and EPCI codes (not départements:
    a département-wide service gets no position, so no misleading distance; nor a zone of towns far
    apart, ZONE_SPREAD_KM)."""
    wanted = {c for c in codes if len(c) in (5, 9)}
    if not wanted:
        return None
    by_code: dict[str, list[tuple[float, float]]] = {}
    for c in gazetteer:
        for code in {c.code_insee, c.epci} & wanted:
            by_code.setdefault(code, []).append((c.latitude, c.longitude))
    points = [p for code_points in by_code.values() for p in code_points]
    if not points:
        return None
    # Lille, Amiens and Senlis: their mean is near none of them, and hid HopHopFood from Lille (sc-041)
    parts = [_mean(code_points) for code_points in by_code.values()]
    if max(haversine_km(*_mean(parts), *p) for p in parts) > ZONE_SPREAD_KM:
        return None
    return _mean(points)


def _mean(points: list[tuple[float, float]]) -> tuple[float, float]:
    return sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points)


def sync_content(
    engine: Engine, content: Content | None = None, gazetteer: Gazetteer | None = None, force: bool = False
) -> bool:
    """Write the curated content into the database if it changed. Returns True if it wrote."""
    content = content or default_content()
    gazetteer = gazetteer or Gazetteer.load()
    digest = content_hash(content, gazetteer)
    with session_scope(engine) as session:
        if engine.dialect.name == "postgresql":  # one process syncs, the others then find it done
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_ID + 1})
        current = session.get(MetaRow, CONTENT_HASH_KEY)
        if current is not None and current.value == digest and not force:
            return False
        # The curated source's namespace belongs to the YAML: an imported copy of a curated service
        # (an export re-imported) is replaced too, else its key would clash with the curated row.
        session.execute(
            delete(ServiceRow).where(or_(ServiceRow.origin == "curated", ServiceRow.source == CURATED_SOURCE))
        )
        session.execute(delete(SchemeRow))
        session.flush()
        for scheme in content.schemes:
            session.add(
                SchemeRow(
                    id=scheme.id,
                    name=scheme.name,
                    verified=scheme.verified,
                    data=scheme.model_dump(mode="json"),
                )
            )
        resolved = [(service, curated_service_data(service, gazetteer)) for service in content.services]
        seen_structures: set[str] = set()
        with session.no_autoflush:
            for service, data in resolved:
                if service.structure_id in seen_structures:
                    continue
                seen_structures.add(service.structure_id)
                structure = session.get(StructureRow, (CURATED_SOURCE, service.structure_id)) or StructureRow(
                    source=CURATED_SOURCE, id=service.structure_id)
                structure.nom = service.structure_nom
                structure.commune = data.get("commune")
                structure.code_insee = data.get("code_insee")
                structure.date_maj = service.date_maj
                structure.data = {"nom": service.structure_nom, "commune": data.get("commune"),
                                  "code_insee": data.get("code_insee"), "reseaux_porteurs": service.reseaux_porteurs}
                session.add(structure)
        session.flush()
        for service, data in resolved:
            session.add(ServiceRow(
                source=CURATED_SOURCE, id=service.id, structure_id=service.structure_id, origin="curated",
                nom=service.nom, description=service.description, date_maj=service.date_maj,
                code_insee=data.get("code_insee"), code_postal=data.get("code_postal"),
                commune=data.get("commune"), latitude=data.get("latitude"), longitude=data.get("longitude"),
                coord_precision=data.get("coord_precision"), data=data,
            ))
        if current is None:
            session.add(MetaRow(key=CONTENT_HASH_KEY, value=digest))
        else:
            current.value = digest
    return True


def record_from_row(row: ServiceRow, structure_names: dict[tuple[str, str], str]) -> ServiceRecord:
    data = row.data or {}
    return ServiceRecord(
        source=row.source, id=row.id, nom=row.nom, structure_id=row.structure_id,
        structure_nom=data.get("structure_nom") or structure_names.get((row.source, row.structure_id), ""),
        description=row.description or "", thematiques=list(data.get("thematiques") or []),
        reseaux_porteurs=list(data.get("reseaux_porteurs") or []),
        zone_eligibilite=list(data.get("zone_eligibilite") or []), publics=list(data.get("publics") or []),
        modes_accueil=list(data.get("modes_accueil") or []), adresse=data.get("adresse"),
        complement_adresse=data.get("complement_adresse"),
        commune=row.commune, code_postal=row.code_postal, code_insee=row.code_insee,
        latitude=row.latitude, longitude=row.longitude, coord_precision=row.coord_precision,
        telephone=data.get("telephone"), courriel=data.get("courriel"),
        site_web=data.get("site_web") or data.get("lien_mobilisation"),
        horaires_accueil=data.get("horaires_accueil"), conditions_acces=data.get("conditions_acces"),
        schemes=list(data.get("schemes") or []), no_contact_door=data.get("no_contact_door"),
        no_contact_door_en=data.get("no_contact_door_en"),
        sources=list(data.get("sources") or []),
        date_maj=row.date_maj.isoformat() if isinstance(row.date_maj, dt.date) else None, origin=row.origin,
        contact_audience=dict(data.get("contact_audience") or {}),
    )  # fmt: skip


class KnowledgeBase:
    """Everything the assistant knows, in memory."""

    def __init__(
        self,
        schemes: list[Scheme],
        services: list[ServiceRecord],
        emergency: list[EmergencyNumber],
        questions: list[Question],
        gazetteer: Gazetteer,
        places: PlaceIndex | None = None,
    ) -> None:
        self.schemes = {s.id: s for s in schemes}
        self.services = services
        self.services_by_id = {s.id: s for s in services}
        self.emergency = emergency
        self.questions = questions
        self.gazetteer = gazetteer
        #: France Services and mairies (knowledge/content/places.yml), kept apart from `services`
        self.places = places or PlaceIndex.empty()
        for service in services:  # link schemes -> services both ways
            for scheme_id in service.schemes:
                scheme = self.schemes.get(scheme_id)
                if scheme is not None and service.id not in scheme.services:
                    scheme.services.append(service.id)

    @classmethod
    def from_database(
        cls, engine: Engine, content: Content | None = None, gazetteer: Gazetteer | None = None
    ) -> KnowledgeBase:
        content = content or default_content()
        gazetteer = gazetteer or Gazetteer.load()
        place_sources = list(iter_directory_sources())
        with session_scope(engine) as session:
            schemes = [Scheme.model_validate(row.data) for row in session.scalars(select(SchemeRow))]
            names = {
                (s.source, s.id): s.nom
                for s in session.scalars(select(StructureRow).where(StructureRow.source.notin_(place_sources)))
            }
            services = [
                record_from_row(r, names)
                for r in session.scalars(select(ServiceRow).where(ServiceRow.origin != PLACE_ORIGIN))
            ]
        places = PlaceIndex.from_database(engine)
        return cls(schemes, services, content.emergency, content.questions, gazetteer, places)

    @classmethod
    def load(cls, db_url: str | None = None) -> KnowledgeBase:
        """Open the database (migrating it), sync curated content if it changed, load it all."""
        engine = make_engine(db_url)
        upgrade(engine)
        sync_content(engine)
        ensure_places(engine)  # first start on a new database: the shipped directories (a few seconds)
        return cls.from_database(engine)

    def scheme(self, scheme_id: str) -> Scheme | None:
        return self.schemes.get(scheme_id)

    def services_for_scheme(self, scheme_id: str) -> list[ServiceRecord]:
        scheme = self.schemes.get(scheme_id)
        if scheme is None:
            return []
        return [self.services_by_id[s] for s in scheme.services if s in self.services_by_id]

"""Real places for a person: the mairie of their commune, the nearest France Services, and how a
place is worded (address, phone, email, today's hours, distance, date of the data).

Functions the actions (and the orientation) call; the knowledge is in `kb.places`
(`knowledge/placeindex.py`) and the directories' settings in `knowledge/content/places.yml`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.dialogue.responses import current_language, say
from knowledge.gazetteer import Commune
from knowledge.hours import english_date, french_date, today_text
from knowledge.kb import KnowledgeBase, ServiceRecord
from knowledge.placedata import Directory, directories, directory_of_source, source_to_confirm
from knowledge.search import NearbyService
from knowledge.textnorm import fold

#: a France Services further than this is not "near" (the person is told the distance anyway)
FRANCE_SERVICES_MAX_KM = 60.0
#: the networks of the doors anyone can push (door_places), not of a specialised place
DOOR_NETWORKS = frozenset({"france-service", "communes"})


def _directory(directory_id: str) -> Directory:
    return directories()[directory_id]


def person_point(kb: KnowledgeBase, slots: dict[str, Any], commune: Commune | None) -> tuple[float, float] | None:
    lat, lon = slots.get("location_lat"), slots.get("location_lon")
    if lat is not None and lon is not None:
        return float(lat), float(lon)
    if commune is not None:
        return commune.latitude, commune.longitude
    return None


def distance_km(record: ServiceRecord, point: tuple[float, float] | None) -> float | None:
    """How far a place is from the person's point, or None when either has no position."""
    if point is None or record.latitude is None or record.longitude is None:
        return None
    from knowledge.gazetteer import haversine_km

    return haversine_km(point[0], point[1], record.latitude, record.longitude)


def distance_text(km: float | None) -> str:
    """« , à environ 11 km » (at least 1 km), or nothing when the distance is unknown."""
    return say("place_distance", km=max(1, round(km))) if km is not None else ""


def mairie_of(kb: KnowledgeBase, commune: Commune | None, point: tuple[float, float] | None = None) -> NearbyService | None:
    """The mairie of the person's commune (Paris: of the arrondissement when known), with distance."""
    if commune is None:
        return None
    source = _directory("mairies").source
    for code in (commune.code_insee, commune.arrondissement_de):
        if not code:
            continue
        found = kb.places.in_commune(source, code)
        if found:
            return NearbyService(found[0], distance_km(found[0], point))
    return None


def nearest_france_services(
    kb: KnowledgeBase, point: tuple[float, float] | None, limit: int = 1, max_km: float = FRANCE_SERVICES_MAX_KM
) -> list[NearbyService]:
    if point is None:
        return []
    source = _directory("france-services").source
    return [NearbyService(r, d) for r, d in kb.places.nearest(source, point[0], point[1], limit, max_km)]


def door_places(
    kb: KnowledgeBase, slots: dict[str, Any], commune: Commune | None, france_services: int = 1
) -> list[NearbyService]:
    """The doors anyone can push: the mairie of the commune, then the nearest France Services."""
    point = person_point(kb, slots, commune)
    if commune is None and point is not None:
        commune = kb.gazetteer.nearest(*point)
    doors: list[NearbyService] = []
    mairie = mairie_of(kb, commune, point)
    if mairie is not None:
        doors.append(mairie)
    doors += nearest_france_services(kb, point, limit=france_services)
    return doors


#: how far a place that serves its whole département (the MDPH) is looked for; whether it serves the
#: person is its département's to say (actions.common.serves_commune)
DEPARTEMENT_KM = 150.0


def specialised_places(kb: KnowledgeBase, networks: set[str], point: tuple[float, float] | None,
                       max_km: float, limit: int = 1) -> list[NearbyService]:
    """The nearest places of the directories of these networks (a mission locale, a CIDFF, the MDPH),
    besides the doors anyone can push."""
    if point is None:
        return []
    wanted = [d for d in directories().values() if d.reseau in networks and d.reseau not in DOOR_NETWORKS]
    found: list[NearbyService] = []
    for d in wanted:  # a neighbouring département's MDPH may be nearer than one's own: a few, the zone chooses
        count, km = (max(limit, 4), DEPARTEMENT_KM) if d.serves_departement else (limit, max_km)
        found += [NearbyService(r, dist) for r, dist in kb.places.nearest(d.source, point[0], point[1], count, km)]
    return found


def data_date(service: ServiceRecord) -> str | None:
    """"données du 1er août 2024" for a directory place or an imported service; None for curated
    content (its sources and their dates are in the content files)."""
    if not service.date_maj or service.origin == "curated":
        return None
    directory = directory_of_source(service.source)
    precision = directory.date_precision if directory else "day"
    day = dt.date.fromisoformat(service.date_maj)
    if current_language() == "en":  # « data of October 2026 »
        text = say("place_data_date", date=english_date(day, precision))
    elif precision == "month":
        month = french_date(day, precision)
        text = say("place_data_date_month", de_date=("d'" if month[0] in "aeiou" else "de ") + month)
    else:
        text = say("place_data_date", date=french_date(day, precision))
    # old data (the 2019 directory): its contacts may have changed since
    return text + say("place_data_to_confirm") if directory and directory.to_confirm else text


def from_old_directory(service: ServiceRecord) -> bool:
    """A place of a directory whose contacts are to be confirmed (the 2019 directory)."""
    return service.origin != "curated" and source_to_confirm(service.source)


def stale_note(service: ServiceRecord) -> str:
    """« (data of August 2019, to be confirmed) » for a place of an old directory (said even where the
    hours and dates are not: the English line), else nothing."""
    date = data_date(service) if from_old_directory(service) else None
    return f" ({date})" if date else ""


def address_text(service: ServiceRecord) -> str | None:
    """"49 place du Général de Gaulle, 62300 Lens" (None without a street address)."""
    if not service.adresse:
        return None
    street = service.adresse + (f" ({service.complement_adresse})" if service.complement_adresse else "")
    town = " ".join(p for p in (service.code_postal, service.commune) if p)
    return f"{street}, {town}" if town else street


def hours_text(service: ServiceRecord, today: dt.date | None = None) -> str | None:
    return today_text(service.horaires_accueil, today)


def details_text(service: ServiceRecord, today: dt.date | None = None) -> str:
    """" Ouvert aujourd'hui 9 h–12 h. Données du 1er août 2024." (empty when nothing is known)."""
    parts = []
    hours = hours_text(service, today)
    if hours:
        parts.append(hours[0].upper() + hours[1:] + ".")
    date = data_date(service)
    if date:
        parts.append(date[0].upper() + date[1:] + ".")
    return (" " + " ".join(parts)) if parts else ""


def door_mentions(door: str | None, directory_id: str) -> bool:
    """Whether a curated service's door ("le CCAS de votre commune") names this kind of place
    (cues: `door_cues` of the directory in places.yml)."""
    if not door:
        return False
    text = f" {fold(door)} "
    return any(f" {fold(cue)} " in text for cue in _directory(directory_id).door_cues)

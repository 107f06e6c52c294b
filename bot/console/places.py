"""Places for the console: the nearest ones for a scheme and a commune, as plain dicts for templates.

Every value comes from the knowledge base (curated services, France Services and mairies
directories): address, contacts for the chosen audience, hours of the coming week, distance,
and where the data comes from with its date.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from actions.common import get_kb, pick_services, zone_label
from actions.places import address_text, data_date, door_places
from knowledge.contacts import contacts_for
from knowledge.gazetteer import Commune
from knowledge.hours import french_slots, hours_on
from knowledge.kb import ServiceRecord
from knowledge.schema import Audience
from knowledge.search import NearbyService

DAY_NAMES = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")


def week_hours(osm: str | None, today: dt.date | None = None) -> list[str]:
    """["lundi : 9 h–12 h", "mardi : fermé", ...] for the 7 coming days; [] when unknown."""
    start = today or dt.date.today()
    lines = []
    for offset in range(7):
        day = start + dt.timedelta(days=offset)
        hours = hours_on(osm, day)
        if hours is None:
            return []
        lines.append(f"{DAY_NAMES[day.weekday()]} : {french_slots(hours) if hours.open else 'fermé'}")
    return lines


def place_card(near: NearbyService, audience: Audience = Audience.residents, today: dt.date | None = None) -> dict[str, Any]:
    service: ServiceRecord = near.service
    sources = [s.get("url") or s.get("title") or s.get("seed") for s in service.sources]
    return {
        "key": service.key,
        "name": service.nom,
        "structure": service.structure_nom if service.structure_nom != service.nom else "",
        "address": address_text(service) or service.commune or zone_label(service.zone_eligibilite),
        "distance_km": None if near.distance_km is None else round(near.distance_km, 1),
        "contacts": contacts_for(service, audience),
        "no_contact_door": service.no_contact_door,
        "hours": week_hours(service.horaires_accueil, today),
        "data_date": data_date(service),
        "updated": service.date_maj,
        "sources": [s for s in sources if s],
    }


def places_for_scheme(
    scheme_id: str, commune: Commune | None, limit: int = 4, audience: Audience = Audience.residents
) -> list[dict[str, Any]]:
    """The services carrying (or fit for) the scheme nearest to the commune, then its doors
    (mairie, nearest France Services); without a commune, the services that carry it."""
    kb = get_kb()
    if commune is None:
        nearby = [NearbyService(s, None) for s in kb.services_for_scheme(scheme_id)][:limit]
    else:
        picked = pick_services({"commune": commune.code_insee}, [scheme_id], None, limit=limit).nearby
        # the places that carry the scheme (a theme in common is not enough here), then the doors
        nearby = [n for n in picked if scheme_id in n.service.schemes]
        nearby += door_places(kb, {}, commune)
    cards, seen = [], set()
    for near in nearby:
        if near.service.key in seen:
            continue
        seen.add(near.service.key)
        cards.append(place_card(near, audience))
    return cards

"""Place helpers on top of the gazetteer: distances, data·inclusion zones, service communes.

Zone codes follow data·inclusion v1 `zone_eligibilite`: commune INSEE codes (5 characters),
département codes ("62", "2A", "974"), EPCI SIREN codes (9 digits), or "france" / "99100"
(the whole country). Région codes are accepted too, written "region:32" (or "reg:32"),
because bare région codes ("32", "11", "75"...) are also département codes.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from knowledge.gazetteer import Commune, Gazetteer, haversine_km, place_key

if TYPE_CHECKING:
    from knowledge.schema import Service

__all__ = ["haversine_km", "region_code", "resolve_service_commune", "valid_zone_code", "zone_contains"]

WHOLE_COUNTRY = frozenset({"france", "99100"})
_REGION_PREFIX = re.compile(r"^(?:region|reg)[:\-](\w+)$", re.IGNORECASE)
_EPCI = re.compile(r"^\d{9}$")
_COMMUNE = re.compile(r"^(?:\d{5}|2[AB]\d{3})$", re.IGNORECASE)


def region_code(code: str) -> str | None:
    """ "region:32" -> "32"; None when the code is not written as a région."""
    match = _REGION_PREFIX.match(code.strip())
    return match.group(1) if match else None


def valid_zone_code(code: str, gaz: Gazetteer) -> bool:
    """Whether `code` names a known zone: commune, département, EPCI, région ("region:32") or France."""
    code = code.strip()
    if code.lower() in WHOLE_COUNTRY:
        return True
    region = region_code(code)
    if region is not None:
        return gaz.region_name(region) is not None
    if _EPCI.match(code):
        return gaz.epci_name(code) is not None
    if _COMMUNE.match(code):
        return gaz.get(code) is not None
    return gaz.departement_name(code) is not None


def zone_contains(codes: list[str], commune: Commune) -> bool:
    """Whether the commune lies in the zone (any of the codes). An arrondissement (Paris 11e) is in
    the zones of its city (75056); a city is not in a zone listing only one of its arrondissements."""
    for raw in codes:
        code = raw.strip()
        if code.lower() in WHOLE_COUNTRY:
            return True
        region = region_code(code)
        if region is not None:
            if region == commune.region:
                return True
            continue
        code = code.upper()
        if code in (commune.code_insee, commune.arrondissement_de, commune.departement, commune.epci):
            return True
    return False


def resolve_service_commune(service: Service, gaz: Gazetteer) -> Commune | None:
    """The commune of a service: its INSEE code, else postal code (+ commune name), else the commune
    name within `service.departement`; None when none of these resolves (coordinates are not used,
    so that a wrong name is reported rather than hidden)."""
    if service.code_insee:
        found = gaz.get(service.code_insee)
        if found is not None:
            return found
    if service.code_postal:
        candidates = gaz.by_postal_code(service.code_postal)
        if candidates and service.commune:
            named = _named(candidates, service.commune)
            if named is not None:
                return named
        if len(candidates) == 1 or (candidates and not service.commune):
            return candidates[0]
    if service.commune:
        found = gaz.resolve(service.commune, departement=service.departement)
        if found is not None:
            return found
    return None


def _named(candidates: list[Commune], name: str) -> Commune | None:
    """The candidate called `name` (folded), or whose name starts with it ("Boulogne")."""
    key = place_key(name)
    for commune in candidates:
        if place_key(commune.nom) == key:
            return commune
    for commune in candidates:
        if place_key(commune.nom).startswith(key + " "):
            return commune
    return None

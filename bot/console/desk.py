"""The desk search: free text and commune over schemes and places, with filters.

Reuses the knowledge base's typo-tolerant search (`ServiceSearch.search`, synonyms of
knowledge/content/search.yml). Filters: theme (top-level data·inclusion theme), public,
free of charge (the scheme or place says « gratuit » in the knowledge base), distance.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from actions.common import get_kb, search
from bot.console.places import place_card
from knowledge.contacts import contacts_for
from knowledge.gazetteer import Commune
from knowledge.schema import Audience, Conditions, Scheme
from knowledge.search import NearbyService
from knowledge.textnorm import fold

#: data·inclusion top-level themes, in French
THEMES = {
    "acces-aux-droits-et-citoyennete": "Accès aux droits",
    "accompagnement-social-et-professionnel-personnalise": "Accompagnement social et professionnel",
    "equipement-et-alimentation": "Équipement et alimentation",
    "famille": "Famille",
    "gestion-financiere": "Argent, budget",
    "handicap": "Handicap",
    "illettrisme": "Illettrisme",
    "logement-hebergement": "Logement, hébergement",
    "mobilite": "Mobilité",
    "numerique": "Numérique",
    "remobilisation": "Remobilisation",
    "sante": "Santé",
    "se-former": "Se former",
    "trouver-un-emploi": "Trouver un emploi",
}
#: the publics the filter offers, and the data·inclusion `publics` of places that match each
PUBLICS = {
    "jeunes": ("Jeunes", {"jeunes", "etudiants"}),
    "familles": ("Familles, enfants", {"familles-enfants"}),
    "seniors": ("Seniors", {"seniors", "seniors-65"}),
    "handicap": ("Personnes en situation de handicap", {"personnes-en-situation-de-handicap"}),
}
FREE_WORD = "gratuit"
#: a place matched by its words below this score (a fuzzy match of a typo) is shown only when nothing else is
STRONG_PLACE_SCORE = 70.0


@dataclass
class DeskQuery:
    text: str = ""
    commune: Commune | None = None
    theme: str | None = None
    public: str | None = None
    free: bool = False
    max_km: float | None = None


def scheme_publics(cond: Conditions) -> set[str]:
    """Which filter publics a scheme's machine conditions target (none: everyone)."""
    out: set[str] = set()
    if cond.age is not None and cond.age.max is not None and cond.age.max <= 30:
        out.add("jeunes")
    if cond.age is not None and cond.age.min is not None and cond.age.min >= 60:
        out.add("seniors")
    if cond.children is not None or cond.pregnant:
        out.add("familles")
    for group in cond.any_of or []:
        out |= scheme_publics(group)
    return out


def scheme_is_free(scheme: Scheme) -> bool:
    return FREE_WORD in fold(" ".join([scheme.summary, scheme.amount or "", scheme.description]))


def _scheme_fits(scheme: Scheme, query: DeskQuery) -> bool:
    if query.theme and not any(t.split("--")[0] == query.theme for t in scheme.themes):
        return False
    if query.public and query.public not in scheme_publics(scheme.conditions) and scheme_publics(scheme.conditions):
        return False
    return not (query.free and not scheme_is_free(scheme))


def _place_fits(near: NearbyService, query: DeskQuery) -> bool:
    service = near.service
    if query.theme and service.thematiques and not any(t.split("--")[0] == query.theme for t in service.thematiques):
        return False
    publics = set(service.publics)
    if query.public and publics and "tous-publics" not in publics and not publics & PUBLICS[query.public][1]:
        return False
    if query.free and FREE_WORD not in fold(f"{service.description} {service.conditions_acces or ''}"):
        return False
    return not (query.max_km is not None and (near.distance_km is None or near.distance_km > query.max_km))


def _unique_places(places: list[NearbyService]) -> list[NearbyService]:
    seen: set[str] = set()
    out = []
    for near in places:
        if near.service.key not in seen:
            seen.add(near.service.key)
            out.append(near)
    return out


def scheme_card(scheme: Scheme) -> dict[str, Any]:
    return {
        "id": scheme.id,
        "name": scheme.name,
        "summary": scheme.summary,
        "themes": sorted({THEMES.get(t.split("--")[0], t.split("--")[0]) for t in scheme.themes}),
        "scope": scheme.scope,
        "free": scheme_is_free(scheme),
        "url": f"/pro/dispositifs/{scheme.id}",
    }


def run(query: DeskQuery, limit: int = 20) -> dict[str, Any]:
    """{commune, schemes: [...], places: [...]} for the desk page (JSON)."""
    kb = get_kb()
    themes = [query.theme] if query.theme else None
    text, commune = query.text.strip(), query.commune
    schemes: list[Scheme] = []
    places: list[NearbyService] = []
    if text:
        weak: list[NearbyService] = []
        for hit in search().search(text, commune=commune, themes=themes, limit=limit * 2):
            if hit.kind == "scheme":
                schemes.append(kb.schemes[hit.id])
                continue
            record = hit.record or kb.services_by_id.get(hit.id)
            if record is not None:
                (places if hit.score >= STRONG_PLACE_SCORE else weak).append(NearbyService(record, hit.distance_km))
        if commune is None:  # a commune named in the text ("surendettement Amiens")
            commune = search().place_in_query(text)[1]
        # the places that carry the schemes found come first; else the doors of the commune (mairie,
        # France Services); a weak fuzzy match of the words only when there is no commune either
        carriers = search().nearest(commune=commune, scheme_ids=[s.id for s in schemes[:3]], limit=limit) if schemes else []
        doors = [NearbyService(h.record, h.distance_km) for h in search().door_hits(commune) if h.record] if commune else []
        places = _unique_places(carriers + places) or doors or weak
    else:
        schemes = sorted(kb.schemes.values(), key=lambda s: fold(s.name))
        if commune is not None:
            places = search().nearest(commune=commune, themes=themes, limit=limit * 2, max_km=query.max_km)
    cards = [scheme_card(s) for s in schemes if _scheme_fits(s, query)]
    place_cards = [place_card(p, Audience.professionals) for p in places if _place_fits(p, query)][:limit]
    for card, near in zip(place_cards, [p for p in places if _place_fits(p, query)], strict=False):
        card["schemes"] = [{"id": s, "name": kb.schemes[s].name} for s in near.service.schemes if s in kb.schemes]
        card["contacts"] = contacts_for(near.service, Audience.professionals)
    return {
        "commune": None if commune is None else {"code": commune.code_insee, "name": commune.nom},
        "schemes": cards[:limit] if text else cards,
        "places": place_cards,
    }

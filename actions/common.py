"""Shared glue for the actions: the knowledge base, facts from slots, service selection and wording."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import yaml

from bot.dialogue.responses import say
from knowledge.content import CONTENT_DIR
from knowledge.eligibility import EligibilityEngine, SchemeResult, Status
from knowledge.facts import FACT_NAMES
from knowledge.gazetteer import Commune
from knowledge.kb import KnowledgeBase, ServiceRecord
from knowledge.schema import Scheme
from knowledge.search import NearbyService, ServiceSearch

COVERED_REGIONS = {"32": "Hauts-de-France", "11": "Île-de-France"}
FAR_KM = 40.0
_kb: KnowledgeBase | None = None


def set_kb(kb: KnowledgeBase) -> None:
    """The engine injects its knowledge base; the Rasa action server loads the default one."""
    global _kb
    _kb = kb
    _search_for.cache_clear()


def get_kb() -> KnowledgeBase:
    global _kb
    if _kb is None:
        _kb = KnowledgeBase.load()
    return _kb


@lru_cache(maxsize=4)
def _search_for(kb_id: int) -> ServiceSearch:
    return ServiceSearch(get_kb())


def search() -> ServiceSearch:
    return _search_for(id(get_kb()))


@lru_cache(maxsize=1)
def needs_catalogue() -> dict[str, dict[str, Any]]:
    data = yaml.safe_load((CONTENT_DIR / "needs.yml").read_text(encoding="utf-8"))
    return {item["id"]: item for item in data["needs"] + data["service_types"]}


def facts_from_slots(slots: dict[str, Any]) -> dict[str, Any]:
    return {name: slots[name] for name in FACT_NAMES if slots.get(name) is not None}


def commune_of(slots: dict[str, Any]) -> Commune | None:
    code = slots.get("commune")
    return get_kb().gazetteer.get(code) if code else None


def schemes_for_need(need_id: str | None) -> list[Scheme]:
    """Schemes whose themes meet the need's themes (the need catalogue is data)."""
    if not need_id:
        return []
    need = needs_catalogue().get(need_id)
    if not need:
        return []
    wanted = set(need.get("themes", []))
    out = []
    for scheme in get_kb().schemes.values():
        if any(
            t in wanted or any(t.startswith(w + "--") or w.startswith(t + "--") for w in wanted)
            for t in scheme.themes
        ):
            out.append(scheme)
    return out


def evaluate(scheme_ids: list[str], slots: dict[str, Any]) -> list[SchemeResult]:
    kb = get_kb()
    engine = EligibilityEngine(kb.gazetteer)
    facts = facts_from_slots(slots)
    return [engine.evaluate(kb.schemes[s], facts) for s in scheme_ids if s in kb.schemes]


def rank_results(results: list[SchemeResult]) -> list[SchemeResult]:
    order = {Status.eligible: 0, Status.to_check: 1, Status.not_eligible: 2}
    return sorted(results, key=lambda r: (order[r.status], len(r.missing)))


@dataclass
class ServicePick:
    nearby: list[NearbyService]
    far: bool


def pick_services(
    slots: dict[str, Any],
    scheme_ids: list[str],
    need_id: str | None,
    service_type: str | None = None,
    limit: int = 3,
) -> ServicePick:
    """The nearest relevant services: those carrying the schemes, then the need's themes/networks."""
    kb = get_kb()
    commune = commune_of(slots)
    lat, lon = slots.get("location_lat"), slots.get("location_lon")
    if lat is None and commune is not None:
        lat, lon = commune.latitude, commune.longitude
    if lat is None:
        return ServicePick([], False)
    finder = search()
    picked: dict[str, NearbyService] = {}
    queries: list[dict[str, Any]] = []
    if service_type:
        item = needs_catalogue().get(service_type, {})
        queries.append({"networks": item.get("networks"), "themes": item.get("themes")})
    if scheme_ids:
        queries.append({"scheme_ids": scheme_ids})
        doors = [d for s in scheme_ids if s in kb.schemes for d in kb.schemes[s].where_to_go]
        if doors:
            queries.append({"networks": doors})
    if need_id and need_id in needs_catalogue():
        item = needs_catalogue()[need_id]
        queries.append({"themes": item.get("themes"), "networks": item.get("networks")})
    for query in queries:
        for near in finder.nearest(lat=lat, lon=lon, commune=commune, limit=limit, **query):
            if near.distance_km is not None and near.distance_km > 80:
                continue
            picked.setdefault(near.service.id, near)
        if len(picked) >= limit:
            break
    nearby = sorted(picked.values(), key=lambda n: (n.distance_km is None, n.distance_km or 0))[:limit]
    far = bool(nearby) and all(n.distance_km is None or n.distance_km > FAR_KM for n in nearby)
    return ServicePick(nearby, far)


def contact_text(service: ServiceRecord) -> str:
    parts = []
    if service.telephone:
        parts.append(f"Tél. {service.telephone}")
    if service.courriel:
        parts.append(service.courriel)
    if service.site_web:
        parts.append(service.site_web)
    if parts:
        return " · ".join(parts)
    return say("service_no_contact", door=service.no_contact_door or "la mairie ou le CCAS de votre commune")


def service_line(near: NearbyService) -> str:
    service = near.service
    distance = f", à environ {max(1, round(near.distance_km))} km" if near.distance_km is not None else ""
    where = service.commune or "secteur"
    return say("service_line", nom=service.nom, where=where, distance=distance, contact=contact_text(service))


def service_links(services: list[NearbyService]) -> list[dict[str, str]]:
    """Links the widget may render: only contacts copied from the knowledge base."""
    links = []
    for near in services:
        s = near.service
        if s.site_web:
            links.append({"title": s.nom, "url": s.site_web})
    return links


def outside_region(commune: Commune | None) -> bool:
    return commune is not None and commune.region not in COVERED_REGIONS


def first_sentence(text: str) -> str:
    text = text.strip()
    for sep in (". ", " ; "):
        if sep in text:
            return text.split(sep)[0].rstrip(".") + "."
    return text

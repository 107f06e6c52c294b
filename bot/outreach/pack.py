"""The screening pack: everything the ambassadeurs' page needs to screen someone offline.

Generated from the knowledge base for the ambassadeur's commune, never typed by hand: the
questions (third person, with their buttons), the schemes offered in the commune's département
with their machine conditions exactly as the knowledge base states them, and the places of the
département with their contacts for residents, nearest first.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from actions.common import get_kb
from actions.orientation import fact_label
from actions.places import nearest_france_services
from actions.question import SCREENING_SKIP
from bot.console.places import place_card
from knowledge.gazetteer import Commune, haversine_km
from knowledge.kb import KnowledgeBase
from knowledge.schema import Scheme, Zone
from knowledge.search import NearbyService

#: at most this many questions before the result card
MAX_QUESTIONS = 8
#: facts the page never asks: the commune is the ambassadeur's, a vacant dwelling is not a street question
NOT_ASKED = {"commune", "vacant_dwelling_commune", "vacant_dwelling_years", *SCREENING_SKIP}
FRANCE_SERVICES_IN_PACK = 5
CURATED_PLACES_IN_PACK = 40


def zone_coverage(zone: Zone | None, commune: Commune, kb: KnowledgeBase) -> str:
    """Where the scheme is offered: "all" everywhere in the département; "part": only in some of its
    communes (the page says « à vérifier »); "none": not in this département."""
    if zone is None or commune.departement in zone.departements or commune.region in zone.regions:
        return "all"
    in_departement = [c for c in kb.gazetteer if c.departement == commune.departement]
    if any(
        c.code_insee in zone.communes or (c.epci is not None and c.epci in zone.epcis) for c in in_departement
    ):
        return "part"
    return "none"


def scheme_entry(scheme: Scheme, coverage: str) -> dict[str, Any]:
    return {
        "id": scheme.id,
        "name": scheme.name,
        "summary": scheme.summary,
        "engine": scheme.engine,
        "conditions": scheme.conditions.model_dump(mode="json", exclude_none=True),
        "conditions_text": list(scheme.conditions_text),
        "zone_coverage": coverage,
        "amount": scheme.amount,
        "first_step": scheme.steps[0],
        "sources": [s.url for s in scheme.sources if getattr(s, "url", None)],
        "verified": scheme.verified.isoformat(),
    }


def question_entry(question: Any, order: int) -> dict[str, Any]:
    return {
        "fact": question.fact,
        "text": question.text_other or question.text,
        "parser": question.parser,
        "cost": question.cost,
        "order": order,
        "why": question.why,
        "options": [{"title": o.title, "value": o.value} for o in question.options],
    }


def place_entries(kb: KnowledgeBase, commune: Commune) -> list[dict[str, Any]]:
    """Curated places of the département (with the schemes they carry), then the nearest France
    Services; nearest first, with their contacts for residents."""
    nearby: list[NearbyService] = []
    for service in kb.services:
        in_departement = (service.code_insee or "").startswith(commune.departement)
        if not in_departement or not service.schemes or not service.has_contact:
            continue
        distance = None
        if service.latitude is not None and service.longitude is not None:
            distance = haversine_km(commune.latitude, commune.longitude, service.latitude, service.longitude)
        nearby.append(NearbyService(service, distance))
    nearby.sort(key=lambda n: (n.distance_km is None, n.distance_km or 0.0))
    nearby = nearby[:CURATED_PLACES_IN_PACK]
    doors = nearest_france_services(kb, (commune.latitude, commune.longitude), limit=FRANCE_SERVICES_IN_PACK)
    places = []
    for near, door in [*((n, False) for n in nearby), *((n, True) for n in doors)]:
        card = place_card(near)
        card["schemes"] = list(near.service.schemes)
        card["door"] = door  # a France Services: a door anyone can push
        places.append(card)
    return places


def build_pack(
    commune: Commune, kb: KnowledgeBase | None = None, structures: list[tuple[int, str]] | None = None
) -> dict[str, Any]:
    """The pack for an ambassadeur working in `commune` (its département's schemes and places, and
    the console's structures of the département that receive referrals: id and name only)."""
    kb = kb or get_kb()
    commune = kb.gazetteer.commune_of(commune)
    schemes = []
    for scheme in kb.schemes.values():
        coverage = zone_coverage(scheme.conditions.zone, commune, kb)
        if coverage != "none":
            schemes.append(scheme_entry(scheme, coverage))
    questions = [question_entry(q, i) for i, q in enumerate(kb.questions) if q.fact not in NOT_ASKED]
    asked = {q["fact"] for q in questions}
    pack: dict[str, Any] = {
        "max_questions": MAX_QUESTIONS,
        "commune": {
            "code": commune.code_insee,
            "nom": commune.nom,
            "departement": commune.departement,
            "departement_nom": kb.gazetteer.departement_name(commune.departement),
            "region": commune.region,
        },
        "questions": questions,
        "fact_labels": {fact: fact_label(fact, third_person=True) for fact in sorted(asked | {"commune"})},
        "schemes": schemes,
        "places": place_entries(kb, commune),
        "structures": [{"id": id_, "name": name} for id_, name in structures or []],
    }
    body = json.dumps(pack, ensure_ascii=False, sort_keys=True)
    pack["version"] = hashlib.sha256(body.encode()).hexdigest()[:12]
    pack["generated"] = dt.date.today().isoformat()
    return pack

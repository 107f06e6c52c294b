"""The scheme sheet of the console: everything the knowledge base holds about one scheme."""

from __future__ import annotations

from typing import Any

from actions.answer import describe_conditions
from actions.common import get_kb
from bot.console.desk import THEMES, scheme_is_free
from bot.console.places import places_for_scheme
from knowledge.contacts import scheme_contacts_for
from knowledge.gazetteer import Commune
from knowledge.hours import french_date
from knowledge.schema import Audience, Scheme

SCOPES = {"national": "national", "regional": "régional", "departemental": "départemental", "local": "local"}


def documents_of(scheme: Scheme) -> list[str]:
    """Documents to bring, when the knowledge base lists them (empty: not listed)."""
    return [str(d) for d in (getattr(scheme, "documents", None) or [])]


def source_items(scheme: Scheme) -> list[dict[str, str | None]]:
    out: list[dict[str, str | None]] = []
    for source in scheme.sources:
        if source.url:
            out.append({"label": source.title or source.url, "url": source.url, "quote": None})
        else:
            out.append({"label": f"Document source {source.seed}", "url": None, "quote": source.quote})
    return out


def scheme_sheet(scheme: Scheme, commune: Commune | None) -> dict[str, Any]:
    """Summary, conditions (checked by the assistant or not), amount, documents, steps, places,
    contacts named by the scheme (all audiences: the reader is an agent), sources and dates."""
    return {
        "id": scheme.id,
        "name": scheme.name,
        "summary": scheme.summary,
        "description": scheme.description,
        "scope": SCOPES[scheme.scope],
        "themes": sorted({THEMES.get(t.split("--")[0], t.split("--")[0]) for t in scheme.themes}),
        "conditions_checked": describe_conditions(scheme.conditions),
        "local_check": scheme.conditions.local_check,
        "conditions_text": list(scheme.conditions_text),
        "amount": scheme.amount,
        "computed": scheme.engine == "openfisca",
        "free": scheme_is_free(scheme),
        "documents": documents_of(scheme),
        "steps": list(scheme.steps),
        "status_note": scheme.status_note,
        "contacts": [c.model_dump() for c in scheme_contacts_for(scheme, Audience.professionals)],
        "places": places_for_scheme(scheme.id, commune, audience=Audience.professionals),
        "commune": None if commune is None else commune.nom,
        "sources": source_items(scheme),
        "verified": french_date(scheme.verified),
        "verified_iso": scheme.verified.isoformat(),
    }


def find_scheme(scheme_id: str) -> Scheme | None:
    return get_kb().schemes.get(scheme_id)

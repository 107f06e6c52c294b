"""The orientation sheet for the person: chosen schemes, why, steps, documents, places with
contacts; and its short texts (SMS of at most 480 characters, email). Built from the form's
fields at each request: nothing about the person is stored."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from actions.common import get_kb
from bot.console.places import places_for_scheme
from bot.console.sheet import documents_of
from bot.console.situation import evaluate_situation, result_row
from knowledge.hours import french_date
from knowledge.schema import Audience

SMS_MAX_CHARS = 480
MAX_SCHEMES = 8


@dataclass
class OrientationSheet:
    schemes: list[dict[str, Any]]
    commune: str | None
    day: str
    structure: str
    places: list[dict[str, Any]] = field(default_factory=list)

    @property
    def title(self) -> str:
        return "Vos démarches : " + ", ".join(s["name"] for s in self.schemes)


def build_sheet(form: dict[str, str], scheme_ids: list[str], structure: str, today: dt.date | None = None) -> OrientationSheet:
    kb = get_kb()
    chosen = [s for s in dict.fromkeys(scheme_ids) if s in kb.schemes][:MAX_SCHEMES]
    outcome = evaluate_situation(form)
    by_id = {r.scheme_id: r for r in outcome.results}
    commune = kb.gazetteer.get(outcome.facts["commune"]) if outcome.facts.get("commune") else None
    schemes, places, seen = [], [], set()
    for scheme_id in chosen:
        scheme = kb.schemes[scheme_id]
        row = result_row(by_id[scheme_id]) if scheme_id in by_id else {}
        # a place the person can reach: a resident-facing contact, or at least an address
        scheme_places = [p for p in places_for_scheme(scheme_id, commune, limit=3, audience=Audience.residents)
                         if p["contacts"]][:3]
        schemes.append({
            "id": scheme_id, "name": scheme.name, "summary": scheme.summary,
            "why": row.get("reasons") or [scheme.summary], "status_label": row.get("status_label"),
            "status": row.get("status"),
            "to_verify": row.get("to_verify") or list(scheme.conditions_text),
            "amount": row.get("amount_text") or scheme.amount, "estimated": bool(row.get("amount_text")),
            "steps": list(scheme.steps), "documents": documents_of(scheme),
            "places": [p["name"] for p in scheme_places],
        })  # fmt: skip
        for place in scheme_places:
            if place["key"] not in seen:
                seen.add(place["key"])
                places.append(place)
    day = french_date(today or dt.date.today())
    return OrientationSheet(schemes, commune.nom if commune else None, day, structure, places[:6])


def _place_contact(place: dict[str, Any]) -> str:
    contacts = place["contacts"]
    return contacts.get("telephone") or contacts.get("site_web") or contacts.get("courriel") or ""


def sms_text(sheet: OrientationSheet, limit: int = SMS_MAX_CHARS) -> str:
    """A text for an SMS: the schemes, then the places with one contact each, cut to `limit`."""
    parts = ["À faire valoir : " + " ; ".join(s["name"] for s in sheet.schemes) + "."]
    for place in sheet.places:
        contact = _place_contact(place)
        parts.append(f"{place['name']}" + (f" : {contact}" if contact else "") + ".")
    parts.append(f"Fiche remise par {sheet.structure}, le {sheet.day}.")
    text = ""
    for index, part in enumerate(parts):
        candidate = (text + " " + part).strip()
        if len(candidate) > limit:
            if index == 0:  # even the names do not fit: cut at a word
                return part[: limit - 1].rsplit(" ", 1)[0] + "…"
            break
        text = candidate
    return text


def email_text(sheet: OrientationSheet) -> tuple[str, str]:
    """(subject, body) of an email the agent copies."""
    lines = ["Bonjour,", "", f"Voici ce que nous avons vu ensemble le {sheet.day} :", ""]
    for scheme in sheet.schemes:
        lines.append(f"• {scheme['name']} : {scheme['summary']}")
        if scheme["amount"]:
            lines.append(f"  Montant : {scheme['amount']}" + (" (estimation)" if scheme["estimated"] else ""))
        lines += [f"  {i}. {step}" for i, step in enumerate(scheme["steps"], 1)]
        if scheme["documents"]:
            lines.append("  À apporter : " + ", ".join(scheme["documents"]))
        lines.append("")
    if sheet.places:
        lines.append("Où aller :")
        for place in sheet.places:
            contacts = " · ".join(place["contacts"].values())
            lines.append(f"• {place['name']}, {place['address']}" + (f" ({contacts})" if contacts else ""))
        lines.append("")
    lines += ["Ces informations sont indicatives : l'organisme qui gère chaque aide décide.", "", sheet.structure]
    return f"Vos démarches du {sheet.day}", "\n".join(lines)

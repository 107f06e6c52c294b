"""action_orientation: which schemes may apply and why, what to do, and the nearest services."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from actions.common import (
    commune_of,
    evaluate,
    first_sentence,
    get_kb,
    orientation_door,
    outside_region,
    pick_services,
    rank_results,
    service_line,
    service_links,
)
from actions.sdk import Action, SlotSet
from actions.services import end_buttons
from bot.dialogue.responses import label, say
from knowledge.eligibility import SchemeResult, Status

CONTACT_IN_TEXT = re.compile(r"@|https?://|\b0\d(?:[ .]?\d{2}){4}\b")
FACT_LABELS = {
    "age": "votre âge", "commune": "votre commune", "children_count": "vos enfants",
    "children_ages": "l'âge de vos enfants", "situation": "votre situation", "single_parent": "si vous élevez seul·e vos enfants",
    "quotient_familial": "votre quotient familial", "monthly_income": "vos revenus", "household_adults": "votre foyer",
    "housing": "votre logement", "owns_vacant_dwelling": "si vous avez un logement vide",
    "pregnant": "si vous attendez un enfant",
    "salary": "votre salaire", "partner_salary": "le salaire de votre conjoint·e",
    "unemployment_benefit": "votre allocation chômage", "pension": "votre retraite ou pension",
    "rent": "votre loyer", "disability": "la reconnaissance de votre handicap",
}  # fmt: skip


def result_line(result: SchemeResult) -> str:
    scheme = get_kb().schemes[result.scheme_id]
    if result.status is Status.eligible:
        reason = " ".join(result.reasons[:2])
        return say("orientation_eligible", name=scheme.name, reason=reason).strip()
    if result.status is Status.to_check:
        missing = ", ".join(FACT_LABELS.get(m, m) for m in result.missing[:2])
        reason = (
            f"Cela dépend de {missing}."
            if missing
            else first_sentence(result.to_verify[0])
            if result.to_verify
            else ""
        )
        return say("orientation_to_check", name=scheme.name, reason=reason).strip()
    return say(
        "orientation_not_eligible", name=scheme.name, reason=result.reasons[0] if result.reasons else ""
    )


def summary_text(commune_name: str | None, lines: list[str], steps: list[str], services: list[str]) -> str:
    out = [say("summary_title", variant=0), f"Date : {dt.date.today().isoformat()}"]
    if commune_name:
        out.append(f"Commune : {commune_name}")
    out += ["", "Dispositifs :", *[f"- {line}" for line in lines]]
    if steps:
        out += ["", *steps]
    if services:
        out += ["", "Où aller :", *[f"- {s}" for s in services]]
    out += ["", say("never_certain", variant=0)]
    return "\n".join(out)


class ActionOrientation(Action):
    def name(self) -> str:
        return "action_orientation"

    def run(self, dispatcher: Any, tracker: Any, domain: Any) -> list[dict[str, Any]]:
        slots = tracker.current_slot_values()
        kb = get_kb()
        commune = commune_of(slots)
        focus = slots.get("focus_scheme")
        candidates = list(slots.get("candidates") or [])
        results = rank_results(evaluate(candidates, slots, simulate=True))
        shown = [r for r in results if r.status is not Status.not_eligible][:3]
        refused = [
            r
            for r in results
            if r.status is Status.not_eligible and (r.scheme_id == focus or len(candidates) <= 2)
        ]
        if outside_region(commune):
            assert commune is not None
            dispatcher.utter_message(text=say("outside_region_short"))
        lines = [result_line(r) for r in [*refused[:1], *shown]]
        if lines:
            dispatcher.utter_message(text=say("orientation_intro"))
            for line in lines:
                dispatcher.utter_message(text=line)
        else:
            dispatcher.utter_message(text=say("nothing_found"))
        steps: list[str] = []
        if shown:
            top = kb.schemes[shown[0].scheme_id]
            with_contact = [st for st in top.steps[1:] if CONTACT_IN_TEXT.search(st)]
            steps.append(say("orientation_steps", step=" ".join([*top.steps[:2], *with_contact[:1]])))
            amount = f"{shown[0].amount_text} (estimation)" if shown[0].amount_text else top.amount
            if amount and len(amount) <= 160:
                steps.append(say("scheme_amount", amount=amount.rstrip(".")))
            if shown[0].to_verify:
                steps.append(say("orientation_verify", item=shown[0].to_verify[0]))
            dispatcher.utter_message(text="\n".join(steps))
        scheme_ids = [r.scheme_id for r in shown]  # never the places of a scheme the person is refused
        pick = pick_services(slots, scheme_ids, slots.get("need"), slots.get("service_type"))
        service_texts = [service_line(n, commune.departement if commune else None, commune) for n in pick.nearby]
        if outside_region(commune) or not pick.nearby or pick.far:
            if pick.nearby and not outside_region(commune):
                dispatcher.utter_message(text=say("services_intro_far"))
                for text in service_texts:
                    dispatcher.utter_message(text=text)
            door = (
                say("outside_region_door", commune=commune.nom) if commune else say("no_service_no_commune")
            )
            if commune and not outside_region(commune) and not pick.nearby:
                door = say("no_service_nearby", commune=commune.nom)
            door = orientation_door(slots, commune, bool(pick.nearby)) or door  # places: actual mairie + France Services
            service_texts.append(door)
            final_text = door
        else:
            dispatcher.utter_message(text=say("services_intro"))
            for text in service_texts[:-1]:
                dispatcher.utter_message(text=text)
            final_text = service_texts[-1]
        summary = summary_text(
            f"{commune.nom} ({commune.departement})" if commune else None, lines, steps, service_texts
        )
        buttons = [{"title": label("buttons", "why"), "payload": "/ask_why"}, *end_buttons()]
        dispatcher.utter_message(
            text=final_text,
            buttons=buttons,
            json_message={
                "orientation": True,
                "summary": summary,
                "links": service_links(pick.nearby),
                "schemes": [{"id": r.scheme_id, "status": r.status.value} for r in results],
            },
        )
        last = [r.to_json() for r in results]
        return [SlotSet("oriented", True), SlotSet("last_results", last), SlotSet("asking", None)]

"""action_nearby_services and action_human_handoff: the nearest places, with their contacts."""

from __future__ import annotations

from typing import Any

from actions.common import (
    commune_of,
    door_reply,
    get_kb,
    is_third_person,
    need_numbers_text,
    needs_catalogue,
    pick_services,
    service_line,
    service_links,
)
from actions.places import mairie_of, person_point
from actions.sdk import Action, SlotSet
from bot.dialogue.responses import label, need_title, say, say_about


def end_buttons() -> list[dict[str, str]]:
    return [
        {"title": label("buttons", "other_need"), "payload": "/ask_help"},
        {"title": label("buttons", "human"), "payload": "/ask_human"},
        {"title": label("buttons", "erase"), "payload": "/erase_data"},
    ]


class ActionNearbyServices(Action):
    def name(self) -> str:
        return "action_nearby_services"

    def run(self, dispatcher: Any, tracker: Any, domain: Any) -> list[dict[str, Any]]:
        slots = tracker.current_slot_values()
        service_type, need = slots.get("service_type"), slots.get("need")
        scheme = slots.get("focus_scheme")
        schemes = [scheme] if scheme else list(slots.get("place_schemes") or [])  # the ones shown, when
        pick = pick_services(slots, schemes, need, service_type)  # nothing said which one
        cleared = [SlotSet("place_schemes", None)] if slots.get("place_schemes") else []  # for this turn only
        commune = commune_of(slots)
        numbers = need_numbers_text([need]) if slots.get("oriented") else None
        if numbers:  # « il peut dormir où ? » after an orientation: the 115 before any place
            dispatcher.utter_message(text=numbers)
        if not pick.nearby:  # a kind of place asked (« c'est où la maison des solidarités ? ») is named
            kind = needs_catalogue().get(service_type or "", {}).get("label")
            doors = (door_reply(slots, commune, intro="doors_intro_kind", kind=need_title(service_type, kind))
                     if service_type and kind else door_reply(slots, commune))
            if doors is not None:
                text, door_nearby = doors
            else:
                text = say("no_service_nearby", commune=commune.nom) if commune else say("no_service_no_commune")
                door_nearby = []
            if need == "violences" and "3919" in (slots.get("numbers_given") or ["3919"]):
                text += "\n" + say("violence_door")  # not for a child in danger (the 119 was given)
            dispatcher.utter_message(text=text, buttons=end_buttons(), json_message={
                "orientation": True, "summary": text, "links": service_links(door_nearby)})
            return [SlotSet("oriented", True), *cleared]
        what = needs_catalogue().get(service_type or need or "", {}).get("label")
        what = need_title(service_type or need or "", what) if what else None  # in the turn's language
        intro = say_about("services_intro_far" if pick.far else "services_intro", is_third_person(slots))
        if what:
            intro = f"{intro.rstrip(' :')} ({what}) :"
        dispatcher.utter_message(text=intro)
        lines = [service_line(n, commune.departement if commune else None, commune, slots=slots) for n in pick.nearby]
        for line in lines[:-1]:
            dispatcher.utter_message(text=line)
        summary = "\n".join([intro, *lines])
        dispatcher.utter_message(
            text=lines[-1],
            buttons=end_buttons(),
            json_message={"orientation": True, "summary": summary, "links": service_links(pick.nearby)},
        )
        if pick.far and commune:
            doors = door_reply(slots, commune, "doors_intro_outside")
            dispatcher.utter_message(text=doors[0] if doors else say("outside_region_door", commune=commune.nom))
        return [SlotSet("oriented", True), SlotSet("shown_places", [n.service.key for n in pick.nearby]), *cleared]


class ActionHumanHandoff(Action):
    def name(self) -> str:
        return "action_human_handoff"

    def run(self, dispatcher: Any, tracker: Any, domain: Any) -> list[dict[str, Any]]:
        slots = tracker.current_slot_values()
        commune = commune_of(slots)
        pick = pick_services(slots, [], None, "france-service", limit=2)
        ccas = pick_services(slots, [], None, "ccas-cias", limit=1)
        mairie = mairie_of(get_kb(), commune, person_point(get_kb(), slots, commune))
        nearby = [n for n in [*pick.nearby, *ccas.nearby, *([mairie] if mairie else [])] if n.service.has_contact]
        nearby = list({n.service.key: n for n in nearby}.values())[:3]
        if not nearby or all(n.distance_km is None or n.distance_km > 40 for n in nearby):
            doors = door_reply(slots, commune, "doors_intro_human")
            if doors is not None:
                text, door_nearby = doors
                dispatcher.utter_message(text=text, buttons=end_buttons(), json_message={
                    "orientation": True, "summary": text, "links": service_links(door_nearby)})
                return [SlotSet("oriented", True)]
            where = commune.nom if commune else "votre commune"
            dispatcher.utter_message(
                text=say("human_no_service", commune=where),
                buttons=end_buttons(),
                json_message={"orientation": True, "summary": say("human_no_service", commune=where)},
            )
            return [SlotSet("oriented", True)]
        dispatcher.utter_message(text=say("human_intro"))
        lines = [service_line(n, commune.departement if commune else None, commune, slots=slots) for n in nearby]
        for line in lines[:-1]:
            dispatcher.utter_message(text=line)
        dispatcher.utter_message(
            text=lines[-1],
            buttons=end_buttons(),
            json_message={"orientation": True, "summary": "\n".join(lines), "links": service_links(nearby)},
        )
        return [SlotSet("oriented", True)]

"""action_shown_place: « c'est où ? », « c'est ouvert quand ? », « leur numéro ? » after an
orientation — answered with the place already shown (address, contacts, the week's opening hours),
not with the orientation again.

The place asked about is the one whose name the question uses (« le relais »), else the first
shown. Hours come from the place's own data (OpenStreetMap `opening_hours` syntax, from the
France Services and mairies directories); when they are unknown the assistant says so.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from actions.answer import PHONE_IN_TEXT
from actions.common import commune_of, contact_text, doors_for, get_kb, needs_catalogue
from actions.passages import STEM, kind_stems
from actions.places import address_text, data_date, distance_km, distance_text, person_point
from actions.plan import need_of
from actions.sdk import Action, SlotSet
from actions.speaker import for_speaker
from bot.dialogue.responses import current_language, localized_list, say
from knowledge.hours import french_slots, hours_on
from knowledge.kb import KnowledgeBase, ServiceRecord
from knowledge.textnorm import fold

DAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
DAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def record_of(kb: KnowledgeBase, key: str) -> ServiceRecord | None:
    """A place by its key (`source--id`): a curated or imported service, or a directory place."""
    source, _, place_id = key.partition("--")
    service = kb.services_by_id.get(place_id)
    if service is not None and service.source == source:
        return service
    return kb.places.record(source, place_id) if place_id else None


def week_text(osm: str | None, today: dt.date) -> str | None:
    """"lundi 9 h–12 h ; mardi fermé ; …" for the seven days from today, or None when unknown."""
    days = []
    for offset in range(7):
        day = today + dt.timedelta(days=offset)
        hours = hours_on(osm, day)
        if hours is None:
            return None
        english = current_language() == "en"
        name = (DAYS_EN if english else DAYS)[day.weekday()]
        days.append(f"{name} {french_slots(hours) if hours.open else ('closed' if english else 'fermé')}")
    return " ; ".join(days)


#: a web address in a step (« sur signal-logement.beta.gouv.fr », « votre compte caf.fr »)
WEB_ADDRESS = re.compile(r"https?://|\b[\w-]+\.(?:[\w-]+\.)*(?:fr|org|com|net|eu)\b")


def _names(question: str, place: ServiceRecord) -> bool:
    words = {w for w in fold(question).split() if len(w) >= 4}
    return bool(words & {w for w in fold(place.nom).split() if len(w) >= 4})


def _asks_to_apply(question: str) -> bool:
    """« on s'inscrit où ? », « je fais la demande où ? »: where to apply, not the hours of a place
    (lexicon `kind_words` of a how)."""
    stems = kind_stems("how")
    return any(w[:STEM] in stems for w in fold(question).split() if len(w) > 3)


def asked_place(places: list[ServiceRecord], question: str) -> ServiceRecord:
    """The place whose name shares a word (4 letters or more) with the question, else the first
    shown that is somewhere (an address or a commune: the EVS of Monchy-Lagache, even without known
    hours), not a département-wide programme; the doors come after the places shown."""

    def rank(item: tuple[int, ServiceRecord]) -> tuple[bool, bool, int]:
        index, place = item
        return (not _names(question, place), not (address_text(place) or place.commune), index)

    return min(enumerate(places), key=rank)[1]


class ActionShownPlace(Action):
    def name(self) -> str:
        return "action_shown_place"

    def run(self, dispatcher: Any, tracker: Any, domain: Any) -> list[dict[str, Any]]:
        slots = tracker.current_slot_values()
        kb = get_kb()
        shown_places = [p for p in (record_of(kb, k) for k in slots.get("shown_places") or []) if p is not None]
        doors = [n.service for n in doors_for(slots, commune_of(slots))]  # the doors were shown too
        shown = [s for s in slots.get("shown") or [] if s in kb.schemes]
        need = slots.get("place_need")
        of_need = [s for s in shown if need and need_of(s, [need])]
        if of_need:  # the question names a need: its schemes and places, and a door of its kind first
            networks = set(needs_catalogue().get(need, {}).get("networks") or [])
            shown = of_need
            shown_places = [p for p in shown_places if set(p.schemes) & set(of_need)]
            doors.sort(key=lambda door: not networks.intersection(door.reseaux_porteurs))
        places = shown_places + doors
        cleared = [SlotSet("place_question", None), SlotSet("place_need", None)]
        if not places:
            dispatcher.utter_message(text=say("shown_place_none"))
            return cleared
        question = slots.get("place_question") or ""
        place = asked_place(places, question)
        lines = []
        door = all(place is not p for p in shown_places)
        benefit = bool(shown) and kb.schemes[shown[0]].openfisca is not None
        # a scheme asked for on a website (« Faites un signalement sur signal-logement.beta.gouv.fr »)
        # has no nearest address to know: its step says where, and the door helps to do it
        online = bool(shown) and bool(WEB_ADDRESS.search(localized_list(kb.schemes[shown[0]], "steps")[0]))
        if shown and door and not _names(question, place) and not benefit and not online:
            # « c'est où ? » about the point conseil budget, whose address is not known: say so, and
            # that the door shown can give it, before the door's card
            dispatcher.utter_message(text=say("shown_place_door", name=kb.schemes[shown[0]].name))
        if shown and (_asks_to_apply(question) or benefit or online):
            # « on s'inscrit où ? » after the 10 000 départs and the CAF's holiday aid: where each scheme
            # shown that no place carries is applied for, in its own first step (the CAF, caf.fr); a
            # benefit is no place (« où se faire aider pour la pension ? » after the ASF): the same
            carried = {s for p in shown_places for s in p.schemes}
            for scheme_id in [s for s in shown if s not in carried][:2]:
                scheme = kb.schemes[scheme_id]
                step = for_speaker(localized_list(scheme, "steps")[0], slots)
                if step:
                    dispatcher.utter_message(text=say("shown_place_apply", name=scheme.name, step=step))
            if online and door:
                dispatcher.utter_message(text=say("shown_place_help_near"))
        point = person_point(kb, slots, commune_of(slots))  # « c'est loin ? »
        where = (address_text(place) or place.commune or "") + distance_text(distance_km(place, point))
        lines.append(say("shown_place_title", nom=place.nom, where=where.lstrip(", ")).replace(" ()", ""))
        contact = contact_text(place, commune_of(slots), slots=slots)
        lines.append(contact)
        week = week_text(place.horaires_accueil, dt.date.today())
        hours = say("shown_place_hours", week=week) if week else say(_hours_unknown(contact))
        date = data_date(place)
        # the data's date ends the hours' line: three lines a message at most
        lines.append(f"{hours} {date[0].upper()}{date[1:]}." if date else hours)
        dispatcher.utter_message(text="\n".join(lines))
        return cleared


def _hours_unknown(contact: str) -> str:
    """What to do when the place's hours are not known, by the contact shown: call it, write to it (a
    place known by its e-mail alone was « appelez avant de vous déplacer », simulated users sc-012 and
    sc-036, rounds 45–46), or ask."""
    if PHONE_IN_TEXT.search(contact):
        return "shown_place_hours_unknown"
    return "shown_place_hours_unknown_write" if "@" in contact else "shown_place_hours_unknown_ask"

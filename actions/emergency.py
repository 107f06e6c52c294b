"""action_emergency: the emergency numbers, first, for the kind of danger detected."""

from __future__ import annotations

from typing import Any

from actions.common import get_kb, is_third_person
from actions.passages import MIN_MARGIN, number_passage
from actions.sdk import Action, SlotSet
from bot.dialogue.responses import label, say, say_about

ALWAYS = ["112", "114"]
#: a danger of no known kind (the classifier's "emergency" alone): police and SAMU, not every
#: number of the base (a list of eight hides the one that matters)
UNKNOWN_KIND = ["17", "15"]


def numbers_answer(numbers_given: list[str], question: str) -> list[str]:
    """A question after emergency numbers were given (« ça coûte quelque chose d'appeler ? » after
    the 119): what their verified texts say — the number it is most about, two when as close — or
    that they do not say it. Empty when no number was given."""
    order = list(numbers_given)
    given = sorted((n for n in get_kb().emergency if n.number in order), key=lambda n: order.index(n.number))
    if not given:
        return []
    found = [(n, m) for n in given if (m := number_passage(n, question))]
    best = max((m[0] for _n, m in found), default=0.0)
    close = [(n, m[1]) for n, m in found if best - m[0] < MIN_MARGIN]
    if close:
        return [say("number_passage", number=n.number, name=n.name, passage=p) for n, p in close[:2]]
    first = given[0]
    return [say("number_not_said", number=first.number, name=first.name, when=" ".join(first.when.split()))]


class ActionEmergency(Action):
    def name(self) -> str:
        return "action_emergency"

    def run(self, dispatcher: Any, tracker: Any, domain: Any) -> list[dict[str, Any]]:
        kb = get_kb()
        by_number = {n.number: n for n in kb.emergency}
        wanted = list(tracker.get_slot("danger_numbers") or []) or UNKNOWN_KIND
        ordered = [n for n in [*wanted, *ALWAYS] if n in by_number]
        ordered = list(dict.fromkeys(ordered))
        lines = [f"☎ {n} — {by_number[n].name}" for n in ordered]
        given = list(dict.fromkeys([*(tracker.get_slot("numbers_given") or []), *ordered]))  # for questions about them
        done = [SlotSet("danger_numbers", None), SlotSet("numbers_given", given)]
        marker = {"emergency": True, "numbers": ordered}
        then_orientation = bool(tracker.get_slot("danger_then_orientation"))
        # three lines a message at most: the heading and the two first numbers, then the others
        first, rest = lines[:2], lines[2:]
        other = is_third_person(tracker.current_slot_values())  # « si la personne est en danger » to a witness
        intro = say_about("emergency_intro_3114" if ordered[:1] == ["3114"] else "emergency_intro", other)
        parts = [rest[i : i + 3] for i in range(0, len(rest), 3)]
        if then_orientation and not rest:  # the orientation follows: no offer to find a place
            dispatcher.utter_message(text=intro + "\n" + "\n".join(first), json_message=marker)
            return [*done, SlotSet("danger_then_orientation", None)]
        dispatcher.utter_message(text=intro + "\n" + "\n".join(first))
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            dispatcher.utter_message(text="\n".join(part), json_message=marker if then_orientation and last else None)
        if then_orientation:
            return [*done, SlotSet("danger_then_orientation", None)]
        dispatcher.utter_message(
            text=say("emergency_more"),
            buttons=[
                {"title": label("buttons", "find_place"), "payload": "/affirm"},
                {"title": label("buttons", "no"), "payload": "/deny"},
            ],
            json_message=marker,
        )
        return done

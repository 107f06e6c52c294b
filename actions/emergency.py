"""action_emergency: the emergency numbers, first, for the kind of danger detected."""

from __future__ import annotations

from typing import Any

from actions.common import get_kb
from actions.sdk import Action, SlotSet
from bot.dialogue.responses import label, say

ALWAYS = ["112", "114"]
#: a danger of no known kind (the classifier's "emergency" alone): police and SAMU, not every
#: number of the base (a list of eight hides the one that matters)
UNKNOWN_KIND = ["17", "15"]


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
        marker = {"emergency": True, "numbers": ordered}
        then_orientation = bool(tracker.get_slot("danger_then_orientation"))
        first, rest = lines[:3], lines[3:]
        if then_orientation and not rest:  # the orientation follows: no offer to find a place
            dispatcher.utter_message(text=say("emergency_intro") + "\n" + "\n".join(first), json_message=marker)
            return [SlotSet("danger_numbers", None), SlotSet("danger_then_orientation", None),
                    SlotSet("numbers_given", given)]
        dispatcher.utter_message(text=say("emergency_intro") + "\n" + "\n".join(first))
        if rest:
            dispatcher.utter_message(text="\n".join(rest), json_message=marker if then_orientation else None)
        if then_orientation:
            return [SlotSet("danger_numbers", None), SlotSet("danger_then_orientation", None),
                    SlotSet("numbers_given", given)]
        dispatcher.utter_message(
            text=say("emergency_more"),
            buttons=[
                {"title": label("buttons", "find_place"), "payload": "/affirm"},
                {"title": label("buttons", "no"), "payload": "/deny"},
            ],
            json_message=marker,
        )
        return [SlotSet("danger_numbers", None), SlotSet("numbers_given", given)]

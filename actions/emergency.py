"""action_emergency: the emergency numbers, first, for the kind of danger detected."""

from __future__ import annotations

from typing import Any

from actions.common import get_kb
from actions.sdk import Action, SlotSet
from bot.dialogue.responses import label, say

ALWAYS = ["112", "114"]


class ActionEmergency(Action):
    def name(self) -> str:
        return "action_emergency"

    def run(self, dispatcher: Any, tracker: Any, domain: Any) -> list[dict[str, Any]]:
        kb = get_kb()
        by_number = {n.number: n for n in kb.emergency}
        wanted = list(tracker.get_slot("danger_numbers") or []) or ["17", "15", "3919", "119", "3114", "115"]
        ordered = [n for n in [*wanted, *ALWAYS] if n in by_number]
        ordered = list(dict.fromkeys(ordered))
        lines = [f"☎ {n} — {by_number[n].name}" for n in ordered]
        dispatcher.utter_message(text=say("emergency_intro") + "\n" + "\n".join(lines[:3]))
        if len(lines) > 3:
            dispatcher.utter_message(text="\n".join(lines[3:]))
        dispatcher.utter_message(
            text=say("emergency_more"),
            buttons=[
                {"title": label("buttons", "find_place"), "payload": "/affirm"},
                {"title": label("buttons", "no"), "payload": "/deny"},
            ],
            json_message={"emergency": True, "numbers": ordered},
        )
        return [SlotSet("danger_numbers", None)]

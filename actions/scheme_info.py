"""action_scheme_info: explain one scheme in plain words, then offer to check eligibility."""

from __future__ import annotations

from typing import Any

from actions.answer import passage_for
from actions.common import get_kb, is_third_person
from actions.passages import not_yet_said
from actions.sdk import Action, SlotSet
from actions.speaker import for_speaker
from bot.dialogue.responses import label, localized, localized_list, say, say_about


class ActionSchemeInfo(Action):
    def name(self) -> str:
        return "action_scheme_info"

    def run(self, dispatcher: Any, tracker: Any, domain: Any) -> list[dict[str, Any]]:
        scheme = get_kb().scheme(tracker.get_slot("focus_scheme") or "")
        if scheme is None:
            dispatcher.utter_message(text=say("scheme_not_found"))
            return []
        dispatcher.utter_message(text=say("scheme_intro", name=scheme.name, summary=localized(scheme, "summary")))
        passage = not_yet_said(passage_for(tracker.current_slot_values(), scheme.id), scheme.summary)
        if passage:  # a precise question (« c'est anonyme ? »): its answer, unless the summary just said it
            dispatcher.utter_message(text=say("answer_passage", name=scheme.name, passage=passage))
        details = []
        if scheme.amount:
            details.append(say("scheme_amount", amount=localized(scheme, "amount").rstrip(".")))
        if scheme.status_note:
            details.append(f"Attention : {scheme.status_note}")
        step = for_speaker(localized_list(scheme, "steps")[0], tracker.current_slot_values()) if scheme.steps else ""
        if step:
            details.append(say("orientation_steps", step=step))
        if details:
            dispatcher.utter_message(text="\n".join(details[:3]))
        links = [{"title": s.title or s.url, "url": s.url} for s in scheme.sources if s.url][:2]
        dispatcher.utter_message(
            text=say_about("scheme_offer_check", is_third_person(tracker.current_slot_values())),
            buttons=[
                {"title": label("buttons", "check_other" if is_third_person(tracker.current_slot_values()) else "check"),
                 "payload": "/affirm"},
                {"title": label("buttons", "where"), "payload": "/find_service_nearby"},
            ],
            json_message={"scheme": scheme.id, "links": links},
        )
        return [SlotSet("answer_passage", None)] if tracker.get_slot("answer_passage") else []

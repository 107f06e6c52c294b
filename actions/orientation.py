"""action_orientation: which schemes may apply and why, what to do, and the nearest services."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from actions.common import (
    commune_of,
    evaluate,
    facts_from_slots,
    first_sentence,
    get_kb,
    is_third_person,
    need_numbers_text,
    needs_catalogue,
    orientation_door,
    outside_region,
    pick_services,
    rank_results,
    service_line,
    service_links,
)
from actions.places import from_old_directory
from actions.plan import fill_floor, for_them, need_of, raised_beside, shown_in
from actions.sdk import Action, SlotSet
from actions.services import end_buttons
from actions.speaker import for_speaker, own_place_check, without_own_door
from bot.dialogue.reading import GENERIC_NEEDS
from bot.dialogue.responses import (
    about_the_person,
    current_language,
    label,
    localized,
    localized_list,
    need_title,
    responses,
    say,
    say_about,
)
from knowledge.eligibility import SchemeResult, Status
from knowledge.facts import FACT_LABELS as CONTENT_FACT_LABELS
from knowledge.facts import situations_of
from knowledge.schema import Scheme

#: a step that gives emergency numbers (the listening lines, 3919 or 119 apart, stay)
EMERGENCY_STEP = re.compile(r"\b(?:15|17|18|112|114)\b(?! ?(?:ans|€|%|h\b))")
#: a step that gives a listening line for violence: a step only when violence was read (a separation
#: without violence is not told to call the 3919)
LISTENING_STEP = re.compile(r"\b(?:3919|119)\b")
DANGER_NEEDS = ("violences",)
#: the reasons said on a scheme's line: the territory, the children's ages and the QF compared to the
#: ceiling (the cantine à 1 € with a QF of 720 € was said without the third, sc-077)
REASONS_SHOWN = 3
#: of the benefits often missed in the person's situation (`raised_for`), this many are raised beside the needs
RAISED_SHOWN = 1
CONTACT_IN_TEXT = re.compile(r"@|https?://|\b0\d(?:[ .]?\d{2}){4}\b")
#: a scheme's local check (« Demandez à la mairie si la cantine applique déjà le tarif à 1 € ») is said on its
#: line beside the facts still missing when its first sentence is no longer than this
LOCAL_CHECK_SHOWN = 240
def fact_label(name: str, third_person: bool = False) -> str:
    """A missing fact in words, in the turn's language (`fact_labels` in the responses); never its
    internal name (« Cela dépend de vacant_dwelling_commune »)."""
    group = "fact_labels_other" if third_person else "fact_labels"
    labels = responses().get(group) or {}
    return str(labels.get(name) or CONTENT_FACT_LABELS.get(name) or labels["some_information"])


def result_line(result: SchemeResult, need_label: str | None = None, third_person: bool = False) -> str:
    scheme = get_kb().schemes[result.scheme_id]
    if result.open_to_all:
        # relevance is not eligibility: nothing to check means "a place that can help", not ✅
        return say("orientation_relevant", name=scheme.name, label=need_label or label("fact_labels", "that"),
                   summary=first_sentence(localized(scheme, "summary"))).strip()
    if result.status is Status.eligible:
        reason = " ".join(result.reasons_in(current_language())[:REASONS_SHOWN])
        if third_person:
            return say("orientation_eligible_other", name=scheme.name, reason=about_the_person(reason)).strip()
        return say("orientation_eligible", name=scheme.name, reason=reason).strip()
    if result.status is Status.to_check:
        missing = ", ".join(dict.fromkeys(fact_label(m, third_person) for m in result.missing[:2]))
        ruled_out = " ".join(result.ruled_out_in(current_language()))
        if missing and ruled_out:  # why the ways already ruled out do not fit, then what is still open
            said_of = about_the_person(ruled_out) if third_person else ruled_out
            reason = f"{said_of} {say('depends_on_else', missing=missing)}"
        elif missing:
            reason = say("depends_on", missing=missing)
        else:
            reason = first_sentence(result.to_verify[0]) if result.to_verify else ""
        if missing and (local := local_check_sentence(scheme)):
            # what only the service can settle is said too, not only what the person could answer: the
            # cantine à 1 € « selon votre quotient familial » without « demandez à la mairie » (sc-002)
            reason = f"{reason} {local}"
        if not missing and result.reasons:  # what holds, then what only the service can check
            met = " ".join(result.reasons_in(current_language())[:REASONS_SHOWN])
            reason = f"{about_the_person(met) if third_person else met} {reason}".strip()
        return say("orientation_to_check", name=scheme.name, reason=reason).strip()
    reason = result.reasons_in(current_language())[0] if result.reasons else ""
    if third_person:
        return say("orientation_not_eligible_other", name=scheme.name, reason=about_the_person(reason))
    return say("orientation_not_eligible", name=scheme.name, reason=reason)


def local_check_sentence(scheme: Scheme) -> str | None:
    """The first sentence of a scheme's local check, when short enough to be said on its line; French only
    (the fiches have no English local check: the English summary says where to ask)."""
    local = scheme.conditions.local_check
    if not local or current_language() != "fr":
        return None
    sentence = first_sentence(local)
    return sentence if len(sentence) <= LOCAL_CHECK_SHOWN else None


def summary_text(commune_name: str | None, lines: list[str], steps: list[str], services: list[str]) -> str:
    out = [say("summary_title", variant=0), say("summary_date", date=dt.date.today().isoformat())]
    if commune_name:
        out.append(say("summary_commune", commune=commune_name))
    out += ["", say("summary_schemes"), *[f"- {line}" for line in lines]]
    if steps:
        out += ["", *steps]
    if services:
        out += ["", say("summary_places"), *[f"- {s}" for s in services]]
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
        other = is_third_person(slots)
        candidates = list(slots.get("candidates") or [])
        items = slots.get("plan") or [{"need": slots.get("need"), "schemes": candidates}]
        catalogue = needs_catalogue()
        groups: list[tuple[str | None, list[str]]] = []
        empty: list[tuple[int, str, str]] = []  # (where, label, need) of the needs with nothing shown
        results: list[SchemeResult] = []
        shown: list[SchemeResult] = []
        situations = situations_of(facts_from_slots(slots))  # they answer a premise (`raised_for`: a wage)
        for item in items:
            group = rank_results(for_them(items, evaluate(item["schemes"], slots, simulate=True), slots))
            results += group
            open_ids = shown_in(item, [r for r in group if r.status is not Status.not_eligible], situations)
            open_ = sorted((r for r in group if r.scheme_id in open_ids), key=lambda r: open_ids.index(r.scheme_id))
            # a scheme the person named is answered, even "no"; one the reader only guessed from their
            # words, however clearly, is not listed to say it is not for them (the CEJ to a woman of 52 on
            # the RSA, the crèches AVIP to a mother at work asking for help with the crèche's bill)...
            said = set(item.get("said") or [])
            # ... and one of another territory is said only when asked about by name: that the
            # Croix-Rouge's Aisne truck does not come to Montreuil helps nobody who did not ask
            refused = [r for r in group if r.status is Status.not_eligible and (r.scheme_id == focus or (
                not r.only_territory and (len(candidates) <= 2 or r.scheme_id in said)))]
            relevance = item.get("relevance") or {}
            audience_beside = bool(catalogue.get(item.get("need") or "", {}).get("audience")) and len(items) > 1
            if not open_ and not refused and item.get("need") and relevance and not audience_beside:
                # a need read with nothing open for it: why its likeliest scheme is not for them (the
                # Pass'Sport is for 14-17 year olds) rather than silence about what was asked; beside the first
                # need, from FILL_BESIDE, as its open ones (no ✖️ complément familial under a brushed need).
                # Not a need that only says who (« les jeunes ») beside one that says what: a boy of 16 going
                # camping with friends got Sac Ados, then « ✖️ Départ 18:25 : pour les 18 à 25 ans » (sc-097)
                refused = sorted((r for r in group if r.status is Status.not_eligible and not r.only_territory
                                  and relevance.get(r.scheme_id, 0.0) >= fill_floor(item)),
                                 key=lambda r: -relevance.get(r.scheme_id, 0.0))[:1]
            label_ = catalogue.get(item["need"] or "", {}).get("label")
            label_ = need_title(item["need"], label_) if label_ else None  # in the turn's language
            lines = [result_line(r, label_, other) for r in [*refused[:1], *open_]]
            shown += open_
            if lines:
                groups.append((label_ if len(items) > 1 else None, lines))
            elif label_ and len(items) > 1 and item.get("firm", True) and item["need"] not in GENERIC_NEEDS:
                empty.append((len(groups), label_, item["need"]))
        # a need read firmly beside others with nothing for it is said, not dropped (« pas de logement »
        # beside « pas de taf », sc-049): the places and doors below are for it too; not when a scheme
        # shown serves it (the youth schemes under the job need, round 28); not a general need, which says
        # who the person is more than what they ask (« étudiante », the young, round 28)
        # a need with its own numbers (a bed tonight: the 115) has them for an answer
        for at, label_, need in reversed(empty):
            if not any(need_of(r.scheme_id, [need]) for r in shown):
                groups.insert(at, (label_, [need_numbers_text([need]) or say_about("need_nothing_here", other)]))
        if groups and not focus and not any(item.get("screening") for item in items):
            # a benefit often missed in the person's situation, once nothing else asks about it: after the
            # needs, as to check (no question more is asked for it)
            raised = [r for r in evaluate(raised_beside(slots, {r.scheme_id for r in results}), slots, simulate=True)
                      if r.status is not Status.not_eligible][:RAISED_SHOWN]
            if raised:
                lines_ = [result_line(r, None, other) for r in raised]
                groups.append((None, ["\n".join([say_about("orientation_raised", other), lines_[0]]), *lines_[1:]]))
                shown += raised
                results += raised
        if outside_region(commune):
            dispatcher.utter_message(text=say("outside_region_short"))
        lines = [line for _label, group_lines in groups for line in group_lines]
        if lines:
            dispatcher.utter_message(text=say("orientation_intro_other" if other else "orientation_intro"))
            for label_, group_lines in groups:
                if label_:  # the need's heading with its first scheme, then one scheme per message
                    group_lines = ["\n".join([say("orientation_need", label=label_), group_lines[0]]), *group_lines[1:]]
                for line in group_lines:
                    dispatcher.utter_message(text=line)
        else:
            dispatcher.utter_message(text=say("nothing_found"))
        steps: list[str] = []
        if shown:
            top = kb.schemes[shown[0].scheme_id]
            # the emergency numbers are not a step here: said first when a danger is read, they
            # read as an alarm for a separation without violence (« En cas de danger : le 17 »)
            violence = any(item["need"] in DANGER_NEEDS for item in items)
            steps_ = [st for st in localized_list(top, "steps") if not EMERGENCY_STEP.search(st)
                      and (violence or not LISTENING_STEP.search(st))] or localized_list(top, "steps")
            with_contact = [st for st in steps_[1:] if CONTACT_IN_TEXT.search(st)]
            # not to its own agent; « parlez-en à son conseiller » to whoever writes for the person
            step = for_speaker(" ".join([*steps_[:2], *with_contact[:1]]), slots)
            if step:
                steps.append(say("orientation_steps", step=step))
            amount = f"{shown[0].amount_text} (estimation)" if shown[0].amount_text else (localized(top, "amount") if top.amount else None)
            if amount and len(amount) <= 160:
                steps.append(say("scheme_amount", amount=amount.rstrip(".")))
            if shown[0].to_verify:
                item = shown[0].to_verify[0]  # a condition of the fiche: in the turn's language
                french = list(top.conditions_text)
                item = localized_list(top, "conditions_text")[french.index(item)] if item in french else item
                if first_sentence(item) not in "\n".join(lines):  # not twice: its line may say it already
                    steps.append(say("orientation_verify", item=item))
            if steps:
                dispatcher.utter_message(text="\n".join(steps))
        scheme_ids = [r.scheme_id for r in shown]  # never the places of a scheme the person is refused
        first_need = items[0]["need"] if items else slots.get("need")
        needs = [item["need"] for item in items if item["need"]]
        pick = pick_services(slots, scheme_ids, first_need, slots.get("service_type"), about=needs)
        # an agent is not given the nearest place of their own kind
        is_own = own_place_check(slots)
        pick.nearby = [n for n in pick.nearby if not is_own(n.service)]
        service_texts = [service_line(n, commune.departement if commune else None, commune, slots=slots) for n in pick.nearby]
        # places of the old directory alone (contacts to confirm): the doors anyone can push follow them
        old_only = bool(pick.nearby) and all(from_old_directory(n.service) for n in pick.nearby)
        if outside_region(commune) or not pick.nearby or pick.far or old_only:
            if pick.nearby and not outside_region(commune):
                dispatcher.utter_message(text=say_about("services_intro_far" if pick.far else "services_intro", other))
                for text in service_texts:
                    dispatcher.utter_message(text=text)
            door = door_text(slots, commune, bool(pick.nearby))
            service_texts.append(door)
            final_text = door
        else:
            dispatcher.utter_message(text=say_about("services_intro", other))
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
                "shown": scheme_ids,
            },
        )
        last = [r.to_json() for r in results]
        return [SlotSet("oriented", True), SlotSet("last_results", last), SlotSet("asking", None),
                SlotSet("shown", scheme_ids), SlotSet("shown_places", [n.service.key for n in pick.nearby])]


def door_text(slots: dict[str, Any], commune: Any, some_nearby: bool = False) -> str:
    """The door to push when no verified place is near: the actual mairie and nearest France Services
    with their contacts, for an agent too (never the agent's own kind of place: `doors_for`)."""
    door = orientation_door(slots, commune, some_nearby)  # places: the actual mairie and France Services
    if door:
        return door
    if slots.get("role") == "agent":
        return without_own_door(say("no_service_agent"), slots) or say("no_service_agent_other")
    if commune is None:
        return say("no_service_no_commune")
    if not outside_region(commune) and not some_nearby:
        return say("no_service_nearby", commune=commune.nom)
    return say("outside_region_door", commune=commune.nom)

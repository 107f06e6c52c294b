"""action_answer: the question actually asked about one scheme — conditions, steps, documents,
amount, contact — instead of a whole orientation.

Reads the slots `answer_schemes` (the schemes asked about: one when the question says which, else
each scheme shown that holds the answer; `focus_scheme` without it), `answer_kind` (the reader's
`asks`) and `answer_passage` (by scheme, its own sentence that answers a precise question).
Agents and ambassadeurs (slot `role`) get the wording about "la personne" and what they need to
check; nobody is told what the knowledge base does not hold: an unknown list of papers or amount
is said as such, with who can give it.
"""

from __future__ import annotations

import re
from typing import Any

from actions.common import (
    commune_of,
    contact_text,
    door_reply,
    evaluate,
    get_kb,
    is_third_person,
    serves_commune,
)
from actions.passages import not_yet_said
from actions.sdk import Action, SlotSet
from actions.speaker import for_speaker
from bot.dialogue.responses import about_the_person, current_language, label, localized, localized_list, say
from knowledge.eligibility import HOUSING_LABELS, SITUATION_LABELS, Status, euros
from knowledge.schema import Conditions, Scheme

PHONE_IN_TEXT = re.compile(r"\b0\d(?:[ .]?\d{2}){4}\b")
CONTACT_IN_TEXT = re.compile(rf"@|https?://|{PHONE_IN_TEXT.pattern}")
KINDS = ("info", "conditions", "how", "documents", "amount", "contact")


def _door(scheme: Scheme, slots: dict[str, Any]) -> str:
    """Who can tell what the knowledge base does not hold (never France Services to its own agent)."""
    if slots.get("role") == "agent":
        return say("door_for_agent", name=scheme.name)
    return say("door_for_person")


def describe_conditions(cond: Conditions) -> list[str]:
    """The machine conditions in plain words ("de 16 à 25 ans", "quotient familial ≤ 1 000 €")."""
    kb = get_kb()
    out: list[str] = []
    if cond.age is not None:
        low, high = cond.age.min, cond.age.max
        out.append(f"de {low} à {high} ans" if low is not None and high is not None
                   else f"à partir de {low} ans" if low is not None else f"jusqu'à {high} ans")
    if cond.zone is not None:
        names = [kb.gazetteer.departement_name(d) or d for d in cond.zone.departements]
        names += [kb.gazetteer.region_name(r) or r for r in cond.zone.regions]
        names += [kb.gazetteer.epci_name(e) or e for e in cond.zone.epcis]
        names += [(kb.gazetteer.get(c).nom if kb.gazetteer.get(c) else c) for c in cond.zone.communes]
        if names:
            out.append("territoire : " + ", ".join(n for n in names[:4] if n))
    if cond.commune_max_population is not None:
        out.append(f"commune de moins de {cond.commune_max_population:,} habitants".replace(",", "\u202f"))
    if cond.children is not None:
        child = cond.children
        high = f" jusqu'à {child.max_age:g} ans" if child.max_age is not None else ""
        low = f" d'au moins {child.min_age:g} ans" if child.min_age else ""
        out.append(f"avoir un enfant{low}{high}")
    if cond.situation:
        out.append("situation : " + ", ".join(SITUATION_LABELS[s.value] for s in cond.situation))
    if cond.single_parent:
        out.append("élever seul·e ses enfants")
    if cond.quotient_familial_max is not None:
        out.append(f"quotient familial CAF jusqu'à {euros(cond.quotient_familial_max)}")
    if cond.monthly_income_max is not None:
        out.append(f"revenus jusqu'à {euros(cond.monthly_income_max)} par mois")
    if cond.housing:
        out.append("logement : " + " ou ".join(HOUSING_LABELS[h.value] for h in cond.housing))
    if cond.owns_vacant_dwelling:
        out.append("posséder un logement vide (vacant)")
    if cond.pregnant:
        out.append("attendre un enfant")
    if cond.any_of:
        groups = [" et ".join(describe_conditions(g)) for g in cond.any_of]
        out.append("l'un ou l'autre : " + " ; ou ".join(g for g in groups if g))
    return out


def _conditions(scheme: Scheme, slots: dict[str, Any]) -> list[str]:
    lines = [say("answer_conditions_title", name=scheme.name)]
    checked = describe_conditions(scheme.conditions)
    if checked:
        lines.append(say("answer_conditions_checked", conditions=" ; ".join(checked)))
    texts = [t for t in (for_speaker(c, slots) for c in localized_list(scheme, "conditions_text")) if t][:3]
    lines += [f"• {t}" for t in texts]
    result = evaluate([scheme.id], slots) if checked or scheme.openfisca is not None else []
    # a fiche with no condition the engine checks says nothing by « vous pourriez y avoir droit »:
    # the place is open to whoever it serves (« CIDFF : pour qui ? » got it for « je peux partir
    # avec ma fille ? », sc-051)
    if result and any(slots.get(f) is not None for f in ("age", "commune", "situation", "children_count",
                                                           "housing", "quotient_familial", "monthly_income")):
        r = result[0]
        key = {Status.eligible: "answer_status_eligible", Status.to_check: "answer_status_to_check",
               Status.not_eligible: "answer_status_not_eligible"}[r.status]
        reason = " ".join(r.reasons_in(current_language())[:2]) if r.status is not Status.to_check else ""
        line = say(key, reason=reason).strip()
        lines.append(about_the_person(line) if is_third_person(slots) else line)
    elif not texts and not checked:
        lines.append(say("answer_no_condition"))
    return lines


_NUMBERED = re.compile(r"^\d+\. ")


def _renumbered(lines: list[str]) -> list[str]:
    """Numbered steps numbered again from 1 once one was left out (quoted above them): never a lone
    « 2. »; a single step left follows the quote without a number (« Déclarez ensuite… »)."""
    single = sum(1 for line in lines if _NUMBERED.match(line)) == 1
    count = 0
    out = []
    for line in lines:
        if _NUMBERED.match(line):
            count += 1
            line = _NUMBERED.sub("" if single else f"{count}. ", line, count=1)
        out.append(line)
    return out


def _steps(scheme: Scheme, slots: dict[str, Any], documents_only: bool = False) -> list[str]:
    lines: list[str] = []
    documents = list(getattr(scheme, "documents", None) or [])
    if not documents_only:
        lines.append(say("answer_steps_title", name=scheme.name))
        steps = [step for step in (for_speaker(st, slots) for st in localized_list(scheme, "steps")[:4]) if step]
        lines += [f"{i}. {step}" for i, step in enumerate(steps, 1)]
    if documents:
        lines.append(say("answer_documents_title"))
        lines += [f"• {d}" for d in documents[:6]]
    elif documents_only and (passage := passage_for(slots, scheme.id)):
        lines.append(say("answer_passage", name=scheme.name, passage=passage))
    elif documents_only:
        lines.append(say("answer_documents_unknown", name=scheme.name, door=_door(scheme, slots)))
        lines += _first_step(scheme, slots)
    return lines


def _first_step(scheme: Scheme, slots: dict[str, Any]) -> list[str]:
    """« Que faire : » the scheme's first step, as said to whoever writes (`for_speaker`)."""
    step = for_speaker(localized_list(scheme, "steps")[0], slots) if scheme.steps else ""
    return [say("orientation_steps", step=step)] if step else []


def _amount(scheme: Scheme, slots: dict[str, Any]) -> list[str]:
    for result in slots.get("last_results") or []:  # an amount computed for the person comes first
        amount = result.get("amount") if result.get("scheme") == scheme.id else None
        if amount:
            text = amount.get("text") if isinstance(amount, dict) else str(amount)
            return [say("answer_amount_estimate", name=scheme.name, amount=text)]
    passage = passage_for(slots, scheme.id)
    if passage:  # « c'est payant ? » answered by the scheme's own words (« gratuitement »)
        return [say("answer_passage", name=scheme.name, passage=passage)]
    if scheme.amount:
        return [say("answer_amount", name=scheme.name, amount=localized(scheme, "amount").rstrip("."))]
    return [say("answer_amount_unknown", name=scheme.name, door=_door(scheme, slots))]


def _contact(scheme: Scheme, slots: dict[str, Any]) -> list[str]:
    """Contacts written in the scheme's own steps, and the places that carry it."""
    lines = [st for st in (for_speaker(st, slots) for st in localized_list(scheme, "steps")) if CONTACT_IN_TEXT.search(st)][:2]
    carriers = [s for s in get_kb().services if scheme.id in s.schemes and s.has_contact]
    if not lines and not carriers:
        return [say("answer_contact_unknown", name=scheme.name, door=_door(scheme, slots))]
    commune = commune_of(slots)
    if commune is not None:  # only places that serve the person: their zone, or near enough
        carriers = [s for s in carriers if serves_commune(s, commune)]
        if not lines and not carriers:
            return [say("answer_contact_unknown", name=scheme.name, door=_door(scheme, slots))]
    places = [f"📍 {service.nom} : {contact_text(service)}" for service in carriers[:2]]
    phone = any(PHONE_IN_TEXT.search(text) for text in (*lines, *places))
    title = say("answer_contact_title" if phone else "answer_contact_no_phone", name=scheme.name,
                door=_door(scheme, slots))
    return [title, *lines, *places]


def passage_for(slots: dict[str, Any], scheme_id: str) -> str | None:
    """The scheme's own sentence that answers the question asked (slot answer_passage: by scheme)."""
    passages = slots.get("answer_passage")
    return passages.get(scheme_id) if isinstance(passages, dict) else None


def field_texts(scheme: Scheme, kind: str) -> list[str]:
    """The fiche's texts an answer of this kind shows (its conditions, amount, steps, papers, summary)."""
    if kind == "conditions":
        return [*localized_list(scheme, "conditions_text"), *describe_conditions(scheme.conditions)]
    if kind == "amount":
        return [localized(scheme, "amount")] if scheme.amount else []
    if kind == "how":
        return localized_list(scheme, "steps")
    if kind == "documents":
        return list(getattr(scheme, "documents", None) or [])
    return [localized(scheme, "summary"), localized(scheme, "amount") if scheme.amount else "",
            *localized_list(scheme, "steps")[:1]]


def has_contact(scheme: Scheme) -> bool:
    """A contact written in the scheme's own steps, or a place carrying it that has one."""
    return any(CONTACT_IN_TEXT.search(st) for st in scheme.steps) or any(
        scheme.id in s.schemes and s.has_contact for s in get_kb().services)


def holding_answer(scheme_ids: list[str], kind: str, slots: dict[str, Any]) -> list[str]:
    """Of the schemes a question may be about, the ones whose fiche holds that kind of answer (an
    amount, a list of papers, a contact), in their order; all of them when none does."""
    kb = get_kb()
    holding = [s for s in scheme_ids if s in kb.schemes and holds_answer(kb.schemes[s], kind, slots)]
    return holding or scheme_ids


def holds_answer(scheme: Scheme, kind: str, slots: dict[str, Any]) -> bool:
    """The fiche holds that kind of answer: an amount (its own, or one computed for the person), a list
    of papers, a contact; any other kind, always."""
    if kind == "amount":
        return bool(scheme.amount) or any(r.get("amount") for r in slots.get("last_results") or []
                                          if r.get("scheme") == scheme.id)
    if kind == "documents":
        return bool(getattr(scheme, "documents", None))
    if kind == "contact":
        return has_contact(scheme)
    return True


class ActionAnswer(Action):
    def name(self) -> str:
        return "action_answer"

    def run(self, dispatcher: Any, tracker: Any, domain: Any) -> list[dict[str, Any]]:
        slots = tracker.current_slot_values()
        kb = get_kb()
        kind = slots.get("answer_kind") or "info"
        schemes = [s for s in (kb.scheme(i) for i in slots.get("answer_schemes") or [slots.get("focus_scheme") or ""])
                   if s is not None]
        done = [SlotSet("answer_kind", None), SlotSet("answer_passage", None), SlotSet("answer_schemes", None),
                *([SlotSet(s, None) for s in ("answer_unsure", "answer_money") if slots.get(s)])]
        if not schemes:
            dispatcher.utter_message(text=say("scheme_not_covered"))
            return done
        said: list[str] = []
        for scheme in schemes:  # one when the question said which; else each scheme shown
            said += self._answer_one(dispatcher, scheme, kind, slots)
        commune, door = commune_of(slots), say("door_for_person")
        # « la mairie ou une France Services peut vous le dire », or the fiche said not to answer
        # precisely (« …et à qui la poser : »): which ones, with their contacts
        if commune is not None and (slots.get("answer_unsure") or any(door in line for line in said)):
            doors = door_reply(slots, commune, intro="doors_intro_ask")
            if doors:
                dispatcher.utter_message(text=doors[0])
        links = [{"title": s.title or s.url, "url": s.url} for s in schemes[0].sources if s.url][:2]
        buttons = [
            {"title": label("buttons", "check_other" if is_third_person(slots) else "check"), "payload": "/affirm"},
            {"title": label("buttons", "where"), "payload": "/find_service_nearby"},
            {"title": label("buttons", "other_need"), "payload": "/ask_help"},
        ]
        dispatcher.utter_message(
            text=say("answer_more_other" if is_third_person(slots) else "answer_more"),
            buttons=buttons,
            json_message={"answer": kind, "scheme": schemes[0].id, "schemes": [s.id for s in schemes], "links": links},
        )
        return done

    @staticmethod
    def _answer_one(dispatcher: Any, scheme: Scheme, kind: str, slots: dict[str, Any]) -> list[str]:
        passage = passage_for(slots, scheme.id)
        if kind == "conditions":
            lines = _conditions(scheme, slots)
            if slots.get("answer_money") and holds_answer(scheme, "amount", slots):  # « il peut avoir une allocation ? »
                lines += _amount(scheme, slots)
        elif kind == "how":
            lines = _steps(scheme, slots)
        elif kind == "documents":
            lines = _steps(scheme, slots, documents_only=True)
        elif kind == "amount":
            lines = _amount(scheme, slots)
        elif kind == "contact":
            lines = _contact(scheme, slots)
        else:
            lines = [say("scheme_intro", name=scheme.name, summary=localized(scheme, "summary"))]
            unsaid = not_yet_said(passage, scheme.summary)
            if unsaid:
                lines.append(say("answer_passage", name=scheme.name, passage=unsaid))
            if scheme.amount:
                lines.append(say("scheme_amount", amount=localized(scheme, "amount").rstrip(".")))
            if scheme.status_note:
                lines.append(f"Attention : {scheme.status_note}")
            lines += _first_step(scheme, slots)
        if passage and kind in ("conditions", "how", "contact"):  # the fiche's sentence that answers, first
            body = _renumbered([line for line in lines[1:] if passage not in line])  # the title only if more follows
            lines = [say("answer_passage", name=scheme.name, passage=passage), *([lines[0], *body] if body else [])]
        head, rest = lines[0], lines[1:]
        dispatcher.utter_message(text=head)
        if rest:
            dispatcher.utter_message(text="\n".join(rest))
        return lines

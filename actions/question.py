"""action_ask_question: the form's next question, chosen by the knowledge base's chooser."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from actions.common import evaluate, facts_from_slots, get_kb
from actions.plan import planned_described
from actions.sdk import Action, SlotSet
from bot.dialogue.responses import current_language, label
from knowledge.eligibility import Status
from knowledge.questions import QuestionCatalogue
from knowledge.schema import Question

MAX_QUESTIONS = 7
#: a benefit computed by OpenFisca needs many facts: after this many questions, orient with an
#: estimate "à vérifier" and the official simulator rather than a questionnaire
BENEFIT_QUESTIONS = 3
SCREENING_QUESTIONS = 5
#: an orientation on several needs asks fewer questions: those that settle the most planned schemes
PLAN_QUESTIONS = 3
SCREENING_SKIP = {"owns_vacant_dwelling"}
#: once its quick questions are asked, a screening asks the facts the benefits need to be computed
BENEFIT_FACTS = frozenset({"household_adults", "monthly_income", "rent"})


@lru_cache(maxsize=4)
def _catalogue(kb_id: int) -> QuestionCatalogue:
    kb = get_kb()
    return QuestionCatalogue(kb.questions, kb.gazetteer)


def catalogue() -> QuestionCatalogue:
    return _catalogue(id(get_kb()))


def question_text(question: Question, third_person: bool | None) -> str:
    """Agents and ambassadeurs describe someone else: ask about "la personne". In the turn's language."""
    if current_language() == "en":
        english = question.text_other_en if third_person and question.text_other_en else question.text_en
        if english:
            return english
    return question.text_other if third_person and question.text_other else question.text


def question_buttons(question: Question, slots: dict[str, Any] | None = None) -> list[dict[str, str]]:
    """The question's options as buttons; for the commune, the one where an ambassadrice meets the person
    first (« je suis au marché de Péronne avec une dame »: likely hers, not surely; round 57, sc-109)."""
    buttons = []
    met_at = get_kb().gazetteer.get((slots or {}).get("outreach_commune") or "") if question.fact == "commune" else None
    if met_at is not None:
        buttons.append({"title": met_at.nom, "payload": met_at.nom})
    english = current_language() == "en"
    for option in question.options:
        title = (option.title_en or option.title) if english else option.title
        if option.value is None:
            buttons.append({"title": title, "payload": "/dont_know"})
        else:  # the payload stays the French title, which the answer parser reads
            buttons.append({"title": title, "payload": option.title})
    if question.fact in ("age", "children_ages", "situation", "housing", "single_parent", "commune", "household_adults"):
        buttons.append({"title": label("buttons", "dont_know"), "payload": "/dont_know"})
    return buttons


def first_open(candidates: list[str], slots: dict[str, Any]) -> str | None:
    """The first of the candidates (best first) that no known fact rules out."""
    return next((r.scheme_id for r in evaluate(candidates, slots) if r.status is not Status.not_eligible), None)


def primary_candidate(candidates: list[str], slots: dict[str, Any]) -> str | None:
    """The need's scheme to settle first: not refused, fitting what is known, need order otherwise."""
    results = evaluate(candidates, slots)
    open_ = [(i, r) for i, r in enumerate(results) if r.status is not Status.not_eligible]
    if not open_:
        return None
    return min(open_, key=lambda item: (-item[1].specificity, item[0]))[1].scheme_id


def _benefit_beside(primary: str, described: list[str], slots: dict[str, Any]) -> str | None:
    """The benefit to settle when the scheme settled first, a rules scheme, needs nothing more.

    Only when that scheme is a place open to whoever it serves (shown as « un lieu qui peut aider »)
    and a benefit described beside it was read more surely: « seule avec 3 enfants » reads the ASF at
    0.98 beside the centre social at 0.58, and the ASF's children's ages are asked rather than left as
    « cela dépend de l'âge de vos enfants ». Not the chèque énergie at 0.74 beside the FSL at 0.98 for
    a gas cut-off: no questions before that answer."""
    if not evaluate([primary], slots)[0].open_to_all:
        return None
    kb = get_kb()
    relevance = {s: p for item in slots.get("plan") or [] for s, p in (item.get("relevance") or {}).items()}
    return next((s for s in described if s != primary and s in kb.schemes and kb.schemes[s].openfisca is not None
                 and relevance.get(s, 0.0) > relevance.get(primary, 0.0)), None)


def choose_question(slots: dict[str, Any]) -> Question | None:
    """The next question, or None when it is time to orient.

    A need or a named scheme has a primary scheme (the named one, or the need's first): only
    the facts that settle it are asked. A general screening ("quelles aides pour moi ?") asks
    up to SCREENING_QUESTIONS questions that settle the most schemes. Then the commune, needed
    to point to a place.
    """
    declined = set(slots.get("declined") or [])
    facts = facts_from_slots(slots)
    candidates = list(slots.get("candidates") or [])
    screening = slots.get("screening") or not slots.get("need")
    several = len(slots.get("plan") or []) > 1
    described = planned_described(slots.get("plan") or [])
    kb = get_kb()
    pool = described or candidates  # the scheme the person described comes first; a rules scheme
    pool = [c for c in pool if c in kb.schemes and kb.schemes[c].openfisca is None] or pool  # before a benefit
    # of the schemes the person described, the likeliest still open is settled first (the prime de sortie
    # de vacance asked about, by the commune of the empty house, before France Rénov' that already fits)
    primary = slots.get("focus_scheme") or (None if screening or several else (
        first_open(pool, slots) if described else primary_candidate(pool, slots)))
    asked = slots.get("questions_asked") or 0
    question = None
    if (several or (screening and described)) and not slots.get("focus_scheme"):
        # only the facts that settle the first (most urgent) need's schemes, the described ones first
        # (a screening that started from a described scheme settles that one, not every scheme)
        first = (slots.get("plan") or [{}])[0]
        wanted = first.get("described") or first.get("schemes") or candidates
        wanted = [c for c in wanted if c in kb.schemes and kb.schemes[c].openfisca is None] or wanted  # rules first
        # the facts of the one that fits best so far: a 17-year-old going camping with friends is
        # not asked about children for the family holiday aid the reader also brushed
        best = primary_candidate(wanted, slots)
        if asked < PLAN_QUESTIONS and best is not None:
            question = catalogue().next_question(evaluate([best], slots), facts, declined | SCREENING_SKIP)
    elif asked < MAX_QUESTIONS:
        benefit = primary in kb.schemes and kb.schemes[primary].openfisca is not None
        if primary and not (benefit and asked >= BENEFIT_QUESTIONS):
            question = catalogue().next_question(evaluate([primary], slots), facts, declined)
            if question is None and asked < BENEFIT_QUESTIONS and (beside := _benefit_beside(primary, described, slots)):
                question = catalogue().next_question(evaluate([beside], slots), facts, declined)
        elif asked < SCREENING_QUESTIONS:  # a vacant dwelling is not worth asking everyone about
            # a quick screening asks what the rules schemes need; the facts only OpenFisca needs
            # (income by kind, rent...) are asked when a need or a scheme points to one benefit
            rules = [c for c in candidates if c in kb.schemes and kb.schemes[c].openfisca is None]
            question = catalogue().next_question(evaluate(rules, slots), facts, declined | SCREENING_SKIP)
        if question is None and screening and not described:
            # « faire le point sur tout »: the national benefits are what people most often miss, and
            # without the household and its income OpenFisca computes none of them (nor the housing aid
            # without the rent), within MAX_QUESTIONS
            benefits = [c for c in candidates if c in kb.schemes and kb.schemes[c].openfisca is not None]
            question = catalogue().next_question(evaluate(benefits, slots), facts,
                                                 declined | (set(catalogue().questions) - BENEFIT_FACTS))
    if question is None and not slots.get("commune") and "commune" not in declined:
        question = catalogue().get("commune")
    return question


class ActionAskQuestion(Action):
    def name(self) -> str:
        return "action_ask_question"

    def run(self, dispatcher: Any, tracker: Any, domain: Any) -> list[dict[str, Any]]:
        slots = tracker.slots if hasattr(tracker, "slots") else tracker.current_slot_values()
        question = choose_question(slots)
        if question is None:
            return [SlotSet("asking", None)]
        custom = {"request_location": True} if question.fact == "commune" else {"question": question.fact}
        dispatcher.utter_message(text=question_text(question, tracker.get_slot("third_person")),
                                 buttons=question_buttons(question, slots), json_message=custom)
        asked = (tracker.get_slot("questions_asked") or 0) + 1
        return [SlotSet("asking", question.fact), SlotSet("questions_asked", asked)]

"""The dialogue engine: NLU -> state update -> policy (rules + a form) -> actions -> replies.

State is a JSON-able dict: slots (facts and flow), the pending sub-dialogue, counters and a
short event history (intent and entity names only — never message texts). Rules handle
fixed patterns (danger first, erasure, greetings, help, human, off-topic, "pourquoi ?");
the form asks the question the knowledge base's chooser picks until schemes are settled;
actions (actions/, Rasa SDK shape) do the knowledge work and produce the messages.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

from actions import ALL_ACTIONS
from actions.answer import field_texts, has_contact, holding_answer
from actions.common import (
    commune_of,
    door_reply,
    evaluate,
    need_numbers_text,
    needs_catalogue,
    outside_region,
    search,
    set_kb,
    set_reader,
)
from actions.emergency import numbers_answer
from actions.orientation import fact_label
from actions.passages import (
    also_answering,
    answers_what_is_asked,
    asks_a_figure,
    asks_a_sum,
    asks_beyond_kind,
    asks_what_none_says,
    best_passages,
    each_answering,
    named_by_words,
    person_area,
    person_words,
    states_amount,
    states_figure,
)
from actions.plan import FILL_MIN, need_of, plan, planned_described, planned_schemes
from actions.question import catalogue, question_buttons, question_text
from actions.sdk import LocalDispatcher, LocalTracker
from actions.services import end_buttons
from actions.speaker import own_schemes
from bot.dialogue.api import Button, Incoming, Reply, Turn
from bot.dialogue.danger import DangerDetector
from bot.dialogue.reading import (
    ANSWERS,
    MIN_SCORE,
    NEED_GUESS,
    PLACES,
    RELEVANCE_FLOOR,
    ROLE_CONFIDENCE,
    STRONG,
    WORKPLACES,
    Reading,
    needs_of_own_child,
    read_turn,
    speaker_entities,
    take_uncovered,
)
from bot.dialogue.responses import current_language, label, localized, need_title, say, say_about, say_all
from bot.dialogue.turn_start import begin_turn, end_turn, without_repeated_numbers
from bot.nlu.entities import SCHEME_OR_SITUATION, Entity, names_the_scheme
from bot.nlu.interpreter import Interpreter, ParseResult
from bot.nlu.normalize import normalize
from bot.nlu.person import declared_role
from knowledge.answers import MONEY_FACTS, is_refusal, parse_yes_no, refused_money
from knowledge.eligibility import Status, reasons_in
from knowledge.facts import FACT_NAMES, situations_of
from knowledge.kb import KnowledgeBase
from knowledge.questions import ParsedAnswer
from knowledge.textnorm import fold
from knowledge.uncovered import for_own_child

PRIME_VACANCE = re.compile(r"\bprimes? (?:de |a la |d )?vacances?\b")
RESUME_AFTER = {"out_of_scope", "greet", "thanks", "ask_help"}
STATE_VERSION = 1
#: the needs that are a danger of their own: read there, the reader says which numbers to give
DANGER_OF_NEED = {"violences": "violence", "hebergement": "shelter"}
#: after these dangers' numbers, the orientation follows at once (the CIDFF, a shelter); after a
#: threat to life or health (suicide, a medical emergency) the numbers stand alone
ORIENT_AFTER_DANGER = {"violence", "shelter"}  # a child in danger: the 119, not parenting schemes for whoever reports it
#: the kinds of answer whose matching sentence says which scheme shown a question is about
PASSAGE_CHOOSES = ("info", "amount", "documents")
#: the kinds of question a fiche may not answer precisely: then it is said, before what is known (a
#: who-for, an amount, the papers have their own fields, which answer more often than not: the
#: fourteenth round's judges saw the warning before the BAFA's 200 €)
HONEST_KINDS = ("info", "how")
#: ... and those whose field (the conditions, the amount) is said not to answer when the question says a
#: word that asks (lexicon `answer_words`: « avancer », « combien de temps ») and the field has no word
#: that answers it (« il faut avancer l'argent ? » got the chèque énergie's amount, sc-016)
UNANSWERED_KINDS = ("conditions", "amount")
#: a follow-up question is about the shown scheme it is most relevant to, from this probability up
#: (else the first shown): the situation reader reads "le relais" or "les papiers pour la CAF"
FOLLOW_UP_RELEVANCE = 0.1
#: ... or this many times as relevant as the next one shown (from the reader's floor up)
FOLLOW_UP_MARGIN = 1.5
#: a follow-up that says no scheme is answered for at most this many of the schemes shown
AMBIGUOUS_ANSWERS = 2
CONFIDENT = 0.5
#: below this, a request for a person that is also a question about what was shown is the question
HUMAN_SURE = 0.6
MAX_TEXT = 2000
HISTORY = 40
HOLIDAY_SCHEMES = {
    "sac-ados",
    "ancv-depart-18-25",
    "pass-colo",
    "dix-mille-departs-vacances",
    "aide-vacances-familles-caf",
    "colos-apprenantes",
}
YOUTH_NEEDS = ("vacances", "jeunes", "loisirs")
SOCIAL = ("greet", "goodbye", "thanks")
#: needs that mean "all my rights": with enough facts known, a general screening
SCREENING_NEEDS = ("ressources", "demarches")
#: questions asked in a flow that orients on several needs (the commune comes on top)
PLAN_QUESTIONS = 3
#: a need the reader leans to, under its threshold, from this probability up leads the need buttons
#: when the turn is not understood (« je voudrais voir un psychologue mais je n'ai pas les moyens »: the
#: health need at 0.28 comes first, not after eight others), at most LEANING_SHOWN of them
LEANING = 0.2
LEANING_SHOWN = 2
MAIN_NEEDS = [
    "alimentation",
    "budget",
    "garde_enfant",
    "cantine",
    "vacances",
    "logement",
    "emploi",
    "demarches",
]
INTERRUPTING = {
    "ask_why",
    "ask_human",
    "ask_help",
    "erase_data",
    "out_of_scope",
    "greet",
    "goodbye",
    "thanks",
    "ask_scheme_info",
    "find_service_nearby",
    "check_eligibility",
    "express_need",
}
ERASE_WORDS = {
    "oubli",
    "effacer mes donnees",
    "efface mes donnees",
    "supprimer mes donnees",
    "effacer",
    "oublie moi",
    "delete my data",
}
FLOW_SLOTS = (
    "need",
    "service_type",
    "candidates",
    "focus_scheme",
    "asking",
    "questions_asked",
    "oriented",
    "last_results",
    "screening",
    "plan",
    "needs",
    "shown",
    "answer_kind",
    "answer_passage",
    "answer_schemes",
    "answer_unsure",
    "answer_money",
    "shown_places",
    "place_question",
    "place_schemes",
    "place_need",
)


def _buttons(items: list[dict[str, str]]) -> list[Button]:
    return [Button(b["title"], b["payload"]) for b in items]


#: from this age a son or a daughter is described as a person of their own (« mon fils de 19 ans »)
ADULT_AGE = 18


def _about_own_children(parse: ParseResult) -> bool:
    """A parent writing about their own minor children: the facts are the writer's household."""
    ages = [a for e in parse.entities if e.entity == "children_ages" and e.subject is None for a in e.value]
    return bool(ages) and max(ages) < ADULT_AGE and parse.first("third_person") is None


def _said_in_a_question(text: str, start: int | None) -> bool:
    """The sentence that holds this position asks (it ends with « ? », or the message has no end)."""
    end = re.search(r"[.!?\n]", text[start or 0:])
    return end is None or end.group() == "?"


def _entity_facts(entities: list[Entity]) -> dict[str, Any]:
    return {e.entity: e.value for e in entities if e.entity in FACT_NAMES}


class DialogueEngine:
    def __init__(self, kb: KnowledgeBase, interpreter: Interpreter, retention_days: int = 30) -> None:
        self.kb = kb
        self.interpreter = interpreter
        self.retention_days = retention_days
        self.danger = DangerDetector.load()
        self.actions = {action.name(): action for action in ALL_ACTIONS}
        set_kb(kb)
        if getattr(interpreter, "reader", None) is not None:  # a scripted reading (tests) has none
            set_reader(self._place_needs)

    def _place_needs(self, text: str) -> list[tuple[str, float]]:
        """What a place's own text is about (the situation reader's needs)."""
        return self.interpreter.reader.read(text).needs

    # ------------------------------------------------------------------ contract
    def new_state(self) -> dict[str, Any]:
        return {
            "v": STATE_VERSION,
            "slots": {"declined": []},
            "pending": None,
            "greeted": False,
            "turns": 0,
            "ask_attempts": 0,
            "events": [],
        }

    def summary(self, state: dict[str, Any]) -> dict[str, Any]:
        slots = (state or {}).get("slots", {})
        commune = self.kb.gazetteer.get(slots["commune"]) if slots.get("commune") else None
        return {
            "facts": {k: slots[k] for k in FACT_NAMES if slots.get(k) is not None},
            "commune": {"code_insee": commune.code_insee, "nom": commune.nom} if commune else None,
            "need": slots.get("need"),
            "schemes": slots.get("last_results") or [],
            "oriented": bool(slots.get("oriented")),
            "turns": (state or {}).get("turns", 0),
        }

    def handle(self, state: dict[str, Any], incoming: Incoming) -> Turn:
        state, incoming = begin_turn(state or self.new_state(), incoming)  # typed button title; reply language
        st = copy.deepcopy(state) if state else self.new_state()
        st.setdefault("slots", {}).setdefault("declined", [])
        st["turns"] = st.get("turns", 0) + 1
        turn = _TurnContext(self, st)
        if incoming.has_location:
            parse = self._location_parse(st, incoming)
            text = ""
        else:
            text = (incoming.text or "").strip()[:MAX_TEXT]
            if not text:
                turn.utter(say("nothing_received"), self.need_buttons())
                return turn.finish()
            parse = self.interpreter.parse(text)
        turn.log({"intent": parse.intent, "entities": sorted({e.entity for e in parse.entities})})
        if self._is_erase(text, parse):
            return Turn(state={}, replies=[Reply(say("erase_done"))], erase=True)
        if self._handle_danger(turn, text, parse):
            return turn.finish()
        if not st.get("greeted") and incoming.channel == "telegram":
            st["greeted"] = True  # Telegram's /start, always sent first, already introduced us
        if not st.get("greeted"):
            st["greeted"] = True
            turn.utter(say("welcome", variant=0))
            turn.utter(say("privacy", variant=0, days=self.retention_days))
            if self._is_small_talk(parse):
                turn.utter(say("ask_need", variant=0), self.need_buttons())
                return turn.finish()
        self._policy(turn, text, parse)
        return turn.finish()

    # ------------------------------------------------------------------ steps
    def _location_parse(self, st: dict[str, Any], incoming: Incoming) -> ParseResult:
        # ~1 km precision is enough for "the nearest place" and keeps less about where someone is
        lat, lon = round(float(incoming.latitude or 0), 2), round(float(incoming.longitude or 0), 2)
        commune = self.kb.gazetteer.nearest(lat, lon)
        st["slots"]["location_lat"], st["slots"]["location_lon"] = lat, lon
        entities = (
            [Entity("commune", commune.code_insee, text=commune.nom, extractor="location")] if commune else []
        )
        return ParseResult("", "give_location", 1.0, entities, "fr", [("give_location", 1.0)])

    @staticmethod
    def _is_erase(text: str, parse: ParseResult) -> bool:
        folded = fold(text)
        if folded in ERASE_WORDS or text.strip().lower().startswith("/oubli"):
            return True
        return parse.intent == "erase_data" and parse.confidence >= 0.6

    def _handle_danger(self, turn: _TurnContext, text: str, parse: ParseResult) -> bool:
        """Danger first: the numbers for the kind of danger, then, for violence or a night outside,
        the orientation on what was said (the CIDFF, a shelter...) in the same turn.

        The danger patterns (danger.yml) decide alone; the intent classifier's "emergency" counts
        only when the situation reader reads no other clear need ("le plafond menace de tomber"
        is a housing problem, not a threat)."""
        kinds = self.danger.detect(text)
        situation = getattr(parse, "situation", None)
        read = dict(situation.needs) if situation is not None else {}
        other_need = any(p >= STRONG and n not in DANGER_OF_NEED for n, p in read.items())
        emergency = parse.intent == "emergency" and parse.confidence >= 0.55 and not other_need
        if not kinds and not emergency:
            return False
        if not kinds:  # the kind of danger the reader reads, if any (a night outside: the 115)
            keyword = set(parse.values("need"))  # a second reading: « s'il est à la rue » is shelter at 0.47
            wanted = {DANGER_OF_NEED[n] for n, p in read.items() if n in DANGER_OF_NEED
                      and (p >= MIN_SCORE or (p >= NEED_GUESS and n in keyword))}
            if "violence" in wanted and parse.first("children_count"):
                wanted.add("child")  # violence where a child is spoken of: the 119 first
            kinds = sorted((k for k in self.danger.kinds if k.name in wanted), key=lambda k: k.name != "child")
        slots = turn.slots
        numbers = self.danger.numbers_for(kinds) if kinds else []
        if self.danger.prefers_sms(text):
            numbers = ["114", *[n for n in numbers if n != "114"]]  # SMS first for who cannot call
        slots["danger_numbers"] = numbers or None
        names = {k.name for k in kinds}
        orient = bool(names) and names <= ORIENT_AFTER_DANGER and any(p >= MIN_SCORE for p in read.values())
        slots["danger_then_orientation"] = orient or None
        if (situation is not None and situation.role != "self" and situation.role_confidence >= ROLE_CONFIDENCE
                and not slots.get("third_person")):  # a witness, an ambassadeur: « si la personne est en danger »
            slots["third_person"] = True
        if (declared := declared_role(text)) in ("agent", "ambassadeur") and not slots.get("role"):
            # said, not guessed (« je suis ambassadrice, une ado m'a confié… »): the turns after the numbers
            # speak to her as an ambassadrice, as they would had there been no danger
            slots["role"], slots["third_person"] = declared, True
        greeted = turn.state.get("greeted")
        turn.state["greeted"] = True
        turn.run("action_emergency")
        if not greeted:  # the numbers first; then who answers (a machine) and what is kept,
            # before the offer that carries the buttons
            at = len(turn.replies) - 1 if turn.replies and turn.replies[-1].buttons else len(turn.replies)
            turn.replies[at:at] = [Reply(say("welcome", variant=0)),
                                   Reply(say("privacy", variant=0, days=self.retention_days))]
        if orient:  # the numbers, then what can help with what was said
            self._policy(turn, text, parse)
            return True
        self._apply_entities(turn, parse)
        if "violence" in names or "child" in names:
            slots["need"] = "violences"
        elif "shelter" in names:
            slots["need"] = "logement"
        turn.state["pending"] = "offer_services"
        return True

    def _is_small_talk(self, parse: ParseResult) -> bool:
        """A greeting or an unclear message with nothing about help in it (the situation reader's
        needs and schemes count: « une dame me parle de bons pour les légumes » is not small talk)."""
        useful = {"scheme", "need", "service_type", "commune", *FACT_NAMES}
        situation = getattr(parse, "situation", None)
        read = [p for _x, p in [*situation.needs, *situation.schemes]] if situation is not None else []
        has_content = any(e.entity in useful for e in parse.entities) or any(p >= MIN_SCORE for p in read)
        return (
            parse.intent in {"greet", "thanks", "affirm", "deny", "goodbye", "nlu_fallback"}
            and not has_content
        )

    def _apply_entities(
        self, turn: _TurnContext, parse: ParseResult, ignore: list[Entity] | None = None
    ) -> dict[str, Any]:
        """Fill any slot from the message (not the speaker's own facts, such as an agent's workplace);
        returns the facts that changed (a correction included)."""
        slots = turn.slots
        changed: dict[str, Any] = {}
        about_person = [e for e in parse.entities if not any(e is i for i in ignore or [])]
        for name, value in _entity_facts(about_person).items():
            if slots.get(name) != value:
                changed[name] = (slots.get(name), value)
                slots[name] = value
                if name in slots.get("declined", []):
                    slots["declined"].remove(name)
        if "children_count" in changed and changed["children_count"][1] == 0:
            slots["children_ages"] = []
        if "situation" in changed and "situation_also" not in changed:
            slots.pop("situation_also", None)  # a new situation said alone replaces all of them
        if (
            "commune" in changed
            and parse.intent != "give_location"
            and "location_lat" in slots
            and parse.text != ""
        ):
            slots.pop("location_lat", None)
            slots.pop("location_lon", None)
        return changed

    def _acknowledge(self, turn: _TurnContext, reading: Reading) -> None:
        """A loss or anger said with a request, in one short sentence before the answer, once each
        (abuse with nothing asked has its own calm answer)."""
        feeling = self.danger.feeling(reading.text)
        if feeling is None and reading.content and self.danger.is_abusive(reading.text):
            feeling = "anger"
        if feeling == "grief" and (turn.slots.get("role") or reading.role) in ("agent", "ambassadeur"):
            feeling = None  # a professional telling of a widow is not the one in mourning
        done = turn.state.setdefault("acknowledged", [])
        if feeling and feeling not in done and (reading.content or feeling == "grief"):
            done.append(feeling)
            turn.utter(say(f"feeling_{feeling}"))

    # ------------------------------------------------------------------ policy
    def _policy(self, turn: _TurnContext, text: str, parse: ParseResult) -> None:
        slots, st = turn.slots, turn.state
        intent = (
            parse.intent
            if parse.confidence >= CONFIDENT or parse.intent.startswith("nlu")
            else "nlu_fallback"
        )
        if parse.text.startswith("/"):
            intent = parse.intent
        reader = getattr(self.interpreter, "reader", None)
        scores = (lambda: reader.scores(parse.text, "role")) if reader is not None and not slots.get("asking") else None
        reading = read_turn(parse, intent, self.kb, slots, scores)
        self._acknowledge(turn, reading)
        if reading.role != "self" and not slots.get("asking"):  # an answer to a question says no role
            slots["role"] = reading.role
            # questions are about the person concerned, not the speaker: an agent's, an
            # ambassadeur's or a relative's ("ma mère a 70 ans") — « Quel âge a la personne ? »
            slots["third_person"] = reading.role in ("agent", "ambassadeur", "relative") or None
            if reading.role == "relative" and _about_own_children(parse):
                slots["third_person"] = None  # « mon fils de 11 ans… » : the writer's own household, « vous »
        turn.child_needs = needs_of_own_child(text, [*reading.needs, *parse.values("need")], self._keyword_needs)
        minor = [n for n, age in turn.child_needs.items() if age is None or age < ADULT_AGE]
        if minor and slots.get("role") not in ("agent", "ambassadeur"):  # the AEEH, not yet covered; not for
            # « mon fils de 26 ans a un handicap », an adult whose own rights the AAH is
            reading.uncovered += [t for t in for_own_child(minor) if t not in reading.uncovered]
        if reading.role == "agent" and not slots.get("workplace"):  # "agent CCAS de Bully": a CCAS
            places = [t for t in parse.values("service_type") if t in WORKPLACES]
            slots["workplace"] = places[0] if places else None
        if reading.received:  # « on touche l'ARS »: what the person has is not offered to them
            slots["received_schemes"] = sorted({*(slots.get("received_schemes") or []), *reading.received})
        if reading.workplace_schemes:  # « conseillère à la mission locale »: never offered the mission locale
            slots["workplace_schemes"] = sorted({*(slots.get("workplace_schemes") or []), *reading.workplace_schemes})
        theirs = speaker_entities(parse, reading.role)
        # « elle peut toucher le RSA ? » asks, it does not say she does; « Je suis au RSA avec deux enfants.
        # … c'est vrai ? » says it, in a sentence of its own that asks nothing, and so does « je suis au rsa,
        # g droit a koi dautre ? », where the RSA bare is the situation (SCHEME_OR_SITUATION)
        named = [e.value for e in parse.entities if e.entity == "scheme" and e.value in self.kb.schemes
                 and _said_in_a_question(text, e.start)
                 and (e.value not in SCHEME_OR_SITUATION or names_the_scheme(text, e.start or 0))]
        asked: set[str] = set()
        if reading.asks in ANSWERS and named:
            asked = {s.value for n in named for s in self.kb.schemes[n].received_as}
            theirs += [e for e in parse.entities if e.entity == "situation" and e.value in asked]
        workplace_communes = [e.value for e in theirs if e.entity == "commune"]
        if reading.role == "agent" and workplace_communes and not slots.get("workplace_commune"):
            slots["workplace_commune"] = workplace_communes[0]  # « CCAS d'Amiens »: where the agent works
        also = next((e for e in parse.entities if e.entity == "commune_also"), None)
        if also is not None and any(e.entity == "commune" for e in theirs):  # « … Une famille de Longueau »
            parse.entities.append(Entity("commune", also.value, also.start, also.end, also.text))
        if slots.get("asking") == "vacant_dwelling_commune" and slots.get("commune"):
            # the empty dwelling's commune does not replace the home said before (« il habite Péronne »);
            # with no home said, it is where the places are looked for, as before
            theirs += [e for e in parse.entities if e.entity == "commune"]
        changed = self._apply_entities(turn, parse, ignore=theirs)
        if refused_money(text):  # « elle veut pas dire ses revenus »: never asked
            for fact in MONEY_FACTS:
                self._decline(slots, fact)
        reading.facts_given = bool(changed)
        asking = slots.get("asking")
        if "commune" in changed and asking != "commune":
            self._ack_commune(turn, correction=changed["commune"][0] is not None)
        met_at = parse.first("outreach_commune")
        if met_at is not None and not slots.get("commune"):  # proposed when her commune is asked
            slots["outreach_commune"] = met_at

        if asking and not changed and not reading.content and self.danger.is_abusive(text):
            turn.utter(say("abuse"))  # « t'es un robot de merde, réponds » : a word, and the question again,
            self._ask(turn, asking)  # not a hand-off that would replace what the person came for
            return
        if asking:
            answered = self._answer_question(turn, asking, text, parse, changed, asked)
            if answered:
                if changed and slots.get("oriented") and "commune" not in changed:
                    self._ack_correction(turn, changed)
                self._continue(turn)
                return
            # a question about a scheme named (« et l'AAH, vous connaissez ? ») is answered, then the
            # question asked comes back (round 32, sc-086)
            asks_named = bool(reading.named) and (reading.asks in ANSWERS or text.rstrip().endswith("?"))
            if intent not in INTERRUPTING and not asks_named:
                if changed:  # other facts given instead: keep them, the chooser asks again if needed
                    slots["asking"] = None
                    before = len(turn.replies)
                    self._continue(turn)
                    if slots.get("asking") == asking:  # the same question again: give up after twice
                        st["ask_attempts"] = st.get("ask_attempts", 0) + 1
                        if st["ask_attempts"] >= 2:
                            turn.replies.pop()
                            self._decline(slots, asking)
                            slots["asking"], st["ask_attempts"] = None, 0
                            self._continue(turn)
                        else:  # « locataire » to a question about the QF: taken, said, then the question
                            turn.utter(say("noted_then_question"))
                            turn.replies.insert(before, turn.replies.pop())
                else:
                    self._reask(turn, asking)
                return

        if st.get("pending") and self._handle_pending(turn, reading, parse, changed):
            return
        self._dispatch(turn, reading, changed)
        if asking and slots.get("asking") == asking and intent in RESUME_AFTER:
            self._ask(turn, asking)  # back to the point: the question still open

    def _dispatch(self, turn: _TurnContext, reading: Reading, changed: dict[str, Any]) -> None:
        """The first rule of TURN_RULES whose condition holds decides the turn."""
        self._say_uncovered(turn, reading)
        for rule in TURN_RULES:
            if rule.when(self, turn, reading):
                turn.log({"rule": rule.name})
                rule.then(self, turn, reading, changed)
                return

    def _say_uncovered(self, turn: _TurnContext, reading: Reading) -> None:
        """An aid named that the base does not cover: said so once (« Je ne connais pas encore la
        pension de réversion »), before the doors of its need (reading.take_uncovered)."""
        fresh = take_uncovered(reading, turn.slots, self.kb)
        if not fresh:
            return
        english = current_language() == "en"
        turn.utter(say("uncovered_topic", names=" ; ".join(t.name_en if english else t.name for t in fresh)))
        for topic in fresh:
            if topic.where:  # where to ask, as an official page says it (quoted, never reworded)
                turn.utter(say("uncovered_where", site=topic.where["site"], quote=topic.where["quote"]))

    def _answer_question(
        self, turn: _TurnContext, asking: str, text: str, parse: ParseResult, changed: dict[str, Any],
        asked: Collection[str] = (),
    ) -> bool:
        """The asked fact read from the answer. `asked`: the situations a question names as asked about,
        not had (« il peut avoir le RSA à 22 ans ? » while his situation is asked is no « Je touche le RSA »)."""
        slots = turn.slots
        filled = asking in changed or (asking == "children_count" and "children_ages" in changed)
        if not filled and text:
            answer = catalogue().parse(asking, text)
            if not answer.facts and not answer.dont_know and normalize(text) != fold(text):
                answer = catalogue().parse(asking, normalize(text))  # in SMS spelling (« depui 2021 »)
            if any(str(value) in asked for value in answer.facts.values()):
                answer = ParsedAnswer()
            if answer.facts:
                for name, value in answer.facts.items():
                    if slots.get(name) != value:
                        changed[name] = (slots.get(name), value)
                    slots[name] = value
                if "situation" in answer.facts:
                    slots.pop("situation_also", None)
                filled = True
            elif answer.dont_know or is_refusal(text) or (parse.intent == "dont_know" and parse.confidence >= CONFIDENT):
                refused = is_refusal(text) and asking in MONEY_FACTS  # money refused: none of it is asked
                for fact in MONEY_FACTS if refused else (asking,):
                    self._decline(slots, fact)
                estimate = asking == "quotient_familial" and not refused
                turn.utter(say_about("qf_estimate_offer", bool(slots.get("third_person"))) if estimate
                           else say("dont_know_ok"))
                filled = True
        if asking == "commune" and "commune" in changed:
            self._ack_commune(turn, correction=False)
        if filled:
            slots["asking"] = None
            turn.state["ask_attempts"] = 0
        return filled

    @staticmethod
    def _decline(slots: dict[str, Any], fact: str) -> None:
        """A refused fact is never asked again in this conversation."""
        declined = slots.setdefault("declined", [])
        if fact not in declined:
            declined.append(fact)

    def _ask(self, turn: _TurnContext, fact: str) -> None:
        """The one place that asks for a fact (never a refused one)."""
        if fact in turn.slots.get("declined", []):
            return
        question = catalogue().get(fact)
        turn.slots["asking"] = fact
        turn.utter(question_text(question, turn.slots.get("third_person")), _buttons(question_buttons(question, turn.slots)),
                   {"request_location": True} if fact == "commune" else {"question": fact})

    def _reask(self, turn: _TurnContext, asking: str) -> None:
        st, slots = turn.state, turn.slots
        st["ask_attempts"] = st.get("ask_attempts", 0) + 1
        question = catalogue().get(asking)
        if st["ask_attempts"] >= 3 or (asking == "commune" and st["ask_attempts"] >= 2):
            self._decline(slots, asking)
            slots["asking"] = None
            st["ask_attempts"] = 0
            turn.utter(say("dont_know_ok"))
            self._continue(turn)
            return
        if asking == "commune":
            turn.utter(say("commune_unknown"), custom={"request_location": True})
            return
        hint = question.help or say("dont_know_hint")
        turn.utter(say("fallback_in_question", help=hint))
        self._ask(turn, asking)

    def _ack_commune(self, turn: _TurnContext, correction: bool) -> None:
        commune = self.kb.gazetteer.get(turn.slots["commune"])
        if commune is None:
            return
        if correction:
            turn.utter(say("correction_ack", what=f"{commune.nom} ({commune.departement})"))
        else:
            turn.utter(say("commune_ack", commune=commune.nom, departement=commune.departement))
        if outside_region(commune):
            turn.utter(say("outside_region", commune=commune.nom))

    def _ack_correction(self, turn: _TurnContext, changed: dict[str, Any]) -> None:
        what = []
        if all(old is None for old, _new in changed.values()):
            return  # new facts, not corrections: the flow goes on without comment
        for name, (_old, new) in changed.items():
            if name == "commune":
                commune = self.kb.gazetteer.get(new)
                what.append(commune.nom if commune else str(new))
            elif name == "age":
                what.append(f"{new} ans")
        if what:
            turn.utter(say("correction_ack", what=", ".join(what)))

    def _handle_pending(
        self, turn: _TurnContext, reading: Reading, parse: ParseResult, changed: dict[str, Any]
    ) -> bool:
        st, slots = turn.state, turn.slots
        pending = st.get("pending")
        intent = reading.intent
        if pending == "prime":
            needs = {*reading.needs, *parse.values("need")}
            if needs & {"logement_vacant", "logement"} or "prime-sortie-vacance" in reading.schemes:
                st["pending"] = None
                self._start_check(turn, ["prime-sortie-vacance"])
                return True
            if "vacances" in needs or HOLIDAY_SCHEMES.intersection(reading.schemes):
                st["pending"] = None
                self._start_need(turn, "vacances")
                return True
            return False
        if pending == "confirm_check":
            first_word = parse_yes_no(parse.text.split()[0]) if parse.text.split() else None
            if intent in ("affirm", "check_eligibility") or first_word is True or (
                changed and intent not in ("deny", "ask_scheme_info")
            ):
                st["pending"] = None
                # the answer was about several schemes (« c'est combien qu'ils payent ? » after the nutri-chèques
                # and « Mieux manger »): check those, not a scheme of none (round 56, sc-114: « je n'ai pas
                # trouvé d'aide » with no question asked)
                targets = [slots["focus_scheme"]] if slots.get("focus_scheme") else self._described_shown(slots)
                if not targets:
                    turn.utter(say("anything_else"), self.need_buttons())
                    return True
                # the ones with something of the person to check come first (their questions are asked)
                open_to_all = {r.scheme_id: r.open_to_all for r in evaluate(targets, slots)}
                self._start_check(turn, sorted(targets, key=open_to_all.__getitem__), introduce=False)
                return True
            if intent == "deny" or first_word is False:
                st["pending"] = None
                turn.utter(say("anything_else"), self.need_buttons())
                return True
            st["pending"] = None  # another question: answered by the table below
            return False
        if pending in ("offer_services", "services", "human"):
            if intent == "deny":
                st["pending"] = None
                turn.utter(say("anything_else"), self.need_buttons())
                return True
            if (
                intent == "affirm"
                or "commune" in changed
                or intent in ("give_location", "find_service_nearby")
            ):
                if not slots.get("commune"):
                    self._ask_commune(turn, pending if pending != "offer_services" else "services")
                    return True
                st["pending"] = None
                turn.run("action_human_handoff" if pending == "human" else "action_nearby_services")
                return True
        return False

    # ------------------------------------------------------------------ the turn's rules (conditions)
    def _subject(self, turn: _TurnContext, reading: Reading) -> str | None:
        """The scheme a question is about: named now, described now, in focus, or the first shown."""
        subjects = self._subjects(turn, reading)
        return subjects[0] if subjects else None

    def _subjects(self, turn: _TurnContext, reading: Reading) -> list[str]:
        """The schemes a question is about, the likeliest first: one when the question says which
        (named, described, in focus, or the shown scheme its words are about); the schemes shown,
        in their order, when nothing says which (« comment je fais la demande ? » after the prime
        d'activité and the relais petite enfance)."""
        if reading.named:
            return [reading.named[0]]
        shown = [s for s in turn.slots.get("shown") or [] if s in self.kb.schemes]
        if len(shown) > 1 and len(by_name := named_by_words([self.kb.schemes[s] for s in shown], reading.text)) == 1:
            return by_name  # « c'est combien une place en crèche ? » after the crèches AVIP and the relais
        clear = reading.clear_schemes  # none is named here: the ones described clearly
        # « c'est quoi ? » is about the scheme described when it is all the message is about: not about an
        # aid named that the base does not cover (« et l'APA, c'est quoi ? »), nor beside needs the schemes
        # described do not serve (a mother who no longer goes out nor drives: not the centres sociaux alone),
        # nor after an orientation, where « ça » is what was shown (« ça peut aussi aider pour faire garder
        # mes enfants ? » after Activ'Emploi is no question about the relais petite enfance)
        about_it = reading.asks != "info" or (not reading.uncovered and not turn.slots.get("oriented") and all(
            need_of(s, [n]) for n in reading.needs for s in clear[:1]))
        if clear and clear[0] == reading.schemes[0] and reading.asks not in ("orientation", "conditions") and about_it:
            return [reading.schemes[0]]  # a scheme described clearly enough to be asked about
        if reading.needs and not turn.slots.get("oriented"):
            return []
        focus = turn.slots.get("focus_scheme")
        if len(shown) > 1 and reading.relevance:  # "c'est ouvert quand, le relais ?": the one it is about
            ranked = sorted(shown, key=lambda s: (-reading.relevance.get(s, 0.0), shown.index(s)))  # type: ignore[union-attr]
            best, second = (reading.relevance.get(s, 0.0) for s in ranked[:2])
            if best >= FOLLOW_UP_RELEVANCE or best >= FOLLOW_UP_MARGIN * max(second, RELEVANCE_FLOOR):
                return [ranked[0]]  # clearly more about one of them (« le relais » : 0.08 against 0)
        if focus in self.kb.schemes:
            return [str(focus)]
        # nothing says which: the ones the person described first (« des bons pour acheter des légumes
        # chez les fermiers » then « c'est combien qu'ils payent ? » is about the nutri-chèques, not the
        # épicerie solidaire shown beside them, round 55, sc-114)
        return self._described_shown(turn.slots) or shown

    def _described_shown(self, slots: dict[str, Any]) -> list[str]:
        """The schemes shown that the person described, in the order shown."""
        described = set(planned_described(slots.get("plan") or []))
        return [s for s in slots.get("shown") or [] if s in self.kb.schemes and s in described]

    def _is_prime_ambiguous(self, turn: _TurnContext, reading: Reading) -> bool:
        """"prime vacance" names both the ANAH vacancy bonus and holiday aids: ask which, unless
        the rest of the message already says (an empty dwelling, or going on holiday): the reading
        then keeps that meaning only."""
        if reading.intent in ("ask_human", "ask_help", "out_of_scope") or reading.payload:
            return False
        normalized = normalize(reading.text)
        named_both = "prime-sortie-vacance" in reading.named and HOLIDAY_SCHEMES.intersection(reading.named)
        if not named_both and not PRIME_VACANCE.search(normalized):
            return False
        rest = PRIME_VACANCE.sub(" ", normalized)
        needs = {e.value for e in self.interpreter.extractor.need_entities(rest)}
        reader = getattr(self.interpreter, "reader", None)
        if reader is not None and rest.strip():  # "... pour partir avec les enfants cet été"
            needs.update(n for n, p in reader.read(rest).needs if p >= STRONG)
        if True in [e.value for e in self.interpreter.extractor.extract(rest) if e.entity == "owns_vacant_dwelling"]:
            needs.add("logement_vacant")
        holidays, dwelling = "vacances" in needs, "logement_vacant" in needs
        if holidays == dwelling and reading.relevance:  # the whole message may still say which: « jai 20 ans,
            # une prime vacance pour les jeunes » reads the young people's holiday aids at 0.95, the empty
            # dwelling's bonus under 0.1 (« c'est quoi la prime vacance ? »: 0.78 and 0.53, ask)
            holiday = max(reading.relevance.get(s, 0.0) for s in HOLIDAY_SCHEMES)
            vacant = reading.relevance.get("prime-sortie-vacance", 0.0)
            holidays = holiday >= MIN_SCORE and vacant < FILL_MIN
            dwelling = vacant >= MIN_SCORE and holiday < FILL_MIN
        if holidays != dwelling:  # the rest says which: the other meaning's scheme was not named
            wrong = {"prime-sortie-vacance"} if holidays else set(HOLIDAY_SCHEMES)
            reading.named = [s for s in reading.named if s not in wrong]
            reading.schemes = [s for s in reading.schemes if s not in wrong]
            meant, other = ("vacances", "logement_vacant") if holidays else ("logement_vacant", "vacances")
            # nor is the other meaning's need (the holiday aids came beside the empty house's bonus)
            reading.needs = list(dict.fromkeys([meant, *(n for n in reading.needs if n != other)]))
        return not holidays and not dwelling

    def _is_need_denied(self, turn: _TurnContext, reading: Reading) -> bool:
        """"ce n'est pas le problème" after an orientation: the need read was wrong."""
        return (reading.intent == "deny" and not reading.facts_given and bool(turn.slots.get("needs"))
                and bool(turn.slots.get("oriented")))

    def _asks_about_scheme(self, turn: _TurnContext, reading: Reading) -> bool:
        if reading.asks not in ANSWERS:
            return False
        if (reading.intent == "check_eligibility" and reading.named and reading.asks in ("info", "conditions")
                and not (reading.asks == "conditions" and turn.slots.get("oriented"))):
            return False  # "j'y ai droit ?" about a named scheme: check it with the person's facts (after an
            # orientation, « elle peut toucher le RSA à 23 ans ? » gets its conditions, judged on what is known)
        subject = self._subject(turn, reading)
        if subject is None:
            return False
        # "le numéro de la France Services ?" asks for a place; a scheme's own contact is an answer
        return reading.asks != "contact" or (has_contact(self.kb.schemes[subject]) and not reading.service_types)

    def _asks_about_nothing_shown(self, turn: _TurnContext, reading: Reading) -> bool:
        """« Is it free? » after an orientation that showed places only, or after emergency numbers
        (« ça coûte quelque chose d'appeler ? »): no scheme to answer about."""
        if (turn.slots.get("numbers_given") and not turn.slots.get("shown") and not reading.content
                and reading.text.rstrip().endswith("?") and reading.intent not in ("ask_human", "emergency")
                and not (reading.asks in PLACES and reading.asks_read and turn.slots.get("shown_places"))):
            return True  # (« c'est ouvert le matin, l'accueil de jour ? » is about a place shown)
        return (reading.asks in ANSWERS and reading.asks not in PLACES and reading.asks_read
                and bool(turn.slots.get("oriented")) and not reading.content and not turn.slots.get("shown"))

    def _answers_about_numbers(self, turn: _TurnContext, reading: Reading) -> bool:
        """A question after emergency numbers were given, with no scheme to be about."""
        if reading.content or reading.payload:
            return False
        lines = numbers_answer(turn.slots.get("numbers_given") or [], reading.text)
        if not lines:
            return False
        for line in lines:
            turn.utter(line)
        turn.utter(say("anything_else"), self.need_buttons())
        return True

    def _no_subject(self, turn: _TurnContext, reading: Reading, changed: dict[str, Any]) -> None:
        if self._answers_about_numbers(turn, reading):
            return
        turn.utter(say("answer_no_subject"))
        doors = door_reply(turn.slots, commune_of(turn.slots))
        if doors is not None:
            turn.utter(doors[0])
        turn.utter(say("anything_else"), self.need_buttons())

    def _asks_place(self, turn: _TurnContext, reading: Reading) -> bool:
        known = reading.content or reading.payload or any(turn.slots.get(k) for k in ("oriented", "need", "focus_scheme"))
        if reading.asks in PLACES and not known:
            return False  # a place for nothing said (« vous avez regardé Lens-PSG ? »)
        if reading.asks in PLACES:
            # « je cherche un endroit où aller avec ma fille… et des bons pour les légumes » before
            # any orientation: every need read is oriented on (the orientation ends with the places)
            described = bool(reading.needs or reading.schemes) and not (reading.named or reading.service_types)
            return not (described and not turn.slots.get("oriented"))
        vague = not (reading.needs or reading.schemes)  # a place of a kind, or "where?" about what was said
        return (reading.intent == "find_service_nearby" and not reading.needs) or (
            bool(reading.service_types) and vague)

    def _asks_shown_place(self, turn: _TurnContext, reading: Reading) -> bool:
        """« c'est où ? », « c'est ouvert quand ? » after places were shown: about them, nothing new."""
        slots = turn.slots
        new_needs = set(reading.needs) - set(slots.get("needs") or [])
        # a need with its own numbers that no scheme shown serves (« elle peut aller où ce soir ? »
        # after the CIDFF: a bed, the 115) is asked for itself, not about the places shown
        shown = [s for s in slots.get("shown") or [] if s in self.kb.schemes]
        new_needs |= {n for n in self._asked_needs(turn, reading) if needs_catalogue().get(n, {}).get("numbers")
                      and not any(need_of(s, [n]) for s in shown)}
        return (reading.asks in PLACES and reading.asks_read and bool(slots.get("oriented"))
                and bool(slots.get("shown_places") or slots.get("commune"))  # a place, or the doors shown
                and not reading.named and not reading.service_types
                and not new_needs and not reading.commune_given)

    def _shown_place(self, turn: _TurnContext, reading: Reading, changed: dict[str, Any]) -> None:
        turn.slots["place_question"] = reading.text  # cleared by the action (only to pick the place)
        # « et pour internet, il y a quelqu'un près de chez elle ? » after the PCB, the FSL and the conseillers
        # numériques: the places of that need, not the first scheme's door (round 55, sc-111)
        turn.slots["place_need"] = next((n for n in reading.needs if n in (turn.slots.get("needs") or [])), None)
        turn.run("action_shown_place")

    def _names_scheme(self, turn: _TurnContext, reading: Reading) -> bool:
        return bool(reading.named) and len(reading.needs) <= 1 and reading.intent not in ("deny", "dont_know")

    def _asks_unknown(self, turn: _TurnContext, reading: Reading) -> bool:
        return (reading.asks == "info" or reading.intent == "ask_scheme_info") and not reading.content

    @staticmethod
    def _follow_up(turn: _TurnContext, reading: Reading) -> bool:
        """"combien ?", "comment faire ?" after an orientation: a question about it."""
        return reading.asks_read and reading.asks != "orientation" and bool(turn.slots.get("oriented"))

    def _is_off_topic(self, turn: _TurnContext, reading: Reading) -> bool:
        """Off topic, or abuse with nothing asked (« t'es un robot de merde, réponds » is no request for a person)."""
        if not reading.content and self.danger.is_abusive(reading.text):
            return True
        return reading.intent == "out_of_scope" and not reading.strong_content and not self._follow_up(turn, reading)

    def _repeats_needs(self, turn: _TurnContext, reading: Reading) -> bool:
        """The needs just oriented on, read again with nothing new: not worth the same answer twice."""
        slots = turn.slots
        old = set(slots.get("needs") or [])
        return (bool(slots.get("oriented")) and bool(old) and bool(reading.needs) and set(reading.needs) <= old
                and not reading.facts_given and reading.asks == "orientation" and not reading.wants_others
                and not set(reading.schemes) - set(slots.get("shown") or []))

    def _has_situation(self, turn: _TurnContext, reading: Reading) -> bool:
        """Needs or schemes read; a short fact ("41", "Noyon") must read them clearly to count."""
        return bool(reading.needs or reading.schemes) and (
            not reading.intent.startswith("give_") or reading.strong_content or not reading.need_scores)

    def _gives_facts_in_flow(self, turn: _TurnContext, reading: Reading) -> bool:
        """"3 enfants de 4, 9 et 11 ans" after an orientation: facts for it, not a new need."""
        in_flow = bool(turn.slots.get("candidates") or turn.slots.get("oriented"))
        return (reading.facts_given and in_flow and not reading.named and not reading.follow_up
                and (reading.asks == "orientation" or reading.intent.startswith("give_"))
                and (reading.intent.startswith("give_") or reading.intent in ("affirm", "deny")
                     or not reading.strong_content))

    def _asks_screening(self, turn: _TurnContext, reading: Reading) -> bool:
        """"voilà ma situation, quelles aides pour moi ?": a general screening, not one need. Nothing known
        about the person and no need read firmly (« je voudrais savoir à quelles aides j'ai droit »): a
        screening too, which first asks what it is about; it was an orientation on the money need brushed
        (0.4), which asked three questions of the PAJE, the one scheme of that need above FILL_MIN, and
        ended on « ✖️ PAJE : a priori pas pour vous ». A situation said is enough to start one (« je suis
        au RSA, j'ai droit à quoi d'autre ? » was an orientation on the money need that showed « ✖️ RSA :
        vous le percevez déjà » and nothing else)."""
        # a need brushed (« une dame au marché » : lien social at 0.51) does not make it an orientation; nor
        # does a need whose schemes the person all receives (« je touche l'AAH, d'autres aides pour moi ? »)
        received = set(reading.received)
        firm = [n for n in reading.firm_needs
                if not (schemes := needs_catalogue().get(n, {}).get("schemes")) or not received.issuperset(schemes)]
        return (reading.intent == "check_eligibility" and not reading.named
                and not (reading.wants_others and reading.needs)  # « d'autres aides pour louer ? »: that need
                and all(n in SCREENING_NEEDS for n in firm)
                and (self._knows_person(turn.slots) or not firm or self._situation_said(turn.slots)))

    # ------------------------------------------------------------------ the turn's rules (actions)
    def _ask_prime(self, turn: _TurnContext, reading: Reading, changed: dict[str, Any]) -> None:
        turn.state["pending"] = "prime"
        buttons = [
            Button(label("prime_options", "logement"), '/choose_scheme{"scheme": "prime-sortie-vacance"}'),
            Button(label("prime_options", "vacances"), '/express_need{"need": "vacances"}'),
        ]
        turn.utter(say("ambiguity_prime"), buttons)

    def _social(self, turn: _TurnContext, reading: Reading, changed: dict[str, Any]) -> None:
        if reading.intent == "goodbye":
            turn.utter(say("goodbye"))
        else:
            turn.utter(say("greet_again" if reading.intent == "greet" else "thanks"), self.need_buttons())

    def _help(self, turn: _TurnContext, reading: Reading, changed: dict[str, Any]) -> None:
        for text in say_all("help"):
            turn.utter(text)
        turn.utter(say("ask_need", variant=0), self.need_buttons())

    def _human(self, turn: _TurnContext, reading: Reading, changed: dict[str, Any]) -> None:
        if turn.slots.get("commune"):
            turn.run("action_human_handoff")
        else:
            self._ask_commune(turn, "human")

    def _off_topic(self, turn: _TurnContext, reading: Reading, changed: dict[str, Any]) -> None:
        key = "abuse" if self.danger.is_abusive(reading.text) else "out_of_scope"
        turn.utter(say(key), self.need_buttons())

    def _drop_needs(self, turn: _TurnContext, reading: Reading, changed: dict[str, Any]) -> None:
        slots = turn.slots
        old = list(slots.get("needs") or [])
        fresh = [n for n in reading.needs if n not in old]
        dropped = [n for n in old if n in reading.needs] or ([] if fresh else old)
        slots["dropped_needs"] = list(dict.fromkeys([*(slots.get("dropped_needs") or []), *dropped]))
        if fresh:
            labels = ", ".join(need_title(n, needs_catalogue().get(n, {}).get("label", n)) for n in dropped)
            if labels:
                turn.utter(say("need_dropped", label=labels))
            self._orient_on(turn, fresh, [s for s in reading.schemes if s not in (slots.get("shown") or [])],
                            relevance=reading.relevance, named=reading.clear_schemes, said=reading.named,
                            firm=reading.firm_needs)
            return
        self._reset_flow(slots)
        turn.utter(say("need_dropped_ask"), self.need_buttons())

    def _ask_what_is_missing(self, turn: _TurnContext, reading: Reading, changed: dict[str, Any]) -> None:
        labels = ", ".join(need_title(n, needs_catalogue().get(n, {}).get("label", n)) for n in reading.needs)
        turn.utter(say("need_repeat", label=labels), self.need_buttons())

    def _answer(self, turn: _TurnContext, reading: Reading, changed: dict[str, Any]) -> None:
        slots = turn.slots
        kind = reading.asks
        subjects = self._subjects(turn, reading)
        # the scheme's own sentence that answers a precise question (« c'est payant ? »), if any
        schemes = [self.kb.schemes[s] for s in subjects]
        wanted = not reading.payload
        person = person_words(slots)
        # papers differ from one fiche to the next: each fiche's own, best first, else the best passage
        here = person_area(slots)
        each = each_answering(schemes, reading.text, person, here) if wanted and kind == "documents" and len(schemes) > 1 else {}
        found = each or (best_passages(schemes, reading.text, person=person, here=here) if wanted and kind in PASSAGE_CHOOSES else {})
        if wanted and kind == "documents" and found:  # « elle doit apporter quoi à la mairie ? » (sc-064)
            others = [self.kb.schemes[s] for s in slots.get("shown") or [] if s in self.kb.schemes and s not in subjects]
            room = max(0, AMBIGUOUS_ANSWERS - len(subjects))
            extra = dict(list(also_answering(schemes, others, reading.text, person, here).items())[:room])
            subjects, schemes = subjects + list(extra), schemes + [self.kb.schemes[s] for s in extra]
            found.update(extra)
        if kind == "amount" and asks_a_sum(reading.text):  # a sentence that says no amount
            # does not answer « combien ? »; where the fiche has an amount of its own, only a sentence with a
            # figure says more (« le fsl ca peut payer combien ? » got « peut aider à payer l'entrée dans un
            # logement… », not « Subvention ou prêt, montant fixé par chaque département », round 55, sc-113)
            figure = asks_a_figure(reading.text)
            found = {s: text for s, text in found.items()
                     if states_amount(text) and (states_figure(text) or not (figure and self.kb.schemes[s].amount))}
        if kind == "documents":  # « quelles pièces pour le dossier ? » is answered by a sentence that names
            # a paper, not by « les Départements ont des aides pour payer la dette » (sc-081, round 30)
            found = {s: text for s, text in found.items() if answers_what_is_asked(reading.text, text, needs_asking=False)}
        if (kind == "info" and slots.get("third_person") and not found and schemes
                and not asks_beyond_kind(schemes[0], reading.text, kind)):
            # an agent asks what to check for the person (« c'est confidentiel ? »: the sentence); a
            # precise question the fiche does not answer (« la place dure combien de temps ? ») is
            # said to be unanswered, not answered by the conditions (sc-076)
            kind = "conditions"
        if wanted and kind not in PASSAGE_CHOOSES:
            # a how, a who-for or a contact is a sentence only when the question says more than its kind
            found = best_passages(schemes, reading.text, min_words=2, person=person, here=here)
        passages = {s: found.get(s) for s in subjects}
        if len(subjects) > 1:  # nothing said which scheme shown: the ones whose words or fields answer
            # (a how, a who-for, a contact is in every fiche: its words do not say which one)
            # but a precise how found in a sentence of one of them (« faut réserver combien de temps
            # avant ? »: the transport solidaire's « 48 heures avant ») is about that one
            beyond = asks_beyond_kind(self.kb.schemes[subjects[0]], reading.text, kind)
            precise = kind in PASSAGE_CHOOSES or beyond
            chosen = [s for s in found if passages.get(s)] if precise else []  # best first
            # a precise question no fiche answers (« il faut avancer l'argent ? » after the works aids) is
            # about what was shown first, not about the one fiche that happens to hold an amount (the chèque
            # énergie's, sc-016): its silence is said with the door
            unanswered = not chosen and (beyond or asks_what_none_says(reading.text, []))
            subjects = (chosen or (subjects if unanswered else holding_answer(subjects, kind, slots)))[:AMBIGUOUS_ANSWERS]
        subject = subjects[0]
        # « ils viennent à domicile ? » after France Services and the conseillers numériques: what
        # each says, when more than one fiche answers; otherwise what one is
        several = kind == "info" and sum(1 for s in subjects if passages[s]) > 1
        slots["answer_schemes"] = subjects if kind != "info" or several else [subject]
        slots["focus_scheme"] = subject if len(slots["answer_schemes"]) == 1 else None
        slots["answer_passage"] = {s: passages[s] for s in slots["answer_schemes"] if passages[s]} or None
        # a scheme only described (not named, not shown) is asked about because its name is not known: the
        # words beyond « c'est quoi ? » describe it (« des bons pour les légumes chez les producteurs »)
        described_only = kind == "info" and subject not in reading.named and subject not in (slots.get("shown") or [])
        unsure = wanted and not described_only and not any(passages[s] for s in subjects) and reading.text.rstrip().endswith("?") and (
            (kind in HONEST_KINDS and asks_beyond_kind(self.kb.schemes[subject], reading.text, kind))
            or (kind in UNANSWERED_KINDS and asks_what_none_says(reading.text, field_texts(self.kb.schemes[subject], kind))))
        if unsure:  # « expulsé quand ? », « il doit faire les démarches lui-même ? »: not said, what is
            # known follows, then whom to ask
            turn.utter(say("answer_not_in_fiche"))
        # "la différence entre le CCAS et France Services": both, briefly; « c'est quoi ? » about two schemes
        # described clearly (« une prime vacance pour les jeunes » : Départ 18:25 and Sac Ados), both too
        described = [s for s in reading.clear_schemes if s != subject]
        for other in reading.named[1:2] if reading.named else described[:1] if described_only else []:
            scheme = self.kb.schemes[other]
            turn.utter(say("scheme_intro", name=scheme.name, summary=localized(scheme, "summary")))
        if kind == "info" and not several:
            turn.run("action_scheme_info")  # what a scheme is, told alone, ends with its first step
        else:
            slots["answer_kind"] = kind
            slots["answer_unsure"] = unsure or None  # action_answer then gives the doors near the person
            # « il peut avoir une allocation ? »: who it is for, then how much (sc-080, round 45)
            slots["answer_money"] = (kind == "conditions" and asks_a_sum(reading.text)) or None
            turn.run("action_answer")
        turn.state["pending"] = "confirm_check"

    def _asks_sheet(self, turn: _TurnContext, reading: Reading) -> bool:
        """« vous pouvez me sortir une fiche récapitulative ? »: after an orientation, or before any
        (then there is nothing to sum up yet); a new situation said with it is oriented first."""
        return reading.asks == "summary" and (bool(turn.slots.get("oriented")) or not reading.content)

    def _sheet(self, turn: _TurnContext, reading: Reading, changed: dict[str, Any]) -> None:
        """The last orientation again, as the one sheet it already makes (to print, copy or hand over)."""
        if not turn.slots.get("oriented"):
            turn.utter(say("summary_nothing"), self.need_buttons())
            return
        made = turn.run_apart("action_orientation")
        sheet = next((r.custom["summary"] for r in made if r.custom.get("summary")), None)
        if sheet is None:  # the orientation made no sheet (nothing open any more): it is said as is
            turn.replies += made
            return
        turn.utter(say("summary_sheet_intro"))
        turn.utter(sheet, made[-1].buttons, {"summary": sheet})

    def _places(self, turn: _TurnContext, reading: Reading, changed: dict[str, Any]) -> None:
        slots = turn.slots
        if not reading.strong_content and slots.get("asking"):
            turn.utter(say("out_of_scope"))  # "un kebab ouvert vers Amiens ?" in the middle of a question
            self._ask(turn, slots["asking"])
            return
        asked_needs = self._asked_needs(turn, reading)
        need = asked_needs[0] if asked_needs else None
        subjects = self._subjects(turn, reading)
        if not reading.named and asked_needs:  # « elle peut aller où ce soir ? » after the CIDFF: a bed
            subjects = [s for s in subjects if need_of(s, asked_needs)]  # tonight, not the CIDFF's office
        # nothing says which of the schemes shown (« qui s'occupe des dossiers à Pont-à-Vendin ? »): the
        # places of all of them, not the first one's summary and places (sc-087, round 30)
        subject = subjects[0] if len(subjects) == 1 else None
        slots["place_schemes"] = subjects if len(subjects) > 1 else None
        if reading.service_types and not reading.named and subject is not None and not self._of_kind(
                subject, reading.service_types[0]):
            subject = None  # « c'est où la maison des solidarités ? »: that kind of place, not the PCB shown
        slots["service_type"] = (
            reading.service_types[0] if reading.service_types
            else None if (reading.needs or subject or slots.get("need")) else "france-service"
        )
        if need:
            slots["need"] = need
            if not slots.get("oriented") and not subject and not slots.get("place_schemes"):
                slots["needs"] = asked_needs  # no scheme asked about: oriented on, should the commune be refused
        if subject:
            slots["focus_scheme"] = subject
            scheme = self.kb.schemes[subject]  # say which scheme the places are for
            turn.utter(say("places_for_scheme", name=scheme.name, summary=localized(scheme, "summary")))
        elif asked_needs:  # « et pour internet, il y a quelqu'un près de chez elle ? » after the PCB: the
            slots["focus_scheme"] = None  # places for that need, not the PCB's door (round 55, sc-111)
        if slots.get("commune"):
            turn.run("action_nearby_services")
        else:
            self._ask_commune(turn, "services")

    @staticmethod
    def _asked_needs(turn: _TurnContext, reading: Reading) -> list[str]:
        """The needs a question is about: those read; after an orientation on several needs, when it
        reads none, the one it is likeliest about, as for the schemes shown (FOLLOW_UP_RELEVANCE and
        FOLLOW_UP_MARGIN): « elle peut aller ou ce soir » after the violence and the bed is the bed
        (0.2), not the CIDFF's office (sc-055)."""
        needs = [n for n in turn.slots.get("needs") or [] if n]
        if reading.needs or not turn.slots.get("oriented") or len(needs) < 2 or not reading.need_relevance:
            return list(reading.needs)
        ranked = sorted(needs, key=lambda n: (-reading.need_relevance.get(n, 0.0), needs.index(n)))
        best, second = (reading.need_relevance.get(n, 0.0) for n in ranked[:2])
        if best >= FOLLOW_UP_RELEVANCE and best >= FOLLOW_UP_MARGIN * max(second, RELEVANCE_FLOOR):
            return [ranked[0]]
        return []

    def _of_kind(self, scheme_id: str, service_type: str) -> bool:
        """Whether a scheme is found at that kind of place (its networks, or the scheme it is)."""
        kind = needs_catalogue().get(service_type, {})
        scheme = self.kb.schemes[scheme_id]
        return (scheme_id in (kind.get("own_schemes") or [])
                or bool(set(kind.get("networks") or []).intersection(scheme.where_to_go)))

    def _check_named(self, turn: _TurnContext, reading: Reading, changed: dict[str, Any]) -> None:
        self._start_check(turn, reading.named, need=reading.needs[0] if reading.needs else None)

    def _not_covered(self, turn: _TurnContext, reading: Reading, changed: dict[str, Any]) -> None:
        if self._answers_about_numbers(turn, reading):
            return
        found = search().search_schemes(reading.text, limit=1, min_score=80)  # shared, indexes built once
        if found:
            turn.slots["focus_scheme"] = found[0][0].id
            turn.run("action_scheme_info")
            turn.state["pending"] = "confirm_check"
            return
        key = "scheme_not_covered_agent" if turn.slots.get("role") == "agent" else "scheme_not_covered"
        turn.utter(say(key), self.need_buttons())

    def _orient(self, turn: _TurnContext, reading: Reading, changed: dict[str, Any]) -> None:
        slots = turn.slots
        needs = list(reading.needs)
        old = slots.get("needs") or []
        if slots.get("oriented") and old and [n for n in needs if n not in old]:
            needs = [n for n in needs if n not in old]  # already answered: orient on what is new
        schemes, relevance = reading.schemes, reading.relevance
        if reading.wants_others:  # « d'autres aides pour louer ? »: not the schemes shown again
            shown = set(slots.get("shown") or [])
            schemes = [s for s in schemes if s not in shown]
            relevance = {s: p for s, p in (relevance or {}).items() if s not in shown}
        # a scheme named is said, even to say it is not for them; an uncovered aid's doors are shown
        self._orient_on(turn, needs, [*schemes, *reading.doors], focus=reading.named[0] if reading.named else None,
                        relevance=relevance, named=[*reading.clear_schemes, *reading.doors], said=reading.named,
                        firm=reading.firm_needs)

    def _screen(self, turn: _TurnContext, reading: Reading, changed: dict[str, Any]) -> None:
        slots = turn.slots
        if not reading.all_asked and not self._knows_person(slots) and not self._situation_said(slots):
            turn.utter(say("ask_need", variant=0), self.need_buttons(with_all=True))
            return
        self._reset_flow(slots)
        first = planned_schemes(plan(reading.needs, reading.schemes, slots))
        # never the speaker's own kind of place, nor what the person receives (« je touche l'AAH »)
        mine = own_schemes(slots) | set(slots.get("received_schemes") or [])
        slots["candidates"] = [s for s in dict.fromkeys([*first, *self.kb.schemes]) if s not in mine]
        # the schemes the person named or described lead the screening's answer (« je
        # travaille à mi-temps, 780 €, la CAF peut m'aider ? » : the prime d'activité first)
        slots["plan"] = [{"need": None, "described": reading.schemes, "schemes": slots["candidates"],
                          "screening": True,
                          "relevance": {s: p for s, p in (reading.relevance or {}).items() if p >= FILL_MIN}}]
        slots["screening"] = True
        slots["questions_asked"] = 0
        self._continue(turn)

    def _dont_know(self, turn: _TurnContext, reading: Reading, changed: dict[str, Any]) -> None:
        turn.utter(say("dont_know_generic"), self.need_buttons())

    def _after_facts(self, turn: _TurnContext, reading: Reading, changed: dict[str, Any]) -> None:
        slots, intent = turn.slots, reading.intent
        flow_active = bool(slots.get("candidates")) and not slots.get("oriented")
        if changed and slots.get("oriented") and slots.get("candidates"):
            if "commune" not in changed:
                self._ack_correction(turn, changed)
            slots["oriented"] = False
            self._continue(turn)
        elif flow_active:
            self._continue(turn)
        elif "commune" in changed and slots.get("oriented") and (slots.get("service_type") or slots.get("need")):
            turn.run("action_nearby_services")  # "non, j'habite à Arras": the places again, for Arras
        elif "commune" in changed:
            turn.utter(say("ask_need", variant=0), self.need_buttons(with_all=True))
        elif changed:
            leaning = self._leaning(turn, reading)
            turn.utter(say("noted_ask_leaning" if leaning else "noted_ask_need", variant=0),
                       self.need_buttons(with_all=True, leading=leaning))
        elif intent == "give_location" and reading.commune_given:  # the same commune again
            self._ack_commune(turn, correction=False)
            turn.utter(say("ask_need", variant=0), self.need_buttons(with_all=True))
        elif intent == "give_location":
            turn.utter(say("commune_unknown"), custom={"request_location": True})
            slots["asking"] = "commune"
        elif intent in ("affirm", "deny"):
            turn.utter(say("anything_else"), self.need_buttons())
        else:
            leaning = self._leaning(turn, reading)
            turn.utter(say("fallback_leaning" if leaning else "fallback"), self.need_buttons(leading=leaning))

    @staticmethod
    def _leaning(turn: _TurnContext, reading: Reading) -> list[str]:
        """The needs the reader leans to, under its threshold, that were not set aside: the likeliest
        meanings of a turn not understood, offered first."""
        dropped = set(turn.slots.get("dropped_needs") or [])
        ranked = sorted(reading.need_relevance.items(), key=lambda kv: -kv[1])
        return [n for n, p in ranked if p >= LEANING and n in needs_catalogue() and n not in dropped][:LEANING_SHOWN]

    # ------------------------------------------------------------------ flows
    def _knows_person(self, slots: dict[str, Any]) -> bool:
        return sum(1 for f in FACT_NAMES if f != "commune" and slots.get(f) is not None) >= 2

    @staticmethod
    def _situation_said(slots: dict[str, Any]) -> bool:
        """The person said their situation or a benefit they receive (« je suis au RSA », « je touche l'AAH »)."""
        return bool(situations_of(slots) or slots.get("received_schemes"))

    def _reset_flow(self, slots: dict[str, Any]) -> None:
        for name in FLOW_SLOTS:
            slots.pop(name, None)

    def _start_check(self, turn: _TurnContext, scheme_ids: list[str], need: str | None = None,
                     introduce: bool = True) -> None:
        """Check named schemes; a single one is first introduced in one line."""
        slots = turn.slots
        need = need or (slots.get("need") if len(scheme_ids) > 1 else None)
        self._reset_flow(slots)
        slots["need"] = need
        slots["needs"] = [need] if need else []
        if introduce and len(scheme_ids) == 1 and scheme_ids[0] in self.kb.schemes:
            scheme = self.kb.schemes[scheme_ids[0]]
            turn.utter(say("scheme_intro", name=scheme.name, summary=localized(scheme, "summary")))
        slots["candidates"] = list(dict.fromkeys(scheme_ids))
        slots["focus_scheme"] = scheme_ids[0] if len(scheme_ids) <= 2 else None
        slots["questions_asked"] = 0
        self._youth_for_child(turn, need or "")  # « mon fils de 17 ans voudrait passer le BAFA »: his age
        self._continue(turn)

    def _start_need(self, turn: _TurnContext, need: str) -> None:
        self._orient_on(turn, [need], [])

    def _orient_on(self, turn: _TurnContext, needs: list[str], schemes: list[str], focus: str | None = None,
                   relevance: dict[str, float] | None = None, named: list[str] | None = None,
                   said: list[str] | None = None, firm: list[str] | None = None) -> None:
        """Every need read, urgent ones first, each with the few schemes relevant to what was said;
        then only the questions that settle them. `firm`: the needs read firmly (all, by default: a
        need chosen with a button)."""
        slots = turn.slots
        self._reset_flow(slots)
        items = plan(needs, schemes, slots, relevance, named or (), said or (), firm=firm)
        slots["plan"] = items
        slots["needs"] = [i["need"] for i in items if i["need"]]
        slots["need"] = slots["needs"][0] if slots["needs"] else None
        slots["candidates"] = planned_schemes(items)
        slots["focus_scheme"] = focus if focus in slots["candidates"] else None
        slots["questions_asked"] = 0
        self._need_numbers(turn, slots["needs"])
        if slots["need"]:
            self._youth_for_child(turn, slots["need"])
        self._child_concerned(turn)
        if not slots["candidates"]:
            item = needs_catalogue().get(slots["need"] or "", {})
            turn.utter(say("need_no_scheme", label=need_title(slots["need"] or "", item.get("label", "cela"))))
            if slots.get("commune"):
                turn.run("action_nearby_services")
            else:
                self._ask_commune(turn, "services")
            return
        self._continue(turn)

    @staticmethod
    def _need_numbers(turn: _TurnContext, needs: list[str]) -> None:
        """The free numbers a need brings (needs.yml `numbers`: the 115 for a bed, the 3919 to be
        listened to), said as soon as the need is read, before any question; not twice in a turn
        that already gave them as emergency numbers."""
        given = {n for r in turn.replies for n in r.custom.get("numbers") or []}
        numbers = need_numbers_text(needs, given)
        if numbers:
            turn.utter(numbers)

    def _youth_for_child(self, turn: _TurnContext, need: str) -> None:
        """A parent asking for a teenager ("ma fille a 17 ans voudrait partir"): the age-bound youth
        schemes are about the child, so the child's age is the one to check; a relative writing for
        a grown-up son or daughter (« mon fils de 26 ans a un handicap… »), whatever the age: the
        mission locale was proposed to the son of 26 (held-out set)."""
        slots = turn.slots
        relative = slots.get("role") == "relative"
        ages = [a for a in slots.get("children_ages") or [] if a >= 15 and (a <= 25 or relative)]
        about_child = need in YOUTH_NEEDS or relative  # « mon fils de 20 ans cherche du travail »
        if about_child and slots.get("age") is None and len(ages) == 1:
            slots["age"] = int(ages[0])
            slots["age_is_child"] = True
            if len(slots.get("children_ages") or []) == 1:  # about that child only (« mon fils de 17 ans
                slots["third_person"] = True  # voudrait passer le BAFA ») his rights are said of him, not « vous »
            turn.utter(say("youth_for_child", age=int(ages[0])))

    def _keyword_needs(self, text: str) -> set[str]:
        """The needs the entity extractor's keywords find in a piece of a message."""
        return {e.value for e in self.interpreter.extractor.need_entities(normalize(text)) if e.entity == "need"}

    @staticmethod
    def _child_concerned(turn: _TurnContext) -> None:
        """A need of the plan said of the writer's own child (« ma fille de 12 ans est handicapée »,
        reading.needs_of_own_child): the child is the person concerned, so the child's age is the one
        checked (the AAH is for adults) and the questions ask « la personne », not the parent."""
        slots = turn.slots
        said = [n for n in slots.get("needs") or [] if n in turn.child_needs]
        if not said or slots.get("role") in ("agent", "ambassadeur"):
            return
        age = turn.child_needs[said[0]]
        ages = slots.get("children_ages") or []
        if age is None and len(ages) == 1:
            age = int(ages[0])
        slots["third_person"] = True
        slots["age"] = age  # None: the parent's age, if given, is not the child's
        said_so = say("youth_for_child", age=age) if age is not None else say("for_own_child")
        if all(r.text != said_so for r in turn.replies):  # _youth_for_child may have said it
            turn.utter(said_so)

    def _continue(self, turn: _TurnContext) -> None:
        slots, st = turn.slots, turn.state
        if st.get("pending") in ("services", "human") and slots.get("commune"):
            pending = st["pending"]
            st["pending"] = None
            turn.run("action_human_handoff" if pending == "human" else "action_nearby_services")
            return
        if st.get("pending") in ("services", "human"):
            self._ask_commune(turn, st["pending"])
            return
        if not slots.get("candidates"):
            if slots.get("commune") and not slots.get("oriented"):
                turn.utter(say("ask_need", variant=0), self.need_buttons(with_all=True))
            return
        if self._all_refused(slots):  # say it now, then offer places nearby if the commune is unknown
            turn.run("action_orientation")
            if not slots.get("commune") and "commune" not in slots.get("declined", []):
                question = catalogue().get("commune")
                slots["asking"] = "commune"
                turn.utter(say("refused_then_place"), _buttons(question_buttons(question)), {"request_location": True})
            return
        turn.run("action_ask_question")
        if not slots.get("asking"):
            turn.run("action_orientation")

    def _all_refused(self, slots: dict[str, Any]) -> bool:
        results = evaluate(list(slots.get("candidates") or []), slots)
        return bool(results) and all(r.status is Status.not_eligible for r in results)

    def _ask_commune(self, turn: _TurnContext, pending: str) -> None:
        if "commune" in turn.slots.get("declined", []):  # refused once: the general door, not the question
            turn.state["pending"] = None
            needs = turn.slots.get("needs") or []
            # « where can I go? » before any orientation, the commune refused: the schemes for the needs read,
            # with their doors, not the general door alone (once: an orientation that plans them comes back
            # here when it finds no scheme, its plan set)
            if pending == "services" and needs and not turn.slots.get("oriented") and not turn.slots.get("plan"):
                self._orient_on(turn, needs, [])
                return
            if turn.slots.get("need"):  # what needs no commune comes first (« il peut dormir où ? »: the 115)
                self._need_numbers(turn, [turn.slots["need"]])
            turn.utter(say("commune_declined_door"), _buttons(end_buttons()),
                       {"orientation": True, "summary": say("commune_declined_door"), "links": []})
            turn.slots["oriented"] = True
            return
        turn.state["pending"] = pending
        self._ask(turn, "commune")

    def _why(self, turn: _TurnContext, reading: Reading, changed: dict[str, Any] | None = None) -> None:
        slots = turn.slots
        about_results = bool(slots.get("last_results")) and (
            bool(reading.schemes) or reading.asks == "conditions" or slots.get("asking") == "commune"
            or not slots.get("asking")
        )
        if slots.get("asking") and not about_results:
            question = catalogue().get(slots["asking"])
            turn.utter(say("why_question", why=localized(question, "why")))
            turn.utter(question_text(question, slots.get("third_person")), _buttons(question_buttons(question)))
            return
        results = slots.get("last_results") or []
        focus = slots.get("focus_scheme")
        shown = slots.get("shown") or []  # the schemes the person saw, in their order, before the others
        open_ = sorted((r for r in results if r["status"] != "not_eligible"),
                       key=lambda r: shown.index(r["scheme"]) if r["scheme"] in shown else len(shown))
        chosen = [r for r in results if r["scheme"] == focus] or (
            [r for r in open_ if r["scheme"] in shown] or open_)[:2]
        if not chosen:
            turn.utter(say("why_nothing"))
            return
        for result in chosen[:2]:
            scheme = self.kb.schemes[result["scheme"]]
            said = reasons_in(result["reasons"], result.get("reasons_en") or [], current_language())
            reasons = " ".join(said[:4]) or say("why_unknown")
            if result["missing_facts"]:
                missing = ", ".join(dict.fromkeys(fact_label(m, bool(slots.get("third_person")))
                                                  for m in result["missing_facts"]))
                reasons += " " + say("why_missing", missing=missing)
            turn.utter(say("why_results", name=scheme.name, reasons=reasons))

    def need_buttons(self, with_all: bool = False, leading: Sequence[str] = ()) -> list[Button]:
        """The main needs as buttons, after the `leading` ones (the needs a turn not understood
        likely meant)."""
        catalogue_ = needs_catalogue()
        buttons = [
            Button(need_title(n, catalogue_[n]["button"]), "/express_need" + json.dumps({"need": n}))
            for n in dict.fromkeys([*leading, *MAIN_NEEDS])
            if n in catalogue_
        ]
        if with_all:
            buttons.append(Button(label("buttons", "all"), '/check_eligibility{"all": true}'))
        buttons.append(Button(label("buttons", "human"), "/ask_human"))
        return buttons


@dataclass(frozen=True)
class Rule:
    name: str
    when: Callable[[DialogueEngine, _TurnContext, Reading], bool]
    then: Callable[[DialogueEngine, _TurnContext, Reading, dict[str, Any]], None]


E = DialogueEngine
#: After danger, erasure, the question in progress and the sub-dialogues: what the turn is (the
#: intent classifier) and what it is about (the situation reader) decide, first rule first.
TURN_RULES: tuple[Rule, ...] = (
    Rule("prime vacance: which one?", E._is_prime_ambiguous, E._ask_prime),
    Rule("greet, thanks, goodbye", lambda e, t, r: r.intent in SOCIAL and not r.content, E._social),
    Rule("what can you do", lambda e, t, r: r.intent == "ask_help" and not r.content and not e._follow_up(t, r),
         E._help),
    # « et un numéro de téléphone ? » after a scheme or a place shown asks for its contact, not a person
    Rule("off topic or abuse", E._is_off_topic, E._off_topic),
    # a question about what was shown that the classifier reads, unsure, as a request for a person is a
    # question (« si je me remets avec quelqu'un, je la perds ? »: 0.49)
    Rule("a person to talk to", lambda e, t, r: r.intent == "ask_human" and not (
        r.follow_up and (r.asks == "contact" or r.intent_confidence < HUMAN_SURE)), E._human),
    Rule("why, or the orientation as one sheet", lambda e, t, r: r.intent == "ask_why" or e._asks_sheet(t, r),
         lambda e, t, r, c: e._why(t, r, c) if r.intent == "ask_why" else e._sheet(t, r, c)),
    Rule("not the problem: drop the need", E._is_need_denied, E._drop_needs),
    Rule("facts for the flow in progress", E._gives_facts_in_flow, E._after_facts),
    Rule("the same need again: ask what is missing", E._repeats_needs, E._ask_what_is_missing),
    Rule("a question about a scheme: answer it", E._asks_about_scheme, E._answer),
    Rule("a question about nothing shown: say so, and who knows", E._asks_about_nothing_shown, E._no_subject),
    Rule("a place shown asked about", E._asks_shown_place, E._shown_place),
    Rule("a place asked", E._asks_place, E._places),
    Rule("a scheme named: check it", E._names_scheme, E._check_named),
    Rule("a scheme unknown: say so", E._asks_unknown, E._not_covered),
    Rule("my rights, all of them", E._asks_screening, E._screen),
    Rule("a situation: orient on every need", E._has_situation, E._orient),
    Rule("check everything", lambda e, t, r: r.intent == "check_eligibility", E._screen),
    Rule("don't know", lambda e, t, r: r.intent == "dont_know", E._dont_know),
    Rule("facts, yes/no, anything else", lambda e, t, r: True, E._after_facts),
)


class _TurnContext:
    """One turn's working set: the state being updated and the replies being collected."""

    def __init__(self, engine: DialogueEngine, state: dict[str, Any]) -> None:
        self.engine = engine
        self.state = state
        self.slots: dict[str, Any] = state["slots"]
        self.replies: list[Reply] = []
        #: the needs said of the writer's own child, with the child's age if said (reading.needs_of_own_child)
        self.child_needs: dict[str, int | None] = {}

    def utter(
        self, text: str, buttons: list[Button] | None = None, custom: dict[str, Any] | None = None
    ) -> None:
        self.replies.append(Reply(text, list(buttons or []), dict(custom or {})))

    def log(self, event: dict[str, Any]) -> None:
        events = self.state.setdefault("events", [])
        events.append(event)
        del events[:-HISTORY]

    def run(self, action_name: str) -> None:
        action = self.engine.actions[action_name]
        dispatcher = LocalDispatcher()
        tracker = LocalTracker(sender_id="local", slots=self.slots)
        events = action.run(dispatcher, tracker, {})
        for event in events or []:
            if event.get("event") == "slot":
                self.slots[event["name"]] = event["value"]
        for message in dispatcher.messages:
            buttons = [Button(b["title"], b["payload"]) for b in message.get("buttons") or []]
            self.utter(message.get("text") or "", buttons, message.get("custom"))
        self.log({"action": action_name})

    def run_apart(self, action_name: str) -> list[Reply]:
        """Run an action and return its messages instead of sending them."""
        before = len(self.replies)
        self.run(action_name)
        made = self.replies[before:]
        del self.replies[before:]
        return made

    def finish(self) -> Turn:
        replies = without_repeated_numbers(self.replies) or [Reply(say("fallback"))]
        end_turn(self.state, replies)  # the buttons just sent; the language back to French
        return Turn(state=self.state, replies=replies)


_ENGINE: DialogueEngine | None = None


def build_engine(db_url: str | None = None) -> DialogueEngine:
    """The assistant, with its knowledge base and NLU model (cached per process)."""
    global _ENGINE
    if _ENGINE is None or db_url is not None:
        import os

        kb = KnowledgeBase.load(db_url)
        retention = int(os.environ.get("AIGUILLAGE_RETENTION_DAYS", "30"))
        engine = DialogueEngine(kb, Interpreter.load(kb), retention)
        if db_url is not None:
            return engine
        _ENGINE = engine
    return _ENGINE

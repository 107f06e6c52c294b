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
from typing import Any

from actions import ALL_ACTIONS
from actions.common import evaluate, needs_catalogue, outside_region, schemes_for_need, search, set_kb
from actions.question import catalogue, question_buttons, question_text
from actions.sdk import LocalDispatcher, LocalTracker
from bot.dialogue.api import Button, Incoming, Reply, Turn
from bot.dialogue.danger import DangerDetector
from bot.dialogue.responses import label, localized, need_title, say, say_all
from bot.dialogue.turn_start import begin_turn, end_turn
from bot.nlu.entities import Entity
from bot.nlu.interpreter import Interpreter, ParseResult
from bot.nlu.normalize import normalize
from knowledge.answers import parse_yes_no
from knowledge.eligibility import Status
from knowledge.facts import FACT_NAMES
from knowledge.kb import KnowledgeBase
from knowledge.textnorm import fold

PRIME_VACANCE = re.compile(r"\bprimes? (?:de |a la |d )?vacances?\b")
#: an agent or ambassadeur describing someone else ("je reçois une usagère", "elle habite à Lens")
THIRD_PERSON = re.compile(
    r"\b(usager|usagere|usagers|beneficiaire que|je recois une?|j accompagne|la personne|cette personne|"
    r"mon public|une dame|un monsieur|un jeune qui|une jeune qui|elle habite|il habite|sa situation)\b"
)
INFO_CUE = re.compile(
    r"\b(c est quoi|c quoi|c koi|c est koi|qu est ce que c est|qu est ce que|c est pour qui|pour qui|"
    r"quelles? (?:sont les )?conditions?|ca marche comment|comment (?:ca )?marche|comment fonctionne|"
    r"explique|expliquer|what is|how does)\b"
)
HELP_CUE = re.compile(
    r"\b(tu (?:peux|sais|sers a|fais) (?:faire )?quoi|vous (?:pouvez|savez) faire quoi|tu sers a quoi|"
    r"what can you do|comment ca marche ici|a quoi tu sers|a quoi vous servez)\b"
)
SELF_ROLES = [
    (re.compile(r"\b(je suis|nous sommes|en tant qu)\s+(?:une? |l )?ambassad"), "ambassadeurs-acces-aux-droits"),
    (re.compile(r"\b(agente?s?|conseillere?s?|je travaille en|je travaille a|je suis a)\s+(?:en |a |de )?(?:la )?(?:maison )?france services?\b"),
     "france-services"),
]
WHERE_CUE = re.compile(
    r"\b(c est ou|c ou|ou est|ou se trouve|ou trouver|ou aller|adresse|la plus proche|le plus proche|"
    r"pres de chez moi|where is|nearest|contact|coordonnees|numero de telephone|leur mail|leur telephone)\b"
)
WHY_RESULT_CUE = re.compile(r"\b(pas pour moi|marche pas|j y ai pas droit|pas droit|refus|pas eligible|pourquoi non|pourquoi pas)\b")
CANNOT_SPEAK = re.compile(r"\b(sourde?s?|malentendante?s?|muette?|peux pas parler|ne peux pas parler|peux pas telephoner)\b")
RESUME_AFTER = {"out_of_scope", "greet", "thanks", "ask_help"}
STATE_VERSION = 1
CONFIDENT = 0.5
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
#: needs so general that a more specific one in the same message wins ("plus d'argent pour manger")
GENERIC_NEEDS = ("budget", "demarches", "emploi", "jeunes", "parentalite")
YOUTH_NEEDS = ("vacances", "jeunes")
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
)


def _buttons(items: list[dict[str, str]]) -> list[Button]:
    return [Button(b["title"], b["payload"]) for b in items]


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
        kinds = self.danger.detect(text)
        emergency = parse.intent == "emergency" and parse.confidence >= 0.55
        if not kinds and not emergency:
            return False
        slots = turn.slots
        numbers = self.danger.numbers_for(kinds) if kinds else []
        if CANNOT_SPEAK.search(fold(text)):
            numbers = ["114", *[n for n in numbers if n != "114"]]  # SMS first for who cannot call
        slots["danger_numbers"] = numbers or None
        self._apply_entities(turn, parse)
        names = {k.name for k in kinds}
        if "violence" in names or "child" in names:
            slots["need"] = "violences"
        elif "shelter" in names:
            slots["need"] = "logement"
        turn.state["greeted"] = True
        turn.run("action_emergency")
        turn.state["pending"] = "offer_services"
        return True

    def _is_small_talk(self, parse: ParseResult) -> bool:
        useful = {"scheme", "need", "service_type", "commune", *FACT_NAMES}
        has_content = any(e.entity in useful for e in parse.entities)
        return (
            parse.intent in {"greet", "thanks", "affirm", "deny", "goodbye", "nlu_fallback"}
            and not has_content
        )

    def _apply_entities(self, turn: _TurnContext, parse: ParseResult) -> dict[str, Any]:
        """Fill any slot from the message; returns the facts that changed (a correction included)."""
        slots = turn.slots
        changed: dict[str, Any] = {}
        for name, value in _entity_facts(parse.entities).items():
            if slots.get(name) != value:
                changed[name] = (slots.get(name), value)
                slots[name] = value
                if name in slots.get("declined", []):
                    slots["declined"].remove(name)
        if "children_count" in changed and changed["children_count"][1] == 0:
            slots["children_ages"] = []
        if (
            "commune" in changed
            and parse.intent != "give_location"
            and "location_lat" in slots
            and parse.text != ""
        ):
            slots.pop("location_lat", None)
            slots.pop("location_lon", None)
        return changed

    # ------------------------------------------------------------------ policy
    def _policy(self, turn: _TurnContext, text: str, parse: ParseResult) -> None:
        slots, st = turn.slots, turn.state
        if THIRD_PERSON.search(fold(text)):
            slots["third_person"] = True
        changed = self._apply_entities(turn, parse)
        asking = slots.get("asking")
        if "commune" in changed and asking != "commune":
            self._ack_commune(turn, correction=changed["commune"][0] is not None)
        intent = (
            parse.intent
            if parse.confidence >= CONFIDENT or parse.intent.startswith("nlu")
            else "nlu_fallback"
        )
        if parse.text.startswith("/"):
            intent = parse.intent

        if asking:
            answered = self._answer_question(turn, asking, text, parse, changed)
            if answered:
                if changed and slots.get("oriented") and "commune" not in changed:
                    self._ack_correction(turn, changed)
                self._continue(turn)
                return
            if intent not in INTERRUPTING:
                if changed:  # other facts given instead: keep them, the chooser asks again if needed
                    slots["asking"] = None
                    self._continue(turn)
                    if slots.get("asking") == asking:  # the same question again: give up after twice
                        st["ask_attempts"] = st.get("ask_attempts", 0) + 1
                        if st["ask_attempts"] >= 2:
                            turn.replies.pop()
                            slots.setdefault("declined", []).append(asking)
                            slots["asking"], st["ask_attempts"] = None, 0
                            self._continue(turn)
                else:
                    self._reask(turn, asking)
                return

        if st.get("pending") and self._handle_pending(turn, intent, parse, changed):
            return
        self._dispatch(turn, intent, parse, changed)
        if asking and slots.get("asking") == asking and intent in RESUME_AFTER:
            question = catalogue().get(asking)  # back to the point: the question still open
            turn.utter(question_text(question, slots.get("third_person")), _buttons(question_buttons(question)),
                       {"request_location": True} if asking == "commune" else {"question": asking})

    def _answer_question(
        self, turn: _TurnContext, asking: str, text: str, parse: ParseResult, changed: dict[str, Any]
    ) -> bool:
        slots = turn.slots
        filled = asking in changed or (asking == "children_count" and "children_ages" in changed)
        if not filled and text:
            answer = catalogue().parse(asking, text)
            if answer.facts:
                for name, value in answer.facts.items():
                    if slots.get(name) != value:
                        changed[name] = (slots.get(name), value)
                    slots[name] = value
                filled = True
            elif answer.dont_know or (parse.intent == "dont_know" and parse.confidence >= CONFIDENT):
                slots.setdefault("declined", []).append(asking)
                turn.utter(say("qf_estimate_offer") if asking == "quotient_familial" else say("dont_know_ok"))
                filled = True
        if asking == "commune" and "commune" in changed:
            self._ack_commune(turn, correction=False)
        if filled:
            slots["asking"] = None
            turn.state["ask_attempts"] = 0
        return filled

    def _reask(self, turn: _TurnContext, asking: str) -> None:
        st, slots = turn.state, turn.slots
        st["ask_attempts"] = st.get("ask_attempts", 0) + 1
        question = catalogue().get(asking)
        if st["ask_attempts"] >= 3:
            slots.setdefault("declined", []).append(asking)
            slots["asking"] = None
            st["ask_attempts"] = 0
            turn.utter(say("dont_know_ok"))
            self._continue(turn)
            return
        if asking == "commune":
            turn.utter(say("commune_unknown"), custom={"request_location": True})
            return
        hint = question.help or "Vous pouvez aussi répondre « je ne sais pas »."
        turn.utter(say("fallback_in_question", help=hint))
        turn.utter(
            question_text(question, turn.slots.get("third_person")),
            _buttons(question_buttons(question)),
            {"request_location": True} if asking == "commune" else {"question": asking},
        )

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
        self, turn: _TurnContext, intent: str, parse: ParseResult, changed: dict[str, Any]
    ) -> bool:
        st, slots = turn.state, turn.slots
        pending = st.get("pending")
        if pending == "prime":
            folded = fold(parse.text)
            needs = parse.values("need")
            if "logement_vacant" in needs or any(
                w in folded for w in ("logement", "maison", "vide", "louer", "appart")
            ):
                st["pending"] = None
                self._start_check(turn, ["prime-sortie-vacance"])
                return True
            if "vacances" in needs or any(w in folded for w in ("vacances", "partir", "colo", "sejour")):
                st["pending"] = None
                self._start_need(turn, "vacances")
                return True
            return False
        if pending == "confirm_check":
            first_word = parse_yes_no(parse.text.split()[0]) if parse.text.split() else None
            if intent in ("affirm", "check_eligibility") or first_word is True or (changed and intent not in ("deny", "ask_scheme_info")):
                st["pending"] = None
                self._start_check(turn, [slots["focus_scheme"]], introduce=False)
                return True
            if intent == "deny" or first_word is False:
                st["pending"] = None
                turn.utter(say("anything_else"), self.need_buttons())
                return True
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

    def _dispatch(self, turn: _TurnContext, intent: str, parse: ParseResult, changed: dict[str, Any]) -> None:
        slots, st = turn.slots, turn.state
        named = [e for e in parse.entities if e.entity == "scheme" and e.value in self.kb.schemes]
        schemes = [e.value for e in named if e.extractor != "phrase"]  # need phrases do not name a scheme
        if not schemes and intent == "ask_scheme_info":
            schemes = [e.value for e in named][:1]
        needs = sorted(parse.values("need"), key=lambda n: n in GENERIC_NEEDS)
        service_types = parse.values("service_type")
        if parse.text.startswith("/"):
            schemes = [s for s in [parse.first("scheme")] if s in self.kb.schemes]
            needs = [parse.first("need")] if parse.first("need") else []

        folded = fold(parse.text)
        for role, scheme_id in SELF_ROLES:
            if role.search(folded):  # "je suis ambassadeur", "agente France Services": who speaks
                schemes = [s for s in schemes if s != scheme_id]
                if scheme_id == "france-services":
                    service_types = [t for t in service_types if t != "france-service"]
                    needs = [n for n in needs if n != "demarches"]
        if True in parse.values("owns_vacant_dwelling") and "logement_vacant" not in needs:
            needs.insert(0, "logement_vacant")  # an empty dwelling of one's own says what the need is
        if schemes and INFO_CUE.search(folded) and intent not in ("emergency", "ask_human"):
            intent = "ask_scheme_info"  # "le PCB c'est pour qui ?" asks about the scheme, wherever it is
        elif intent == "ask_scheme_info" and schemes and slots.get("third_person"):
            intent = "check_eligibility"  # an agent naming a scheme for someone: check it for them
        if HELP_CUE.search(folded) and not schemes and not needs:
            intent = "ask_help"
        elif intent == "ask_help" and (needs or schemes):
            intent = "express_need"  # "pouvez-vous m'aider pour mon dossier CAF" names the need
        elif WHERE_CUE.search(folded) and (schemes or service_types) and intent not in ("emergency", "ask_human"):
            intent = "find_service_nearby"  # "le CCAS c'est où ?", "le contact de la crèche AVIP"
        kind = needs_catalogue().get(service_types[0], {}) if service_types else {}
        if kind.get("need") and intent in ("find_service_nearby", "express_need", "nlu_fallback") and not (
            schemes and WHERE_CUE.search(folded)
        ):
            needs.insert(0, kind["need"])  # "une crèche", "une épicerie solidaire": a need, with its places
            service_types = []
            intent = "express_need"
        if "rsa" in schemes and "beneficiaire_rsa" in parse.values("situation") and intent != "ask_scheme_info":
            schemes.remove("rsa")  # "je suis au RSA" describes the person, it is not a question about the RSA
        if self._is_prime_ambiguous(schemes, parse.text) and intent not in (
            "ask_human",
            "ask_help",
            "out_of_scope",
        ):
            st["pending"] = "prime"
            buttons = [
                Button(
                    label("prime_options", "logement"), '/choose_scheme{"scheme": "prime-sortie-vacance"}'
                ),
                Button(label("prime_options", "vacances"), '/express_need{"need": "vacances"}'),
            ]
            turn.utter(say("ambiguity_prime"), buttons)
            return

        if intent == "greet":
            turn.utter(say("greet_again"), self.need_buttons())
        elif intent == "goodbye":
            turn.utter(say("goodbye"))
        elif intent == "thanks":
            turn.utter(say("thanks"), self.need_buttons())
        elif intent == "ask_help":
            for text in say_all("help"):
                turn.utter(text)
            turn.utter(say("ask_need", variant=0), self.need_buttons())
        elif intent == "ask_human":
            if slots.get("commune"):
                turn.run("action_human_handoff")
            else:
                self._ask_commune(turn, "human")
        elif intent == "out_of_scope" and not schemes and not needs:
            key = "abuse" if self.danger.is_abusive(parse.text) else "out_of_scope"
            turn.utter(say(key), self.need_buttons())
        elif intent == "ask_why":
            self._why(turn, parse.text)
        elif intent == "choose_scheme" and schemes:
            self._start_check(turn, schemes[:1])
        elif intent == "ask_scheme_info" or (intent == "nlu_fallback" and schemes and not needs):
            self._scheme_info(turn, schemes, needs, parse)
        elif intent == "check_eligibility":
            if schemes:
                self._start_check(turn, schemes, need=needs[0] if needs else None)
            elif needs and self._knows_person(slots):  # "voilà ma situation… qu'est-ce que je peux faire ?"
                self._reset_flow(slots)
                slots["need"] = needs[0]
                need_first = [s.id for s in schemes_for_need(needs[0])]
                slots["candidates"] = list(dict.fromkeys([*need_first, *self.kb.schemes]))
                slots["screening"] = True
                slots["questions_asked"] = 0
                self._continue(turn)
            elif needs:
                self._start_need(turn, needs[0])
            elif parse.first("all") or self._knows_person(slots):
                self._start_check(turn, list(self.kb.schemes))
            else:
                turn.utter(say("ask_need", variant=0), self.need_buttons(with_all=True))
        elif intent == "express_need" or (
            needs
            and intent
            in (
                "nlu_fallback",
                "out_of_scope",
                "give_household_info",
                "give_income",
                "give_situation",
                "give_housing",
                "give_age",
                "give_location",
            )
        ):
            if schemes:  # a scheme named in a need ("une crèche AVIP pour ma fille") is the one to check
                self._start_check(turn, schemes, need=needs[0] if needs else None)
            elif needs:
                self._start_need(turn, needs[0])
            else:
                turn.utter(say("fallback"), self.need_buttons())
        elif intent == "find_service_nearby" and not (schemes or needs or service_types) and slots.get("asking"):
            turn.utter(say("out_of_scope"))  # "un kebab ouvert vers Amiens ?" in the middle of a question
            question = catalogue().get(slots["asking"])
            turn.utter(question_text(question, slots.get("third_person")), _buttons(question_buttons(question)))
        elif intent == "find_service_nearby" or service_types:
            slots["service_type"] = (
                service_types[0] if service_types else (None if needs else "france-service")
            )
            if needs:
                slots["need"] = needs[0]
            if schemes:
                slots["focus_scheme"] = schemes[0]
            if slots.get("commune"):
                turn.run("action_nearby_services")
            else:
                self._ask_commune(turn, "services")
        elif intent == "dont_know":
            turn.utter(say("dont_know_generic"), self.need_buttons())
        else:  # giving facts, affirm/deny, fallback
            self._after_facts(turn, intent, parse, changed)

    def _after_facts(
        self, turn: _TurnContext, intent: str, parse: ParseResult, changed: dict[str, Any]
    ) -> None:
        slots = turn.slots
        flow_active = bool(slots.get("candidates")) and not slots.get("oriented")
        if changed and slots.get("oriented") and slots.get("candidates"):
            if "commune" not in changed:
                self._ack_correction(turn, changed)
            slots["oriented"] = False
            self._continue(turn)
        elif flow_active:
            self._continue(turn)
        elif "commune" in changed:
            turn.utter(say("ask_need", variant=0), self.need_buttons(with_all=True))
        elif changed:
            turn.utter("C'est noté. " + say("ask_need", variant=0), self.need_buttons(with_all=True))
        elif intent == "give_location" and parse.first("commune"):  # the same commune again
            self._ack_commune(turn, correction=False)
            turn.utter(say("ask_need", variant=0), self.need_buttons(with_all=True))
        elif intent == "give_location":
            turn.utter(say("commune_unknown"), custom={"request_location": True})
            slots["asking"] = "commune"
        elif intent in ("affirm", "deny"):
            turn.utter(say("anything_else"), self.need_buttons())
        else:
            turn.utter(say("fallback"), self.need_buttons())

    # ------------------------------------------------------------------ flows
    def _is_prime_ambiguous(self, schemes: list[str], text: str) -> bool:
        """"prime vacance" names both the ANAH vacancy bonus and holiday aids: ask which, unless
        the rest of the message already says (an empty dwelling, or going on holiday)."""
        normalized = normalize(text)
        named_both = "prime-sortie-vacance" in schemes and HOLIDAY_SCHEMES.intersection(schemes)
        if not named_both and not PRIME_VACANCE.search(normalized):
            return False
        rest = PRIME_VACANCE.sub(" ", normalized)
        needs = {e.value for e in self.interpreter.extractor.need_entities(rest)}
        return "logement_vacant" not in needs and "vacances" not in needs

    def _knows_person(self, slots: dict[str, Any]) -> bool:
        return sum(1 for f in FACT_NAMES if f != "commune" and slots.get(f) is not None) >= 2

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
        if introduce and len(scheme_ids) == 1 and scheme_ids[0] in self.kb.schemes:
            scheme = self.kb.schemes[scheme_ids[0]]
            turn.utter(say("scheme_intro", name=scheme.name, summary=localized(scheme, "summary")))
        slots["candidates"] = list(dict.fromkeys(scheme_ids))
        slots["focus_scheme"] = scheme_ids[0] if len(scheme_ids) <= 2 else None
        slots["questions_asked"] = 0
        self._continue(turn)

    def _start_need(self, turn: _TurnContext, need: str) -> None:
        """Candidate schemes for the need, then the questions that settle them."""
        slots = turn.slots
        self._reset_flow(slots)
        slots["need"] = need
        slots["candidates"] = [s.id for s in schemes_for_need(need)]
        self._youth_for_child(turn, need)
        slots["questions_asked"] = 0
        if not slots["candidates"]:
            item = needs_catalogue().get(need, {})
            turn.utter(say("need_no_scheme", label=item.get("label", need)))
            if slots.get("commune"):
                turn.run("action_nearby_services")
            else:
                self._ask_commune(turn, "services")
            return
        self._continue(turn)

    def _youth_for_child(self, turn: _TurnContext, need: str) -> None:
        """A parent asking for a teenager ("ma fille a 17 ans voudrait partir"): the age-bound youth
        schemes are about the child, so the child's age is the one to check."""
        slots = turn.slots
        ages = [a for a in slots.get("children_ages") or [] if 15 <= a <= 25]
        if need in YOUTH_NEEDS and slots.get("age") is None and len(ages) == 1:
            slots["age"] = int(ages[0])
            slots["age_is_child"] = True
            turn.utter(say("youth_for_child", age=int(ages[0])))

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
        turn.state["pending"] = pending
        question = catalogue().get("commune")
        turn.slots["asking"] = "commune"
        turn.utter(question_text(question, turn.slots.get("third_person")), _buttons(question_buttons(question)),
                   {"request_location": True})

    def _scheme_info(
        self, turn: _TurnContext, schemes: list[str], needs: list[str], parse: ParseResult
    ) -> None:
        slots, st = turn.slots, turn.state
        if not schemes:
            found = search().search_schemes(parse.text, limit=1, min_score=80)  # shared, indexes built once
            schemes = [found[0][0].id] if found else []
        if not schemes and needs:
            self._start_need(turn, needs[0])
            return
        if not schemes:
            turn.utter(say("scheme_not_found"), self.need_buttons())
            return
        for other in schemes[1:2]:  # "la différence entre le CCAS et France Services": both, briefly
            scheme = self.kb.schemes[other]
            turn.utter(say("scheme_intro", name=scheme.name, summary=localized(scheme, "summary")))
        slots["focus_scheme"] = schemes[0]
        turn.run("action_scheme_info")
        st["pending"] = "confirm_check"

    def _why(self, turn: _TurnContext, text: str = "") -> None:
        slots = turn.slots
        about_results = bool(slots.get("last_results")) and (
            WHY_RESULT_CUE.search(fold(text)) or slots.get("asking") == "commune"
        )
        if slots.get("asking") and not about_results:
            question = catalogue().get(slots["asking"])
            turn.utter(say("why_question", why=localized(question, "why")))
            turn.utter(question_text(question, slots.get("third_person")), _buttons(question_buttons(question)))
            return
        results = slots.get("last_results") or []
        focus = slots.get("focus_scheme")
        chosen = [r for r in results if r["scheme"] == focus] or [
            r for r in results if r["status"] != "not_eligible"
        ][:2]
        if not chosen:
            turn.utter(say("why_nothing"))
            return
        for result in chosen[:2]:
            scheme = self.kb.schemes[result["scheme"]]
            reasons = " ".join(result["reasons"][:4]) or "il me manque des informations pour le dire."
            if result["missing_facts"]:
                reasons += " Il me manque : " + ", ".join(result["missing_facts"]) + "."
            turn.utter(say("why_results", name=scheme.name, reasons=reasons))

    def need_buttons(self, with_all: bool = False) -> list[Button]:
        catalogue_ = needs_catalogue()
        buttons = [
            Button(need_title(n, catalogue_[n]["button"]), "/express_need" + json.dumps({"need": n}))
            for n in MAIN_NEEDS
            if n in catalogue_
        ]
        if with_all:
            buttons.append(Button(label("buttons", "all"), '/check_eligibility{"all": true}'))
        buttons.append(Button(label("buttons", "human"), "/ask_human"))
        return buttons


class _TurnContext:
    """One turn's working set: the state being updated and the replies being collected."""

    def __init__(self, engine: DialogueEngine, state: dict[str, Any]) -> None:
        self.engine = engine
        self.state = state
        self.slots: dict[str, Any] = state["slots"]
        self.replies: list[Reply] = []

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

    def finish(self) -> Turn:
        replies = self.replies or [Reply(say("fallback"))]
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

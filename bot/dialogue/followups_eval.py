"""Play the held-out follow-up question set (tests/followups/*.yml) through the dialogue engine.

Each case starts from a conversation that has just shown some schemes (slot `shown`, the person's
role) and sends one follow-up question (« c'est gratuit ? », « ça dure combien de temps ? »). The
case lists the sentences of the fiche that answer it, copied from the knowledge base; none when
the fiche does not say. Three figures:

- **answered**: of the questions the fiche answers, the share whose answering sentence is in the
  replies (quoted, or as a line of the steps or conditions);
- **quoted beside the point**: of all the sentences quoted as « ce que dit ma fiche », the share
  that answer nothing the case lists (a quote that shares words, not the answer);
- **honest**: of the questions the fiche does not answer, the share answered without such a quote.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from actions.common import needs_catalogue
from bot.dialogue.api import Engine, Incoming
from bot.dialogue.responses import responses
from knowledge.yamlio import load_yaml

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "tests" / "followups"


@dataclass
class FollowUpCase:
    id: str
    shown: list[str]
    text: str
    about: str | None
    asks: str
    #: scheme id → the sentences of its fiche that answer the question (copied verbatim)
    expect: dict[str, list[str]]
    role: str = "self"
    lang: str = "fr"

    @property
    def answerable(self) -> bool:
        return any(self.expect.values())


@dataclass
class FollowUpResult:
    case: FollowUpCase
    replies: str
    #: the sentences quoted as « ce que dit ma fiche »
    quotes: list[str] = field(default_factory=list)
    #: the fiche's English text of an expected sentence (its steps, conditions, amount), in English
    translations: dict[str, str] = field(default_factory=dict)

    @property
    def answered(self) -> bool:
        text = _flat(self.replies)
        expected = [s for sentences in self.case.expect.values() for s in sentences]
        return any(_flat(s) in text or _flat(self.translations.get(s, s)) in text
                   or (self.case.role != "self" and _flat(_for_them(s, self.case.role)) in text) for s in expected)

    @property
    def admits(self) -> bool:
        """The replies say that the fiche does not hold the answer (« Ma fiche ne répond pas
        précisément… », « Je ne connais pas la liste exacte des papiers… »)."""
        return any(line in self.replies for line in _admissions(self.case.lang))

    @property
    def beside(self) -> list[str]:
        expected = {_flat(s) for sentences in self.case.expect.values() for s in sentences}
        return [q for q in self.quotes if _flat(q) not in expected]


@dataclass
class FollowUpReport:
    results: list[FollowUpResult]

    @property
    def answerable(self) -> list[FollowUpResult]:
        return [r for r in self.results if r.case.answerable]

    @property
    def unanswerable(self) -> list[FollowUpResult]:
        return [r for r in self.results if not r.case.answerable]

    @property
    def answered_rate(self) -> float:
        cases = self.answerable
        return sum(r.answered for r in cases) / len(cases) if cases else 1.0

    @property
    def beside_rate(self) -> float:
        quotes = sum(len(r.quotes) for r in self.results)
        return sum(len(r.beside) for r in self.results) / quotes if quotes else 0.0

    @property
    def honest_rate(self) -> float:
        cases = self.unanswerable
        return sum(not r.quotes for r in cases) / len(cases) if cases else 1.0

    @property
    def admitted_rate(self) -> float:
        """Of the questions the fiche does not answer, the share whose replies say so."""
        cases = self.unanswerable
        return sum(r.admits for r in cases) / len(cases) if cases else 1.0

    @property
    def warned_answered_rate(self) -> float:
        """Of the questions answered, the share whose replies also say the fiche does not answer."""
        cases = [r for r in self.answerable if r.answered]
        return sum(r.admits for r in cases) / len(cases) if cases else 0.0

    def to_json(self) -> dict[str, Any]:
        return {"cases": len(self.results), "answerable": len(self.answerable),
                "answered": round(self.answered_rate, 3), "quotes": sum(len(r.quotes) for r in self.results),
                "quoted_beside": round(self.beside_rate, 3), "honest": round(self.honest_rate, 3),
                "admitted": round(self.admitted_rate, 3), "warned_answered": round(self.warned_answered_rate, 3)}


def _for_them(sentence: str, role: str) -> str:
    """A step said to whoever writes for the person, as the assistant says it (« demandez à son
    médecin »): the same sentence, about the person and without the agent's own kind of place."""
    from actions.speaker import for_speaker

    return for_speaker(sentence, {"role": role, "third_person": True})


def _flat(text: str) -> str:
    return " ".join(text.replace("\u202f", " ").split()).lower()


def load_cases(folder: Path = DEFAULT_DIR, known: Iterable[str] = ()) -> list[FollowUpCase]:
    known_ids = set(known)
    cases: list[FollowUpCase] = []
    for path in sorted(folder.glob("*.yml")):
        for raw in (load_yaml(path.read_text(encoding="utf-8")) or {}).get("cases") or []:
            expect = {raw["about"]: list(raw.get("expect") or [])} if raw.get("about") else {}
            for other in raw.get("also") or []:
                expect.setdefault(other["scheme"], []).extend(other.get("expect") or [])
            shown = list(raw["shown"])
            unknown = [s for s in (*shown, *expect) if known_ids and s not in known_ids]
            if unknown:
                raise ValueError(f"{path.name} {raw.get('id')}: unknown schemes {unknown}")
            cases.append(FollowUpCase(id=raw["id"], shown=shown, text=raw["text"], about=raw.get("about"),
                                      asks=raw.get("asks", "info"), expect=expect, role=raw.get("role", "self"),
                                      lang=raw.get("lang", "fr")))
    return cases


#: the replies that say the fiche does not hold what is asked
ADMISSION_KEYS = ("answer_not_in_fiche", "answer_documents_unknown", "answer_amount_unknown", "answer_contact_unknown")


def _admissions(lang: str) -> list[str]:
    """The fixed opening of each admission, in the case's language (up to its first placeholder)."""
    out = []
    for key in ADMISSION_KEYS:
        entry = responses(lang).get(key) or responses("fr")[key]  # a key not yet translated is said in French
        for variant in entry if isinstance(entry, list) else [entry]:
            head = str(variant).split("{")[0].strip()
            if head:
                out.append(head)
    return out


def _quote_pattern(lang: str) -> re.Pattern[str]:
    """The passage line of the responses, its scheme name and passage as groups."""
    entry = responses(lang)["answer_passage"]
    template = re.escape(str(entry[0] if isinstance(entry, list) else entry).format(name="\x00", passage="\x01"))
    return re.compile(template.replace("\x00", ".+?").replace("\x01", "(.+)") + "$", re.M)


def play(engine: Engine, case: FollowUpCase) -> FollowUpResult:
    state = engine.new_state()
    slots = state["slots"]
    # as after a real orientation: the needs that lead to the schemes shown
    needs = [n for n, need in needs_catalogue().items() if set(case.shown) & set(need.get("schemes") or [])]
    slots.update({"shown": list(case.shown), "oriented": True, "needs": needs[:2]})
    commune = _commune_for(engine, case.shown)
    if commune:  # a follow-up comes after an orientation, which knew where the person lives
        slots["commune"] = commune
    if case.lang != "fr":
        state["lang"] = case.lang
    if case.role != "self":
        slots.update({"role": case.role, "third_person": True})
    state["greeted"] = True
    turn = engine.handle(state, Incoming(text=case.text))
    replies = "\n".join(r.text for r in turn.replies)
    pattern = _quote_pattern(case.lang)
    quotes = [q for m in pattern.finditer(replies) for q in m.group(1).split(" » « ")]  # two tied sentences
    translations = _translations(engine, case) if case.lang == "en" else {}
    return FollowUpResult(case=case, replies=replies, quotes=quotes, translations=translations)


#: the commune of a conversation whose schemes are national: a town of Hauts-de-France
DEFAULT_COMMUNE = "80021"  # Amiens


def _commune_for(engine: Engine, shown: list[str]) -> str:
    """A commune inside the territory of the first shown scheme that has one (the most populous
    of its communes, EPCI or département), else DEFAULT_COMMUNE."""
    kb = engine.kb  # type: ignore[attr-defined]
    for scheme_id in shown:
        zone = kb.schemes[scheme_id].conditions.zone
        if zone is None:
            continue
        if zone.communes:
            return str(zone.communes[0])
        inside = [c for c in kb.gazetteer if (c.epci in zone.epcis or c.departement in zone.departements
                                             or c.region in zone.regions) and c.population]
        if inside:
            return max(inside, key=lambda c: c.population or 0).code_insee
    return DEFAULT_COMMUNE


def _translations(engine: Engine, case: FollowUpCase) -> dict[str, str]:
    """French sentence → the fiche's English text, for the expected schemes' translated fields."""
    out: dict[str, str] = {}
    for scheme_id in case.expect:
        scheme = engine.kb.schemes[scheme_id]  # type: ignore[attr-defined]
        out.update({" ".join(fr.split()): en for fr, en in scheme.english_pairs()})
    return out


def evaluate(engine: Engine, cases: list[FollowUpCase]) -> FollowUpReport:
    return FollowUpReport(results=[play(engine, case) for case in cases])


def markdown(report: FollowUpReport) -> str:
    data = report.to_json()
    return "\n".join([
        "| measure | value |",
        "|---|---:|",
        f"| cases (answerable by the fiche) | {data['cases']} ({data['answerable']}) |",
        f"| answered: the fiche's answering sentence given | {data['answered']:.1%} |",
        f"| quotes beside the point / all quotes | {data['quoted_beside']:.1%} of {data['quotes']} |",
        f"| honest: no quote when the fiche does not say | {data['honest']:.1%} |",
        f"| admitted: said so when the fiche does not say | {data['admitted']:.1%} |",
        f"| warned although answered | {data['warned_answered']:.1%} |",
    ])

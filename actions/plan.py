"""The orientation plan: for every need read in the conversation, the few schemes worth showing.

Relevance, not eligibility: a scheme is planned for a need when the person named or described it
(the situation reader's schemes) or when it is one of the need's own schemes (needs.yml), and it
is dropped when a known fact rules it out (an owners' aid for a tenant who owns nothing...).
Eligibility is judged later, scheme by scheme, by the orientation.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from actions.common import facts_from_slots, get_kb, needs_catalogue, public_fits, schemes_for_need
from actions.speaker import own_schemes
from knowledge.eligibility import SchemeResult, Status
from knowledge.facts import situations_of
from knowledge.schema import Scheme

#: danger, shelter and food come first; then the needs in the order they were read
URGENT_NEEDS = ("violences", "hebergement", "alimentation")
PER_NEED = 3
#: shelter and food: several networks, each with its own days and places, so one more is shown
NETWORK_NEEDS = ("hebergement", "alimentation")
NETWORK_PER_NEED = PER_NEED + 1
#: how many of the need's own schemes complete the ones the person described
FILL_FROM_NEED = 2
#: a screening of every scheme shows this many of those still open
SCREENING_SHOWN = 5
#: a need's own scheme is planned when the situation reader finds it at least this relevant to what
#: was said (relevance, not eligibility: the AF are not raised by a question about the APL)
FILL_MIN = 0.2
#: beside the schemes the person described, the need's others are shown from this relevance up (0.2:
#: recall 84.4 %, irrelevant 20.9 %; 0.25: 84.0 / 19.7; 0.3: 83.7 / 19.0; 0.4: 82.5 / 17.8; 0.5: 81.6 / 17.4 —
#: eviction prevention at 0.40 and the FSL at 0.30 beside Signal Logement for mould, simulated users)
FILL_BESIDE = 0.3
#: a described scheme that serves none of the needs read is kept, beside them, from this relevance up
#: (0.8: recall 84.0 %, irrelevant 21.5 %; 0.65: 84.3 %, 21.8 %; 0.6: 84.4 %, 22.2 %; none: 84.3 %, 22.4 %;
#: 0.6 keeps France Services at 0.62 for « des papiers que je ne comprends pas » and the FSL at 0.63 for
#: « une facture délec en retard », simulated users, round 15)
ORPHAN_MIN = 0.6
#: a scheme with a `premise` (eviction prevention: « des loyers impayés ») is shown, when not described,
#: only from this relevance (held-out: 3 irrelevant go — rent paid, electricity, an APL question at
#: 0.28–0.38 — and no expected one is lost; the expected ones are at 0.55 and above, or not shown)
PREMISE_MIN = 0.5


def shown_at_most(item: dict[str, Any]) -> int:
    """How many schemes a need shows: one more for shelter and food (NETWORK_PER_NEED)."""
    return NETWORK_PER_NEED if item.get("need") in NETWORK_NEEDS else PER_NEED


def fill_floor(item: dict[str, Any], beside_described: bool = False) -> float:
    """The relevance from which a need's own schemes fill its place: FILL_BESIDE beside the first need
    or beside schemes described, FILL_MIN otherwise."""
    return FILL_BESIDE if beside_described or item.get("beside") else FILL_MIN


def order_needs(needs: Sequence[str]) -> list[str]:
    unique = list(dict.fromkeys(needs))
    return sorted(unique, key=lambda n: (URGENT_NEEDS.index(n) if n in URGENT_NEEDS else len(URGENT_NEEDS),
                                         unique.index(n)))


def need_of(scheme_id: str, needs: Sequence[str]) -> str | None:
    """The first of `needs` the scheme serves (listed in the need, or sharing its themes)."""
    for need in needs:
        if scheme_id in {s.id for s in schemes_for_need(need)}:
            return need
    scheme = get_kb().schemes.get(scheme_id)
    if scheme is None:
        return None
    catalogue = needs_catalogue()
    for need in needs:
        wanted = set(catalogue.get(need, {}).get("themes") or [])
        if wanted.intersection(scheme.themes):
            return need
    return None


def not_offered_to(slots: dict[str, Any], named: Sequence[str] = ()) -> set[str]:
    """The schemes never offered to the person: the speaker's own (an agent of France Services is not
    offered France Services), those they receive (a family the ARS it has), and those meant for other
    people (publics.yml: a mobility platform towards work for a woman of 70), unless the person names
    them (the facts the questions may still settle fit: the orientation judges the rest, `for_them`)."""
    out = own_schemes(slots) | set(slots.get("received_schemes") or [])
    return out | {s.id for s in get_kb().schemes.values() if s.id not in named and not public_fits(s.publics, slots)}


def plan(needs: Sequence[str], described: Sequence[str], slots: dict[str, Any],
         relevance: dict[str, float] | None = None, named: Sequence[str] = (),
         said: Sequence[str] = (), firm: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """[{"need": id | None, "described": [ids], "schemes": [ids]}], urgent needs first.

    `described`: the schemes the person named or described, best first; each goes under the need
    it serves (or a group of its own). `schemes` adds the need's own schemes that no known fact
    rules out; the orientation shows the described ones first, then the best of the others, at
    most PER_NEED in all. `relevance` (the reader's probability of each scheme for the message)
    keeps, of a need's own schemes, those relevant to what was said (FILL_MIN), most relevant
    first, and its local schemes (a zone, the commune known). When none is relevant, the need gets
    no scheme: the places that can advise on it, never an unrelated scheme (a question about the
    prêt à taux zéro gets no FSL). Without `relevance` (a need chosen with a button), all the
    need's schemes stay, ranked later by eligibility. `named`: the schemes the person named or
    clearly described (kept in the item). `said`: the schemes the person named by their name (kept in
    the item: only those are said even to say they are not for them). `firm`: the needs read firmly
    (the item's `firm`: a need with nothing for it is said only then; None: all).
    """
    kb = get_kb()
    ordered = order_needs(n for n in needs if n in needs_catalogue())
    not_offered = not_offered_to(slots, named)
    described = [s for s in dict.fromkeys(described) if s in kb.schemes and s not in not_offered]
    groups: dict[str | None, list[str]] = {n: [] for n in ordered}
    for scheme_id in described:
        need = need_of(scheme_id, ordered)
        if (need is None and ordered and relevance is not None and scheme_id not in named
                and relevance.get(scheme_id, 0.0) < ORPHAN_MIN):
            continue  # beside the needs read, a scheme of no need only when clearly described (a mobility
            # platform at 0.51 for « je commence à 6 h du matin » is not what a childcare question asks)
        groups.setdefault(need, []).append(scheme_id)
    _make_room(groups, relevance or {})
    described_somewhere = {s for chosen in groups.values() for s in chosen}
    topical = [n for n in ordered if not needs_catalogue()[n].get("audience")]
    used: set[str] = set()
    out: list[dict[str, Any]] = []
    for need, chosen in groups.items():
        chosen = [s for s in chosen if s not in used]
        audience = bool(topical) and need is not None and need not in topical
        own: list[str] = []
        local: list[str] = []
        if need is not None:
            own = [s.id for s in schemes_for_need(need) if s.id not in used and s.id not in described_somewhere
                   and s.id not in not_offered]
            if relevance is not None:
                ranked = sorted(own, key=lambda s: -relevance.get(s, 0.0))
                own = [s for s in ranked if relevance.get(s, 0.0) >= FILL_MIN]
                # a local scheme is relevant by place: eligibility says whether it is the person's
                local = [s for s in ranked if slots.get("commune") and kb.schemes[s].conditions.zone is not None
                         and s not in own]
        if audience:  # « les jeunes » beside the holidays: their holiday schemes, not the pass Culture (sc-005)
            # (a scheme the person named or clearly described stays: « passer le BAFA »)
            chosen, own, local = ([x for x in group if x in named or _of_the_topics(x, need, topical)]
                                  for group in (chosen, own, local))
            if not (chosen or own or local):
                continue
        used.update(chosen + own + local)
        if chosen or need is not None:
            # a described scheme of a territory (the Aisne's nutri-chèques) is kept before the ones
            # found everywhere: eligibility says later whether the person lives there
            described_first = sorted(chosen, key=lambda s: kb.schemes[s].conditions.zone is None)
            item: dict[str, Any] = {"need": need, "described": described_first[:PER_NEED + 1],
                                    "schemes": chosen + own + local,
                                    "named": [s for s in chosen if s in named],
                                    "said": [s for s in chosen if s in said],
                                    "firm": firm is None or need in firm, "beside": bool(out)}
            if relevance is not None:
                item["relevance"] = {s: relevance[s] for s in item["schemes"] if s in relevance}
            out.append(item)
    return out


def _of_the_topics(scheme_id: str, audience: str, topical: list[str]) -> bool:
    """Whether a scheme of an audience need (« les jeunes ») fits the topics read beside it: it serves
    one of them, or it is the audience's door whatever the topic (needs.yml `audience_doors`: the
    mission locale); not the pass Culture (leisure) nor the BAFA (the audience's alone) for holidays.
    Keeping the audience's own schemes too (the BAFA, the service civique) showed more that the
    held-out labels do not expect (irrelevant 14.7 → 14.9 %) and found none more."""
    catalogue = needs_catalogue()
    if scheme_id in (catalogue[audience].get("audience_doors") or []):
        return True
    serving = [n for n, item in catalogue.items() if scheme_id in (item.get("schemes") or [])]
    return any(n in topical for n in serving)


def _make_room(groups: dict[str | None, list[str]], relevance: dict[str, float]) -> None:
    """A need with more described schemes than it shows gives the least relevant of them, when it also
    serves another need read with room, to that need: Sac Ados, described at 0.86 for a girl of 17,
    went under the holidays beside the Pass colo, the colos and a local scheme, and was never shown,
    while the youth need showed the BAFA at 0.51 (sc-005)."""
    for need in [n for n in groups if n is not None]:
        chosen = groups[need]
        for scheme_id in sorted(chosen, key=lambda s: relevance.get(s, 1.0)):
            if len(chosen) <= PER_NEED:
                break
            room = next((other for other in groups if other not in (None, need)
                         and len(groups[other]) < PER_NEED and need_of(scheme_id, [other])), None)
            if room is not None:
                chosen.remove(scheme_id)
                groups[room] = sorted([*groups[room], scheme_id], key=lambda s: -relevance.get(s, 1.0))


def for_them(items: list[dict[str, Any]], results: list[SchemeResult], slots: dict[str, Any]) -> list[SchemeResult]:
    """Once the questions are over, the results of schemes meant for the person's public: what the
    facts say, or for an unknown fact a need read that stands for it (publics.yml `unknown_fits_with`:
    no mission locale for someone whose age was never said, when nothing was about young people).
    A scheme the person named by its name stays; one only described, however clearly, is for its
    public too (Départ 18:25, read at 0.87 for « un couple de retraités voudrait partir à la mer », is
    for the young). A scheme of a few communes (a zone of communes or intercommunalities) is for the
    people who live there: when the commune is not known once the questions are over, it is shown only
    when the person named or clearly described it (the « 10 000 départs » of Lens-Liévin was shown to
    nine people of the held-out set whose commune was never said; the Thiérache's nutri-chèques stay
    for a family said to live in the Thiérache)."""
    schemes = get_kb().schemes
    needs = [i["need"] for i in items if i.get("need")]
    said = {s for i in items for s in i.get("said") or []}
    named = {s for i in items for s in i.get("named") or []}
    if slots.get("focus_scheme"):
        said.add(slots["focus_scheme"])
    # (a scheme only described is kept while its public is unknown: only a fact known rules it out)
    return [r for r in results if r.scheme_id in said
            or ((slots.get("commune") or r.scheme_id in named or not _local(schemes[r.scheme_id]))
                and public_fits(schemes[r.scheme_id].publics, slots,
                                needs=None if r.scheme_id in named else needs))]


def _local(scheme: Scheme) -> bool:
    """A scheme of a few communes: its zone names no département or region."""
    zone = scheme.conditions.zone
    return zone is not None and not zone.departements and not zone.regions


def shown_in(item: dict[str, Any], ranked_open: list[SchemeResult], situations: Collection[str] = ()) -> list[str]:
    """The schemes of a plan item to show, among those still open (ranked best first).

    `situations`: the person's known situations (a wage...), which answer a scheme's premise when the scheme
    is raised for them (`raised_for`: the prime d'activité for « moi je bosse »).

    The ones the person described come first. The need's other schemes come in only when nothing
    was described (at most FILL_FROM_NEED), or, one of them, when it fits the person closely: two
    checked conditions (a child's age and a situation...), or one and the person's territory.
    """
    ids = [r.scheme_id for r in ranked_open]
    # of the described ones, those of the person's own territory first (the Thiérache's
    # nutri-chèques before the épiceries solidaires found everywhere), then in the reader's order
    schemes = get_kb().schemes
    described = sorted((s for s in item.get("described") or [] if s in ids),
                       key=lambda s: schemes[s].conditions.zone is None)
    relevance = item.get("relevance")
    if relevance is not None:  # a scheme that presupposes a problem the words are not about is not open
        # (the person's known situation answers it too: the prime d'activité for « moi je bosse », raised_for a
        # wage; and so does a benefit OpenFisca finds from the facts given)
        ranked_open = [r for r in ranked_open if r.scheme_id in described or not schemes[r.scheme_id].premise
                       or relevance.get(r.scheme_id, 0.0) >= PREMISE_MIN
                       or is_raised_for(schemes[r.scheme_id], situations)
                       or (r.status is Status.eligible and schemes[r.scheme_id].openfisca is not None)]
        ids = [r.scheme_id for r in ranked_open]
    if item.get("screening"):  # « à quelles aides j'ai droit ? »: what the person described first, then
        # the national benefits people most often miss (computed with OpenFisca: those it finds; until
        # computed, those the person's words are about), then what else their words are about
        weight = relevance or {}
        national = [r.scheme_id for r in ranked_open if schemes[r.scheme_id].openfisca is not None and (
            r.status is Status.eligible or weight.get(r.scheme_id, 0.0) >= FILL_MIN)]
        others = sorted((s for s in ids if weight.get(s, 0.0) >= FILL_MIN), key=lambda s: -weight.get(s, 0.0))
        fitting = _fits_closely(ranked_open, set(described))[:1]  # the AVIP for a parent on the RSA, a child of 1
        return list(dict.fromkeys([*described, *fitting, *national, *others]))[:SCREENING_SHOWN]
    if relevance is not None:  # read from the person's words: the most relevant first
        others = sorted((s for s in ids if s not in described), key=lambda s: -relevance.get(s, 0.0))
        fitting = [s for s in others if relevance.get(s, 0.0) >= fill_floor(item, bool(described))]
        local = _fits_closely(ranked_open, set(described) | set(fitting))[:1]
        if not described and item.get("beside"):
            # a need said clearly is answered, not dropped: its most relevant scheme, a place that can help
            # (« I'm looking for a daycare for my youngest » beside food: the relais petite enfance at 0.27)
            firm_best = [s for s in others if relevance.get(s, 0.0) >= FILL_MIN][:1] if item.get("firm") else []
            return (fitting or firm_best)[:FILL_FROM_NEED]
        if not described:
            return list(dict.fromkeys(local + (fitting or others)))[:FILL_FROM_NEED + len(local)]
        # of what the words are about, the schemes the person's facts fit closely first (the Pass colo
        # for a child of 11 and a QF of 610 €, before a scheme that depends on what is not known)
        close = _fits_closely(ranked_open, set())
        at_most = shown_at_most(item)
        head = sorted(described, key=lambda s: s not in close)[:at_most - len(local)]
        # a local scheme that fits takes the last place
        return list(dict.fromkeys(head + local + [s for s in fitting if s in close] + described + fitting))[:at_most]
    if not described:
        return ids[:FILL_FROM_NEED]
    fitting = _fits_closely(ranked_open, set(described))
    at_most = shown_at_most(item)
    keep = at_most - min(len(fitting), 1)
    return (described[:keep] + fitting)[:at_most]


def _fits_closely(ranked_open: list[SchemeResult], besides: set[str]) -> list[str]:
    """Schemes eligible on two checked conditions (a child's age and a situation...), or on one and
    the person's territory (the Aisne's nutri-chèques for a family of Vervins, its QF known)."""
    schemes = get_kb().schemes
    return [r.scheme_id for r in ranked_open
            if r.scheme_id not in besides and r.status is Status.eligible
            and (r.specificity >= 2 or (r.specificity >= 1 and schemes[r.scheme_id].conditions.zone is not None)
                 or _local(schemes[r.scheme_id]))]


def raised_beside(slots: dict[str, Any], considered: set[str]) -> list[str]:
    """The schemes people in the person's known situation often miss (`raised_for`: a wage, the prime
    d'activité), beside the needs they came for: not one already considered, received, the speaker's own,
    or meant for other people (« mon salaire c 1200 » beside a deposit for a first flat, sc-020); one the
    situation says is received is ruled out by eligibility (`received_as`)."""
    situations = set(situations_of(facts_from_slots(slots)))
    if not situations:
        return []
    not_offered = not_offered_to(slots) | considered
    return [s.id for s in get_kb().schemes.values() if is_raised_for(s, situations) and s.id not in not_offered]


def is_raised_for(scheme: Scheme, situations: Collection[str]) -> bool:
    """The scheme is raised for one of these situations (`raised_for`: the prime d'activité for a wage)."""
    return any(r.value in situations for r in scheme.raised_for)


def planned_schemes(items: list[dict[str, Any]]) -> list[str]:
    return list(dict.fromkeys(s for item in items for s in item["schemes"]))


def planned_described(items: list[dict[str, Any]]) -> list[str]:
    """The schemes the person described, over every need of the plan, in its order."""
    return list(dict.fromkeys(s for item in items for s in item.get("described") or []))

"""Shared glue for the actions: the knowledge base, facts from slots, service selection and wording."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from actions.places import (
    address_text,
    details_text,
    distance_km,
    distance_text,
    door_mentions,
    door_places,
    mairie_of,
    nearest_france_services,
    person_point,
    specialised_places,
    stale_note,
)
from bot.dialogue.responses import current_language, responses, say, say_about
from knowledge.contacts import contacts_for
from knowledge.content import CONTENT_DIR
from knowledge.eligibility import EligibilityEngine, SchemeResult, Status
from knowledge.facts import FACT_NAMES, situations_of
from knowledge.gazetteer import Commune
from knowledge.kb import KnowledgeBase, ServiceRecord
from knowledge.placedata import directories, serves_its_departement
from knowledge.places import zone_contains
from knowledge.schema import Scheme
from knowledge.search import NearbyService, ServiceSearch
from knowledge.yamlio import load_yaml

COVERED_REGIONS = {"32": "Hauts-de-France", "11": "Île-de-France"}
FAR_KM = 40.0
#: a zone code this long or shorter is a département (« 60 », « 2A », « 974 »), longer an EPCI or a commune
DEPARTEMENT_CODE_LENGTH = 3
THEME_ONLY_KM = 25.0
#: doors too general to pick a place by (a CCAS or a mairie of another commune is not yours)
GENERIC_DOORS = {"communes", "departements", "regions", "ccas-cias", "france-service", "caf", "france-travail",
                 "centres-sociaux", "cpam", "msap"}
#: a place that carries a scheme shown is about the needs it is read for from at least this share of its
#: best need's probability (the Nord's energy action: energie 0.97, logement 0.87)
PLACE_NEED_SHARE = 0.75
#: a place found on its theme alone is left out when read about other needs at least this surely (a
#: mobile digital museum, numerique 0.90, for a canteen; a chantier d'insertion for the BAFA)
PLACE_SURE = 0.8
_kb: KnowledgeBase | None = None
_read_needs: Callable[[str], list[tuple[str, float]]] | None = None


def set_reader(read_needs: Callable[[str], list[tuple[str, float]]] | None) -> None:
    """The engine injects the situation reader's needs, to read what each place is about."""
    global _read_needs
    _read_needs = read_needs
    _place_needs.cache_clear()


@lru_cache(maxsize=4096)
def _place_needs(name: str, description: str) -> tuple[frozenset[str], float]:
    """The needs a place's own name and description are about (empty without a reader), and how
    surely the likeliest one is read."""
    if _read_needs is None:
        return frozenset(), 0.0
    read = _read_needs(f"{name}. {description}")
    top = max((p for _, p in read), default=0.0)
    return frozenset(n for n, p in read if p >= PLACE_NEED_SHARE * top), top


def set_kb(kb: KnowledgeBase) -> None:
    """The engine injects its knowledge base; the Rasa action server loads the default one."""
    global _kb
    _kb = kb
    _search_for.cache_clear()


def get_kb() -> KnowledgeBase:
    global _kb
    if _kb is None:
        _kb = KnowledgeBase.load()
    return _kb


@lru_cache(maxsize=4)
def _search_for(kb_id: int) -> ServiceSearch:
    return ServiceSearch(get_kb())


def search() -> ServiceSearch:
    return _search_for(id(get_kb()))


@lru_cache(maxsize=1)
def needs_catalogue() -> dict[str, dict[str, Any]]:
    data = load_yaml((CONTENT_DIR / "needs.yml").read_text(encoding="utf-8"))
    return {item["id"]: item for item in data["needs"] + data["service_types"]}


def facts_from_slots(slots: dict[str, Any]) -> dict[str, Any]:
    return {name: slots[name] for name in FACT_NAMES if slots.get(name) is not None}


#: who writes for the person concerned besides a relative (whose messages set `third_person`)
THIRD_PERSON_ROLES = ("agent", "ambassadeur")


def is_third_person(slots: dict[str, Any]) -> bool:
    """Someone writes for the person concerned: an agent, an ambassadeur, a relative."""
    return bool(slots.get("third_person")) or slots.get("role") in THIRD_PERSON_ROLES


def commune_of(slots: dict[str, Any]) -> Commune | None:
    code = slots.get("commune")
    return get_kb().gazetteer.get(code) if code else None


def schemes_for_need(need_id: str | None) -> list[Scheme]:
    """Schemes whose themes meet the need's themes (the need catalogue is data)."""
    if not need_id:
        return []
    need = needs_catalogue().get(need_id)
    if not need:
        return []
    if need.get("schemes"):
        return [get_kb().schemes[s] for s in need["schemes"] if s in get_kb().schemes]
    wanted = set(need.get("themes", []))
    out = []
    for scheme in get_kb().schemes.values():
        if any(
            t in wanted or any(t.startswith(w + "--") or w.startswith(t + "--") for w in wanted)
            for t in scheme.themes
        ):
            out.append(scheme)
    return out


def evaluate(scheme_ids: list[str], slots: dict[str, Any], simulate: bool = False) -> list[SchemeResult]:
    """`simulate`: compute OpenFisca schemes (orientation turns only; other turns stay fast)."""
    from knowledge.benefits.engines import current_benefits

    kb = get_kb()
    engine = EligibilityEngine(kb.gazetteer, benefits=current_benefits() if simulate else None)
    facts = facts_from_slots(slots)
    return engine.evaluate_all([kb.schemes[s] for s in scheme_ids if s in kb.schemes], facts)


def need_numbers_text(need_ids: list[str | None], given: Iterable[str] = ()) -> str | None:
    """The free numbers a need always brings first (`numbers` in needs.yml: a bed tonight is the
    115, whatever else follows), one line each, or None; not those already `given` this turn."""
    catalogue = needs_catalogue()
    by_number = {n.number: n for n in get_kb().emergency}
    said = set(given)
    numbers = dict.fromkeys(n for need in need_ids for n in catalogue.get(need or "", {}).get("numbers") or [])
    lines = [f"☎ {n} — {by_number[n].name}" for n in numbers if n in by_number and n not in said]
    return "\n".join(lines) or None


def rank_results(results: list[SchemeResult]) -> list[SchemeResult]:
    order = {Status.eligible: 0, Status.to_check: 1, Status.not_eligible: 2}
    return sorted(results, key=lambda r: (order[r.status], -r.specificity, len(r.missing)))


@dataclass
class ServicePick:
    nearby: list[NearbyService]
    far: bool


def _theme_overlap(themes: list[str], wanted: set[str]) -> bool:
    """Same sub-theme, or a service sub-theme under a wanted top-level theme."""
    return any(t in wanted or any("--" not in w and t.startswith(w + "--") for w in wanted) for t in themes)


@lru_cache(maxsize=1)
def public_rules() -> dict[str, dict[str, Any]]:
    """Who a place is for, as the facts tell it (knowledge/content/publics.yml)."""
    return dict(load_yaml((CONTENT_DIR / "publics.yml").read_text(encoding="utf-8"))["publics"])


def public_fits(publics: list[str], slots: dict[str, Any], unknown_fits: bool = True,
                needs: Iterable[str] | None = None) -> bool:
    """A place or a scheme only for some publics (students, young people...) is proposed to the
    people the known facts say are of one of them (publics.yml). With `unknown_fits` False (a place
    found on its theme alone), a rule's `unknown: fits` does not apply: a positive sign is needed.
    `needs`: the needs read, once the questions are over; a rule's `unknown_fits_with` needs stand for
    its unknown facts (the young people's need read, a mission locale is offered to someone whose age
    was not asked). None: before the questions, what they may still settle fits."""
    rules = public_rules()
    if not publics or any(p not in rules for p in publics):
        return True
    read = None if needs is None else set(needs)
    return any(_fits_rule(rules[p], slots, unknown_fits, read) for p in publics)


def _fits_rule(rule: dict[str, Any], slots: dict[str, Any], unknown_fits: bool = True,
               needs: set[str] | None = None) -> bool:
    """Every fact the rule names must fit; an unknown one fits only with `unknown: fits`, or with one
    of its `unknown_fits_with` needs read (any of them, before the questions: `needs` None)."""
    signs = set(rule.get("unknown_fits_with") or [])
    signed = bool(signs) and (needs is None or bool(needs & signs))
    unknown = unknown_fits and (rule.get("unknown") == "fits" or signed)
    verdicts: list[bool | None] = []
    if "age_min" in rule or "age_max" in rule:
        age = slots.get("age")
        verdicts.append(None if age is None else rule.get("age_min", 0) <= int(age) <= rule.get("age_max", 200))
    if "situation" in rule:  # any situation said (« au RSA, inscrit à France Travail »)
        said = situations_of(slots)
        verdicts.append(None if not said else any(s in rule["situation"] for s in said))
    for fact in ("housing", "sex"):
        if fact in rule:
            value = slots.get(fact)
            verdicts.append(None if value is None else value in rule[fact])
    if "situation_not" in rule and slots.get("situation") in rule["situation_not"]:
        verdicts.append(False)
    if rule.get("children"):
        count = slots.get("children_count")
        verdicts.append(None if count is None else int(count) > 0)
    if "needs_read" in rule:  # a public told by what the person needs (people in an emergency)
        verdicts.append(None if needs is None else bool(needs & set(rule["needs_read"])))
    if False in verdicts:
        return False
    return unknown if None in verdicts else True


def _about(service: ServiceRecord, needs: set[str], sure_from: float = 0.0) -> bool:
    """A place that carries a scheme shown is proposed for what it is about: the Pas-de-Calais's fund
    against evictions carries the FSL, and is no place for an electricity debt. `sure_from`: a place
    read about something else less surely than this is kept (a place found on its theme alone: the
    Champagne Picarde's France Services read at 0.53 as holidays is still a place for digital help)."""
    about, top = _place_needs(service.nom, service.description or "")
    return not needs or not about or top < sure_from or bool(about & needs)


def _premises_unshown(scheme_ids: list[str]) -> set[str]:
    """The schemes that presuppose a problem (`premise`: rent arrears) and are not shown: a place that
    carries one is not about what the words are about (the Pas-de-Calais's fund against evictions
    also carries the FSL, and is no place for a first flat's deposit)."""
    return {s.id for s in get_kb().schemes.values() if s.premise and s.id not in scheme_ids}


def pick_services(slots: dict[str, Any], scheme_ids: list[str], need_id: str | None,
                  service_type: str | None = None, limit: int = 3, max_km: float = 80.0,
                  about: Iterable[str] = ()) -> ServicePick:
    """The nearest relevant services for the person's place.

    Relevance: a service that carries one of the schemes comes first; then a service of the
    requested kind (France Services, CCAS...); then a place nearby whose themes meet the need's or
    the schemes' themes. A shared network alone (e.g. "communes") is not enough. `about`: the needs
    of the orientation; a place that carries a scheme shown must be about one of them (`_about`).
    """
    kb = get_kb()
    commune = commune_of(slots)
    point = person_point(kb, slots, commune)
    if point is None:
        return ServicePick([], False)
    lat, lon = point
    catalogue = needs_catalogue()
    kind = catalogue.get(service_type or "", {})
    kind_networks = set(kind.get("networks") or [])
    wanted_themes: set[str] = set()
    if need_id and need_id in catalogue:  # the need says which places help (it may say none)
        wanted_themes |= set(catalogue[need_id].get("themes") or [])
    else:
        for scheme_id in scheme_ids:
            if scheme_id in kb.schemes:
                wanted_themes |= set(kb.schemes[scheme_id].themes)
    doors = {d for s in scheme_ids if s in kb.schemes for d in kb.schemes[s].where_to_go} - GENERIC_DOORS
    # a place nearby that carries one of the need's own schemes is a place for the need, as one of its
    # themes would be: data·inclusion has no theme for holidays, and the commune of Pont-à-Vendin's help
    # to leave on holiday (« 10 000 départs ») was never found for a family of Pont-à-Vendin (sc-087)
    need_schemes = set(catalogue.get(need_id or "", {}).get("schemes") or []) - set(scheme_ids)  # needs.yml's list
    about_needs = set(about)
    unshown_premises = _premises_unshown(scheme_ids)
    scored: list[tuple[int, NearbyService]] = []
    # Only a service that can score below is asked for (a scheme it carries, the kind's networks,
    # the wanted themes or the schemes' doors), within max_km, with those without a position: the
    # spatial index and its filter masks do the rest (150,000 imported services stay fast).
    if service_type:
        themes, schemes, networks = [], [], sorted(kind_networks)
    else:
        themes, schemes, networks = sorted(wanted_themes), [*scheme_ids, *sorted(need_schemes)], sorted(doors)
    candidates = search().nearest(
        lat=lat, lon=lon, commune=commune, themes=themes, scheme_ids=schemes, networks=networks, limit=100_000,
        max_km=max_km, include_unlocated=True,
    ) if themes or schemes or networks else []  # fmt: skip
    for near in candidates:
        service = near.service
        if near.distance_km is not None and near.distance_km > max_km:
            continue
        if unshown_premises.intersection(service.schemes):  # the fund against evictions, for a deposit
            continue
        if service_type:
            score = 3 if kind_networks.intersection(service.reseaux_porteurs) else 0
        else:
            score = 3 if set(scheme_ids).intersection(service.schemes) and _about(service, about_needs) else 0
            close = near.distance_km is not None and near.distance_km <= THEME_ONLY_KM
            # a theme brings a place near the person only: a place without a point (a whole
            # département) is a programme, proposed when it carries a scheme shown — on a theme
            # alone, debt funds and mothers' sport came to a question about holidays
            if (not score and wanted_themes and close and _theme_overlap(service.thematiques, wanted_themes)
                    and _about(service, about_needs, PLACE_SURE)):  # no mobile museum for a canteen
                score = 1
            if not score and close and need_schemes.intersection(service.schemes) and _about(service, about_needs):
                score = 1
            if not score and close and doors.intersection(service.reseaux_porteurs):
                score = 1  # the kind of place the scheme sends people to (a mission locale...)
        # a place for some publics: the known facts must not rule the person out; a programme without
        # an address of its own, found on its theme alone, needs a positive sign (the Métropole's
        # housing for young people, for a man sleeping in his car whose age was not asked)
        if score and public_fits(service.publics, slots, unknown_fits=score >= 3 or bool(service.adresse),
                                 needs=about_needs | ({need_id} if need_id else set())):
            scored.append((score, near))
    # the directories' real places come after a curated service of the same kind (its source is a seed)
    scored += [(2, near) for near in _directory_places(kb, kind_networks, commune, (lat, lon), limit, max_km)]
    # a place that carries a scheme shown stays even without a precise point (département-wide);
    # otherwise located places come before the ones without a point
    located = [(sc, n) for sc, n in scored if n.distance_km is not None or sc >= 3] or scored
    if commune is not None:  # only places that serve the person: when none does, the doors say who can
        # (an action for the Denaisis 45 km from Lille, a women's project 68 km away are no answer)
        located = [(sc, n) for sc, n in located if _serves_here(n, commune)]
    # among equally relevant places, one the person can contact directly comes first
    # and a place nearby with a contact comes before a département-wide one without any
    located.sort(key=lambda item: (not _reachable(*item), -item[0], not item[1].service.has_contact,
                                   item[1].distance_km is None, item[1].distance_km or 0.0))
    # the old directory's specialised places (a mission locale, a CIDFF, the MDPH) only fill what is left:
    # of the kind asked for, or, within FAR_KM, of the kind the schemes shown send people to (a CIDFF
    # serves its département: Laon's, 29 km from Soissons, sc-051)
    if len(located) < limit:
        # (never a place already there under its curated name: the same e-mail or phone)
        shown = {c for _sc, n in located for c in (n.service.courriel, n.service.telephone) if c}
        # the need's own kinds of place count too (a CIDFF for violence, when no scheme was shown: the
        # « lieu d'aide » offered after the emergency numbers, round 55, sc-115)
        need_networks = set(catalogue.get(need_id or "", {}).get("networks") or []) - GENERIC_DOORS
        extra = _specialised(kb, slots, commune, (lat, lon), kind_networks if service_type else doors | need_networks,
                             max_km if service_type else FAR_KM, about_needs | ({need_id} if need_id else set()))
        located += [(sc, n) for sc, n in extra if not shown & {n.service.courriel, n.service.telephone}]
    nearby = _without_echoes([n for _sc, n in located])[:limit]
    nearby.sort(key=lambda n: (n.distance_km is None, n.distance_km or 0.0))
    far = bool(nearby) and all(n.distance_km is None or n.distance_km > FAR_KM for n in nearby)
    return ServicePick(nearby, far)


def _without_echoes(places: list[NearbyService]) -> list[NearbyService]:
    """Without a place that only echoes one before it: no address, no direct contact, and the same schemes as a
    place kept that has a contact (two curated entries of the APTAHR's nutri-chèques, the second « pas de contact
    direct connu », round 57, sc-110)."""
    kept: list[NearbyService] = []
    for near in places:
        service = near.service
        echo = (not service.has_contact and not address_text(service) and bool(service.schemes)
                and any(k.service.has_contact and set(service.schemes) <= set(k.service.schemes) for k in kept))
        if not echo:
            kept.append(near)
    return kept


def _specialised(kb: KnowledgeBase, slots: dict[str, Any], commune: Commune | None, point: tuple[float, float],
                 networks: set[str], max_km: float, needs: set[str]) -> list[tuple[int, NearbyService]]:
    """The nearest place of each of these networks in the old directory, for the publics it serves and
    serving the person's commune, nearest first."""
    found = [n for n in specialised_places(kb, networks, point, max_km)
             if public_fits(n.service.publics, slots, unknown_fits=bool(n.service.adresse), needs=needs)
             and (commune is None or _serves_here(n, commune))]
    return [(1, n) for n in sorted(found, key=lambda n: n.distance_km or 0.0)]


def _serves_here(near: NearbyService, commune: Commune) -> bool:
    """A département-wide programme without a point serves; a located place as serves_commune says."""
    return near.distance_km is None or serves_commune(near.service, commune)


def serves_commune(service: ServiceRecord, commune: Commune) -> bool:
    """A place serves a commune within FAR_KM, or from further when it comes to people there: its zone
    holds the commune and is narrower than a département (a mobile unit's intercommunalités), or it
    helps from a distance. A curated zone of a whole département is where the place is funded, not
    how far people travel: an épicerie 74 km away does not serve someone without a car."""
    distance = distance_km(service, (commune.latitude, commune.longitude))
    if service.zone_eligibilite:
        if not zone_contains(service.zone_eligibilite, commune):
            return False
        if serves_its_departement(service.source):  # the MDPH of the département, however far
            return True
        narrow = all(len(code) > DEPARTEMENT_CODE_LENGTH for code in service.zone_eligibilite)
        if narrow or "a-distance" in service.modes_accueil or distance is None:
            return True
    return distance is not None and distance <= FAR_KM


def _reachable(score: int, near: NearbyService) -> bool:
    """A place the person can reach: it has a direct contact, and it carries a scheme shown or is near."""
    return near.service.has_contact and (score >= 3 or near.distance_km is not None)


def _directory_places(kb: KnowledgeBase, networks: set[str], commune: Commune | None, point: tuple[float, float],
                      limit: int, max_km: float) -> list[NearbyService]:
    """Real places of the requested kind: the nearest France Services, the mairie of the commune."""
    found: list[NearbyService] = []
    if "france-service" in networks:
        found += nearest_france_services(kb, point, limit=limit, max_km=max_km)
    if "communes" in networks:
        mairie = mairie_of(kb, commune or kb.gazetteer.nearest(*point), point)
        if mairie is not None:
            found.append(mairie)
    return found


def contact_text(service: ServiceRecord, commune: Commune | None = None, audience: str = "residents",
                 slots: dict[str, Any] | None = None) -> str:
    """The contacts this audience may be given (residents: resident-facing ones only); a place
    without contact names the door (never the speaker's own kind of place: `slots`), and with the
    person's commune, that door's own contact."""
    contacts = contacts_for(service, audience)
    parts = []
    if contacts.get("telephone"):
        parts.append(f"Tél. {contacts['telephone']}")
    if contacts.get("courriel"):
        parts.append(contacts["courriel"])
    if contacts.get("site_web"):
        parts.append(contacts["site_web"])
    if parts:
        return " · ".join(parts)
    french = service.no_contact_door or responses("fr")["default_door"][0]  # what door_mentions reads
    door = french
    if slots:
        from actions.speaker import door_without_own  # (speaker reads the needs catalogue here)

        door = door_without_own(door, slots)
    shown = door  # in English when the fiche has its translation (and no own door was taken out)
    if current_language() == "en" and door == french:
        shown = service.no_contact_door_en or (say("default_door") if not service.no_contact_door else door)
    text = say("service_no_contact", door=shown)
    if commune is None:
        return text
    # the door is the person's own mairie, or the nearest France Services: say which, with its contact
    kb = get_kb()
    named: list[NearbyService] = []
    if door_mentions(door, "mairies"):
        named += [m for m in [mairie_of(kb, commune)] if m is not None]
    if door_mentions(door, "france-services"):
        named += nearest_france_services(kb, (commune.latitude, commune.longitude), limit=1)
    # « la mission locale de votre secteur »: the nearest one of the old directory (dated, to confirm),
    # when what is known says the person is of its publics (the young, for a mission locale)
    kinds = {d.reseau for d in directories().values() if d.to_confirm and door_mentions(door, d.id)}
    named += [n for n in specialised_places(kb, kinds, (commune.latitude, commune.longitude), FAR_KM)
              if public_fits(n.service.publics, slots or {}, unknown_fits=False)]
    found = [f"{n.service.nom} : {contact_text(n.service, audience=audience)}{stale_note(n.service)}"
             for n in named if n.service.has_contact]
    return text + (f" ({' ; '.join(found)})" if found else "")


def service_line(
    near: NearbyService, departement: str | None = None, commune: Commune | None = None,
    today: dt.date | None = None, audience: str = "residents", slots: dict[str, Any] | None = None,
) -> str:
    """One place: name, address (or commune, or zone), distance, contacts, today's hours, data date."""
    service = near.service
    located = address_text(service) or service.commune
    # a place known only by its zone (HopHopFood in « Lille, Amiens, Senlis ») has no point to be far
    # from: its map point is one of its sites, 79 km from Senlis where it also works
    distance = distance_text(near.distance_km) if located else ""
    where = located or zone_label(service.zone_eligibilite, departement)
    # a name that already ends with its zone is not followed by it again (« … producteurs locaux (Aisne) (Aisne) »)
    nom = service.nom.removesuffix(f" ({where})") if where and not distance else service.nom
    contact = contact_text(service, commune, audience, slots).rstrip(".")
    return say("service_line", nom=nom, where=where, distance=distance,
               contact=contact, details=details_text(service, today), stale=stale_note(service))


def doors_for(slots: dict[str, Any], commune: Commune | None, france_services: int = 1) -> list[NearbyService]:
    """The mairie of the person's commune and the nearest France Services — not the speaker's own
    kind of place (a France Services agent is not sent to the nearest France Services)."""
    from actions.speaker import own_place_check  # (speaker reads the needs catalogue here)

    is_own = own_place_check(slots)
    # one France Services more, in case the nearest is the speaker's own (the one a CCAS runs, sc-079)
    doors = [d for d in door_places(get_kb(), slots, commune, france_services=france_services + 1)
             if not is_own(d.service)]
    others = [d for d in doors if "france-service" not in d.service.reseaux_porteurs]
    return [*others, *[d for d in doors if d not in others][:france_services]]


def door_reply(slots: dict[str, Any], commune: Commune | None, intro: str = "doors_intro",
               france_services: int = 1, **values: Any) -> tuple[str, list[NearbyService]] | None:
    """The actual mairie of the person's commune and the nearest France Services, worded; None when
    neither is known (no commune nor position, or a database without the directories). `values`
    fill the intro (the kind of place asked for)."""
    doors = doors_for(slots, commune, france_services)
    if not doors:
        return None
    departement = commune.departement if commune else None
    lines = [service_line(n, departement, commune, slots=slots) for n in doors]
    return "\n".join([say_about(intro, is_third_person(slots), **values), *lines]), doors


def orientation_door(slots: dict[str, Any], commune: Commune | None, has_nearby: bool) -> str | None:
    """The closing door of an orientation (no place near, far places, or outside the regions):
    the actual mairie and nearest France Services, or None to keep the generic wording."""
    doors = door_reply(slots, commune, "doors_intro_outside" if has_nearby else "doors_intro")
    return doors[0] if doors else None


def zone_label(codes: list[str], departement: str | None = None) -> str:
    """"59, 62" -> "Nord, Pas-de-Calais" for a service without a precise place (the person's first)."""
    gazetteer = get_kb().gazetteer
    if departement in codes:
        codes = [departement, *[c for c in codes if c != departement]]
    names = [gazetteer.departement_name(c) or gazetteer.region_name(c) or "" for c in codes[:3]]
    return ", ".join(n for n in names if n) or say("your_area")


def service_links(services: list[NearbyService]) -> list[dict[str, str]]:
    """Links the widget may render: only contacts copied from the knowledge base."""
    links = []
    for near in services:
        s = near.service
        site = contacts_for(s, "residents").get("site_web")
        if site:
            links.append({"title": s.nom, "url": site})
    return links


def outside_region(commune: Commune | None) -> bool:
    return commune is not None and commune.region not in COVERED_REGIONS


def first_sentence(text: str) -> str:
    """Up to the first « . » or « ; » outside brackets: « Saison 2025-2026 (annonce de juin 2025, selon
    la presse ; aucune page officielle consultée) : 14 à 17 ans… » is not cut inside its brackets
    (the Pass'Sport line, simulated users, rounds 22–24)."""
    text = text.strip()
    depth = 0
    for sep in (". ", " ; "):
        for index, char in enumerate(text):
            depth += char == "(" or -(char == ")")
            if depth == 0 and text.startswith(sep, index):
                return text[:index].rstrip(".") + "."
        depth = 0
    return text

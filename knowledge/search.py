"""Search: nearest services to a place, and tolerant text search over schemes and services."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING

import numpy as np
from rapidfuzz import fuzz, process

from knowledge.content import CONTENT_DIR
from knowledge.nearest import Filters, NearestServices
from knowledge.nearest import service_matches as _service_matches
from knowledge.placedata import directories
from knowledge.places import zone_contains
from knowledge.textnorm import fold
from knowledge.yamlio import load_yaml

if TYPE_CHECKING:
    from knowledge.gazetteer import Commune
    from knowledge.kb import KnowledgeBase, ServiceRecord
    from knowledge.schema import Scheme

EARTH_RADIUS_KM = 6371.0


@dataclass
class NearbyService:
    service: ServiceRecord
    distance_km: float | None


@dataclass
class Hit:
    kind: str  # "scheme" | "service"
    id: str
    title: str
    score: float
    distance_km: float | None = None
    #: the service itself when it is a directory place (France Services, mairie), not in `kb.services`
    record: ServiceRecord | None = field(default=None, repr=False)


#: a commune named in the query with no matching service this close: add the doors (mairie, France Services)
DOOR_KM = 25.0
DOOR_SCORE = 70.0


@dataclass(frozen=True)
class SearchWords:
    """Synonym groups and fixed expressions of knowledge/content/search.yml, folded."""

    synonyms: tuple[tuple[str, ...], ...]
    expressions: tuple[str, ...]

    def join_expressions(self, folded: str) -> str:
        """"prime de sortie de vacance" -> "prime de sortiedevacance": its words no longer match alone."""
        text = f" {folded} "
        for expression in self.expressions:
            text = text.replace(f" {expression} ", f" {expression.replace(' ', '')} ")
        return text.strip()

    def variants(self, folded: str) -> list[str]:
        """The query, then the query with each synonym of a phrase it contains (whole words)."""
        out = [folded]
        for group in self.synonyms:
            for phrase in group:
                if re.search(rf"\b{re.escape(phrase)}\b", folded):
                    for other in group:
                        if other != phrase:
                            out.append(re.sub(rf"\b{re.escape(phrase)}\b", other, folded))
        return list(dict.fromkeys(out))


@lru_cache(maxsize=1)
def search_words() -> SearchWords:
    data = load_yaml((CONTENT_DIR / "search.yml").read_text(encoding="utf-8")) or {}
    synonyms = tuple(tuple(fold(p) for p in group) for group in data.get("synonyms") or [])
    expressions = tuple(sorted((fold(e) for e in data.get("expressions") or []), key=len, reverse=True))
    return SearchWords(synonyms, expressions)


def service_matches(
    service: ServiceRecord, themes: list[str] | None, scheme_ids: list[str] | None, networks: list[str] | None
) -> bool:
    """True if the service matches any of the requested themes (prefix), schemes or networks."""
    return _service_matches(service, Filters(tuple(themes or ()), tuple(scheme_ids or ()), tuple(networks or ())))


class ServiceSearch:
    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb

    @cached_property
    def _nearest(self) -> NearestServices:
        """Spatial index and filter masks over the services, built at the first query."""
        return NearestServices(self.kb.services)

    def distances(self, lat: float, lon: float) -> np.ndarray:
        """Distance in km to every service (NaN without a position), in `kb.services` order."""
        return self._nearest.spatial.distances(lat, lon)

    def nearest(
        self,
        lat: float | None = None,
        lon: float | None = None,
        commune: Commune | None = None,
        themes: list[str] | None = None,
        scheme_ids: list[str] | None = None,
        networks: list[str] | None = None,
        limit: int = 5,
        max_km: float | None = None,
        respect_zone: bool = True,
        include_unlocated: bool = False,
    ) -> list[NearbyService]:
        """Services matching the filters, eligible for the commune's zone, nearest first (ties by
        name), then those without a position (only when `max_km` is None or `include_unlocated`)."""
        if lat is None and commune is not None:
            lat, lon = commune.latitude, commune.longitude
        filters = Filters(tuple(themes or ()), tuple(scheme_ids or ()), tuple(networks or ()))
        zone = commune if respect_zone else None
        index = self._nearest
        if lat is None or lon is None:
            found = index.nearest_scan(None, None, zone, filters, limit, max_km, include_unlocated)
        else:
            found = index.nearest(lat, lon, zone, filters, limit, max_km, include_unlocated)
        return [NearbyService(service, distance) for service, distance in found]

    # ------------------------------------------------------------------ text search
    @cached_property
    def _scheme_index(self) -> list[tuple[str, str]]:
        words = search_words()
        rows: list[tuple[str, str]] = []
        for scheme in self.kb.schemes.values():
            for label in [scheme.name, scheme.id.replace("-", " "), *scheme.aliases]:
                rows.append((scheme.id, words.join_expressions(fold(label))))
        return rows

    @cached_property
    def _service_index(self) -> list[tuple[str, str]]:
        words = search_words()
        return [
            (s.id, words.join_expressions(
                fold(f"{s.nom} {s.structure_nom} {s.commune or ''} {' '.join(s.reseaux_porteurs)}")))
            for s in self.kb.services
        ]  # fmt: skip

    @cached_property
    def _descriptions(self) -> list[str]:
        words = search_words()
        return [words.join_expressions(fold(s.description)) for s in self.kb.services]

    def _queries(self, text: str, synonyms: bool = True) -> list[str]:
        words = search_words()
        folded = fold(text)
        if not folded:
            return []
        return [words.join_expressions(v) for v in (words.variants(folded) if synonyms else [folded])]

    def search_schemes(
        self, text: str, limit: int = 5, min_score: float = 70, synonyms: bool = False
    ) -> list[tuple[Scheme, float]]:
        """Schemes named in `text`. `synonyms` also tries the query with each synonym (agents' search;
        off for the dialogue engine, which calls this at every message)."""
        queries = self._queries(text, synonyms)
        if not queries:
            return []
        labels = [label for _, label in self._scheme_index]
        best: dict[str, float] = {}
        for rank, query in enumerate(queries):
            matches = process.extract(
                query, labels, scorer=_scheme_scorer, limit=limit * 6, score_cutoff=min_score
            )
            for _label, score, idx in matches:
                sid = self._scheme_index[idx][0]
                score = score if rank == 0 else score - 1  # the words typed win ties over a synonym
                best[sid] = max(best.get(sid, 0), score)
        ranked = sorted(best.items(), key=lambda kv: -kv[1])[:limit]
        return [(self.kb.schemes[sid], score) for sid, score in ranked]

    def place_in_query(self, text: str) -> tuple[str, Commune | None]:
        """"surendettement Amiens" -> ("surendettement", Amiens): a commune named in the query."""
        found = self.kb.gazetteer.find_in_text(text)
        if not found:
            return text, None
        commune, span = found[0]
        rest = re.sub(rf"(?i)\b{re.escape(span)}\b", " ", text, count=1)
        rest = re.sub(r"(?i)\b(?:a|à|au|aux|sur|pres de|près de|vers|de|du)\s*$", " ", rest.strip())
        return " ".join(rest.split()), commune

    def directory_hits(self, queries: list[str], commune: Commune, limit: int) -> list[Hit]:
        """France Services / mairies asked for by name ("france services", "mairie") near the commune."""
        hits: list[Hit] = []
        for directory in directories().values():
            aliases = {fold(a) for a in directory.search_aliases}
            if not any(f" {a} " in f" {q} " for q in queries for a in aliases):
                continue
            if directory.reseau == "communes":
                records = [(r, None) for r in self.kb.places.in_commune(directory.source, commune.code_insee)]
            else:
                records = self.kb.places.nearest(directory.source, commune.latitude, commune.longitude, limit)
            for record, _d in records:
                distance = _record_distance(record, commune)
                hits.append(Hit("service", record.id, record.nom, 100.0, distance, record))
        return hits

    def door_hits(self, commune: Commune) -> list[Hit]:
        """The mairie of the commune and its nearest France Services, as a last resort."""
        hits = []
        for directory in directories().values():
            if directory.reseau == "communes":
                records = self.kb.places.in_commune(directory.source, commune.code_insee)
            else:
                records = [r for r, _d in self.kb.places.nearest(directory.source, commune.latitude,
                                                                  commune.longitude, 1)]  # fmt: skip
            for record in records:
                hits.append(Hit("service", record.id, record.nom, DOOR_SCORE, _record_distance(record, commune), record))
        return hits

    def search(
        self, text: str, commune: Commune | None = None, themes: list[str] | None = None, limit: int = 10
    ) -> list[Hit]:
        """Agents' lookup: schemes and services whose names, aliases or descriptions match.

        A commune named in the text counts as `commune` when none is given ("surendettement Amiens");
        synonyms and fixed expressions come from knowledge/content/search.yml."""
        if commune is None and text.strip():
            text, commune = self.place_in_query(text)
        query = fold(text)
        queries = self._queries(text)
        hits: list[Hit] = []
        for scheme, score in self.search_schemes(text, limit=limit, min_score=60, synonyms=True):
            if themes and not any(
                t.split("--")[0] in {x.split("--")[0] for x in scheme.themes} for t in themes
            ):
                continue
            hits.append(Hit("scheme", scheme.id, scheme.name, score))
        dist = self.distances(commune.latitude, commune.longitude) if commune else None
        if query:
            for index, (sid, label) in enumerate(self._service_index):
                service = self.kb.services[index]
                description = self._descriptions[index]
                score = max(
                    _service_score(q, label, description) - (0 if rank == 0 else 1) for rank, q in enumerate(queries)
                )
                if score < 62 or not service_matches(service, themes, None, None):
                    continue
                if (
                    commune is not None
                    and service.zone_eligibilite
                    and not zone_contains(service.zone_eligibilite, commune)
                ):
                    continue
                d = None if dist is None or np.isnan(dist[index]) else float(dist[index])
                hits.append(Hit("service", sid, service.nom, float(score), d))
        elif themes or commune:
            for near in self.nearest(commune=commune, themes=themes, limit=limit):
                hits.append(Hit("service", near.service.id, near.service.nom, 100.0, near.distance_km))
        if commune is not None and query:
            hits += self.directory_hits(queries, commune, limit=3)
            near = any(h.kind == "service" and h.distance_km is not None and h.distance_km <= DOOR_KM for h in hits)
            if not near:
                hits += self.door_hits(commune)
        unique: dict[tuple[str, str, str], Hit] = {}
        for hit in hits:  # first occurrence wins, order kept (ties keep schemes before services)
            unique.setdefault((hit.kind, hit.record.source if hit.record else "", hit.id), hit)
        hits = list(unique.values())
        hits.sort(key=lambda h: (-round(h.score / 5), h.distance_km is None, h.distance_km or 0.0))
        return hits[:limit]


def _record_distance(record: ServiceRecord, commune: Commune) -> float | None:
    from knowledge.gazetteer import haversine_km

    if record.latitude is None or record.longitude is None:
        return None
    return haversine_km(commune.latitude, commune.longitude, record.latitude, record.longitude)


def _service_score(query: str, label: str, description: str) -> float:
    """A short query ("avip") must match a word; a longer one may match fuzzily or in the description."""
    if len(query) < 6 and " " not in query:
        words = label.split() + description.split()
        best = max((fuzz.ratio(query, w) for w in words), default=0)
        return 100.0 if query in words else (best if best >= 85 else 0.0)
    score = max(fuzz.token_set_ratio(query, label), fuzz.partial_ratio(query, label) - 5)
    return max(score, fuzz.token_set_ratio(query, description) - 15)


def _scheme_scorer(query: str, label: str, **_kwargs: object) -> float:
    """Whole-word containment of an alias in the query scores high; otherwise fuzzy ratio."""
    if not label:
        return 0.0
    if f" {label} " in f" {query} ":
        return 100.0
    if len(label) >= 4 and len(query) >= 4:
        return max(
            fuzz.ratio(query, label),
            fuzz.token_set_ratio(query, label) * 0.95 if len(query.split()) > 1 else 0,
            # an alias written with a typo inside a longer query ("la cantinne a 1 euro svp")
            fuzz.partial_ratio(label, query) * 0.9 if 6 <= len(label) <= len(query) else 0,
        )
    return fuzz.ratio(query, label)

"""Search: nearest services to a place, and tolerant text search over schemes and services."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
from rapidfuzz import fuzz, process

from knowledge.places import zone_contains
from knowledge.textnorm import fold

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


def service_matches(
    service: ServiceRecord, themes: list[str] | None, scheme_ids: list[str] | None, networks: list[str] | None
) -> bool:
    """True if the service matches any of the requested themes (prefix), schemes or networks."""
    if not themes and not scheme_ids and not networks:
        return True
    if scheme_ids and any(s in service.schemes for s in scheme_ids):
        return True
    if networks and any(n in service.reseaux_porteurs for n in networks):
        return True
    if themes:
        for wanted in themes:
            for theme in service.thematiques:
                if theme == wanted or theme.startswith(wanted + "--") or wanted.startswith(theme + "--"):
                    return True
    return False


class ServiceSearch:
    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb

    @cached_property
    def _coords(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        services = self.kb.services
        lat = np.array([s.latitude if s.latitude is not None else np.nan for s in services], dtype=float)
        lon = np.array([s.longitude if s.longitude is not None else np.nan for s in services], dtype=float)
        return np.radians(lat), np.radians(lon), np.isnan(lat)

    def distances(self, lat: float, lon: float) -> np.ndarray:
        lat_r, lon_r, _missing = self._coords
        phi, lam = np.radians(lat), np.radians(lon)
        a = np.sin((lat_r - phi) / 2) ** 2 + np.cos(phi) * np.cos(lat_r) * np.sin((lon_r - lam) / 2) ** 2
        return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0, 1)))

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
    ) -> list[NearbyService]:
        """Services matching the filters, eligible for the commune's zone, nearest first."""
        if lat is None and commune is not None:
            lat, lon = commune.latitude, commune.longitude
        dist = self.distances(lat, lon) if lat is not None and lon is not None else None
        results: list[NearbyService] = []
        for index, service in enumerate(self.kb.services):
            if not service_matches(service, themes, scheme_ids, networks):
                continue
            if (
                respect_zone
                and commune is not None
                and service.zone_eligibilite
                and not zone_contains(service.zone_eligibilite, commune)
            ):
                continue
            d = None if dist is None or np.isnan(dist[index]) else float(dist[index])
            if max_km is not None and (d is None or d > max_km):
                continue
            results.append(NearbyService(service, d))
        results.sort(key=lambda r: (r.distance_km is None, r.distance_km or 0.0, r.service.nom))
        return results[:limit]

    # ------------------------------------------------------------------ text search
    @cached_property
    def _scheme_index(self) -> list[tuple[str, str]]:
        rows: list[tuple[str, str]] = []
        for scheme in self.kb.schemes.values():
            for label in [scheme.name, scheme.id.replace("-", " "), *scheme.aliases]:
                rows.append((scheme.id, fold(label)))
        return rows

    @cached_property
    def _service_index(self) -> list[tuple[str, str]]:
        return [
            (s.id, fold(f"{s.nom} {s.structure_nom} {s.commune or ''} {' '.join(s.reseaux_porteurs)}"))
            for s in self.kb.services
        ]

    def search_schemes(self, text: str, limit: int = 5, min_score: float = 70) -> list[tuple[Scheme, float]]:
        query = fold(text)
        if not query:
            return []
        labels = [label for _, label in self._scheme_index]
        matches = process.extract(
            query, labels, scorer=_scheme_scorer, limit=limit * 6, score_cutoff=min_score
        )
        best: dict[str, float] = {}
        for _label, score, idx in matches:
            sid = self._scheme_index[idx][0]
            best[sid] = max(best.get(sid, 0), score)
        ranked = sorted(best.items(), key=lambda kv: -kv[1])[:limit]
        return [(self.kb.schemes[sid], score) for sid, score in ranked]

    def search(
        self, text: str, commune: Commune | None = None, themes: list[str] | None = None, limit: int = 10
    ) -> list[Hit]:
        """Agents' lookup: schemes and services whose names, aliases or descriptions match."""
        query = fold(text)
        hits: list[Hit] = []
        for scheme, score in self.search_schemes(text, limit=limit, min_score=60):
            if themes and not any(
                t.split("--")[0] in {x.split("--")[0] for x in scheme.themes} for t in themes
            ):
                continue
            hits.append(Hit("scheme", scheme.id, scheme.name, score))
        dist = self.distances(commune.latitude, commune.longitude) if commune else None
        if query:
            for index, (sid, label) in enumerate(self._service_index):
                service = self.kb.services[index]
                score = _service_score(query, label, fold(service.description))
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
        hits.sort(key=lambda h: (-round(h.score / 5), h.distance_km is None, h.distance_km or 0.0))
        return hits[:limit]


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

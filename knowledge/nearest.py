"""The services nearest to a point that match filters (themes, schemes, networks, zone), without a
linear scan: a spatial index (knowledge/spatial.py) gives candidates nearest first, the filters are
numpy masks built once from inverted indices, and the zone of a commune is checked only on the
candidates that pass them.

`nearest` returns exactly what `nearest_scan` (the linear scan, kept as the reference and for a
query without a point) returns: located services by distance (ties by name), then, when allowed,
services without a position by name.
"""

from __future__ import annotations

from collections import OrderedDict, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from threading import Lock
from typing import TYPE_CHECKING

import numpy as np

from knowledge.places import zone_contains
from knowledge.spatial import SpatialIndex, haversine_many
from knowledge.zone_mask import ZoneMask

if TYPE_CHECKING:
    from knowledge.gazetteer import Commune
    from knowledge.kb import ServiceRecord

#: a filter keeping at most this many located services is served by a scan of those only (a tree
#: walk would visit most of the country to find them); above, the tree's candidates are filtered
SELECTIVE = 4096
#: candidates handed over at a time by that scan (the caller stops once it has enough)
SCAN_BATCH = 64
#: from this many services asked for within a radius, the whole disc is read in one tree query
BALL_LIMIT = 1000
#: filter masks kept (one boolean per service each)
MASK_CACHE = 64


@dataclass(frozen=True)
class Filters:
    themes: tuple[str, ...] = ()
    scheme_ids: tuple[str, ...] = ()
    networks: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.themes or self.scheme_ids or self.networks)


def theme_matches(theme: str, wanted: str) -> bool:
    """A theme meets a wanted one when equal, or when one is a sub-theme of the other."""
    return theme == wanted or theme.startswith(wanted + "--") or wanted.startswith(theme + "--")


def service_matches(service: ServiceRecord, filters: Filters) -> bool:
    """True if the service matches any of the requested themes, schemes or networks (or none is asked)."""
    if not filters:
        return True
    if any(s in service.schemes for s in filters.scheme_ids):
        return True
    if any(n in service.reseaux_porteurs for n in filters.networks):
        return True
    return any(theme_matches(t, w) for w in filters.themes for t in service.thematiques)


def sort_key(distance: float | None, name: str) -> tuple[bool, float, str]:
    """Located first, nearest first (distances equal to the nanometre are a tie), then by name."""
    return distance is None, round(distance, 9) if distance is not None else 0.0, name


class NearestServices:
    def __init__(self, services: Sequence[ServiceRecord]) -> None:
        self.services = services
        self.spatial = SpatialIndex(
            np.array([s.latitude if s.latitude is not None else np.nan for s in services], dtype=float),
            np.array([s.longitude if s.longitude is not None else np.nan for s in services], dtype=float),
        )
        by_theme: dict[str, list[int]] = defaultdict(list)
        by_scheme: dict[str, list[int]] = defaultdict(list)
        by_network: dict[str, list[int]] = defaultdict(list)
        for position, service in enumerate(services):
            for theme in set(service.thematiques):
                by_theme[theme].append(position)
            for scheme in set(service.schemes):
                by_scheme[scheme].append(position)
            for network in set(service.reseaux_porteurs):
                by_network[network].append(position)
        self._by_theme = {k: np.array(v, dtype=np.intp) for k, v in by_theme.items()}
        self._by_scheme = {k: np.array(v, dtype=np.intp) for k, v in by_scheme.items()}
        self._by_network = {k: np.array(v, dtype=np.intp) for k, v in by_network.items()}
        self._located = np.zeros(len(services), dtype=bool)
        self._located[self.spatial.located] = True
        self.zones = ZoneMask(services)
        self._masks: OrderedDict[Filters, np.ndarray] = OrderedDict()
        self._lock = Lock()
        self._unlocated_by_name = sorted(self.spatial.unlocated.tolist(), key=lambda i: services[i].nom)

    def mask(self, filters: Filters) -> np.ndarray | None:
        """Which services match the filters (None: no filter, all do)."""
        if not filters:
            return None
        with self._lock:
            cached = self._masks.get(filters)
            if cached is not None:
                self._masks.move_to_end(filters)
                return cached
        keep = np.zeros(len(self.services), dtype=bool)
        for scheme in filters.scheme_ids:
            keep[self._by_scheme.get(scheme, [])] = True
        for network in filters.networks:
            keep[self._by_network.get(network, [])] = True
        for wanted in filters.themes:
            for theme, positions in self._by_theme.items():
                if theme_matches(theme, wanted):
                    keep[positions] = True
        with self._lock:
            self._masks[filters] = keep
            if len(self._masks) > MASK_CACHE:
                self._masks.popitem(last=False)
        return keep

    def _in_zone(self, service: ServiceRecord, commune: Commune | None) -> bool:
        return commune is None or not service.zone_eligibilite or zone_contains(service.zone_eligibilite, commune)

    def _candidates(self, lat: float, lon: float, mask: np.ndarray | None, max_km: float | None, limit: int):  # type: ignore[no-untyped-def]
        """Batches of (positions, km) nearest first: the tree (growing batches, or the whole disc
        within `max_km` when most of it is wanted), or a scan of the few services a selective
        filter keeps."""
        if mask is not None and np.count_nonzero(mask & self._located) <= SELECTIVE:
            positions = np.flatnonzero(mask & self._located)
            km = haversine_many(self.spatial.lat_r[positions], self.spatial.lon_r[positions], lat, lon)
            if max_km is not None:
                keep = km <= max_km
                positions, km = positions[keep], km[keep]
            order = np.argsort(km, kind="stable")
            positions, km = positions[order], km[order]
            for start in range(0, positions.size, SCAN_BATCH):
                yield positions[start : start + SCAN_BATCH], km[start : start + SCAN_BATCH]
            return
        if max_km is not None and limit >= BALL_LIMIT:
            yield self.spatial.within(lat, lon, max_km)
            return
        yield from self.spatial.nearest_first(lat, lon, max_km)

    def nearest(
        self, lat: float, lon: float, commune: Commune | None, filters: Filters, limit: int,
        max_km: float | None = None, include_unlocated: bool = False,
    ) -> list[tuple[ServiceRecord, float | None]]:
        """The `limit` nearest matching services with their distance (None: no position, listed
        last, only when `max_km` is None or `include_unlocated`)."""
        if limit <= 0:
            return []
        mask = self.mask(filters)
        if commune is not None:  # the zone check, as a mask too
            zone = self.zones.for_commune(commune)
            mask = zone if mask is None else mask & zone
        found: list[tuple[float, str, int]] = []
        for positions, km in self._candidates(lat, lon, mask, max_km, limit):
            if mask is not None and km.size:
                keep = mask[positions]
                positions, km = positions[keep], km[keep]
            found += zip(km.tolist(), (self.services[p].nom for p in positions.tolist()), positions.tolist(), strict=True)
            if len(found) >= limit and km.size:
                found.sort(key=lambda f: sort_key(f[0], f[1]))
                if round(float(km[-1]), 9) > round(found[limit - 1][0], 9):
                    break  # every later candidate is farther than the last one kept
        found.sort(key=lambda f: sort_key(f[0], f[1]))
        out: list[tuple[ServiceRecord, float | None]] = [(self.services[p], d) for d, _n, p in found[:limit]]
        if len(out) < limit and (max_km is None or include_unlocated):
            for position in self._unlocated_by_name:
                if mask is None or mask[position]:
                    out.append((self.services[position], None))
                    if len(out) == limit:
                        break
        return out

    def nearest_scan(
        self, lat: float | None, lon: float | None, commune: Commune | None, filters: Filters, limit: int,
        max_km: float | None = None, include_unlocated: bool = False,
    ) -> list[tuple[ServiceRecord, float | None]]:
        """The same answer by a linear scan of every service (reference; a query without a point)."""
        dist = self.spatial.distances(lat, lon) if lat is not None and lon is not None else None
        results: list[tuple[ServiceRecord, float | None]] = []
        for position, service in enumerate(self.services):
            if not service_matches(service, filters) or not self._in_zone(service, commune):
                continue
            d = None if dist is None or np.isnan(dist[position]) else float(dist[position])
            if max_km is not None and (d is None or d > max_km) and not (d is None and include_unlocated):
                continue
            results.append((service, d))
        results.sort(key=lambda r: sort_key(r[1], r[0].nom))
        return results[:limit]

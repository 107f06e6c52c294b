"""The real places (France Services, mairies) at run time: a compact index, details on demand.

Loading 37,000 full records at every process start would cost time and memory for places of
which a turn shows two or three. The index keeps, per directory source, the ids and positions
(numpy arrays: the nearest France Services is one vectorised haversine over 2,845 points) and the
INSEE code -> places map (the mairie of a commune); a place's full record is read from the
database when it is shown, then kept in a small cache.
"""

from __future__ import annotations

from collections import OrderedDict, defaultdict
from dataclasses import dataclass
from threading import Lock
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import Engine, select

from knowledge.models import ServiceRow, StructureRow
from knowledge.placedata import PLACE_ORIGIN

if TYPE_CHECKING:
    from knowledge.kb import ServiceRecord

EARTH_RADIUS_KM = 6371.0
CACHE_SIZE = 4096


@dataclass
class _SourceIndex:
    ids: list[str]
    lat: np.ndarray  # radians, NaN when unknown
    lon: np.ndarray
    cos_lat: np.ndarray


class PlaceIndex:
    def __init__(self, engine: Engine | None, rows: list[tuple[str, str, str | None, float | None, float | None]]):
        self.engine = engine
        self._by_insee: dict[tuple[str, str], list[str]] = defaultdict(list)
        self._sources: dict[str, _SourceIndex] = {}
        self._cache: OrderedDict[tuple[str, str], ServiceRecord | None] = OrderedDict()
        self._lock = Lock()
        if rows:
            self._build(rows)

    def _build(self, rows: list[tuple[str, str, str | None, float | None, float | None]]) -> None:
        sources, ids, codes, lats, lons = zip(*rows, strict=True)
        for source, code, place_id in zip(sources, codes, ids, strict=True):
            if code:
                self._by_insee[(source, code)].append(place_id)
        source_array = np.array(sources, dtype=object)
        id_array = np.array(ids, dtype=object)
        lat_all = np.radians(np.array(lats, dtype=float))  # None -> NaN
        lon_all = np.radians(np.array(lons, dtype=float))
        for source in dict.fromkeys(sources):
            mask = source_array == source
            lat = lat_all[mask]
            self._sources[source] = _SourceIndex(id_array[mask].tolist(), lat, lon_all[mask], np.cos(lat))

    @classmethod
    def from_database(cls, engine: Engine) -> PlaceIndex:
        query = select(ServiceRow.source, ServiceRow.id, ServiceRow.code_insee, ServiceRow.latitude,
                       ServiceRow.longitude).where(ServiceRow.origin == PLACE_ORIGIN)  # fmt: skip
        with engine.connect() as connection:
            rows = connection.execute(query).all()
        return cls(engine, rows)  # type: ignore[arg-type]

    @classmethod
    def empty(cls) -> PlaceIndex:
        return cls(None, [])

    def count(self, source: str) -> int:
        index = self._sources.get(source)
        return len(index.ids) if index else 0

    def __len__(self) -> int:
        return sum(len(i.ids) for i in self._sources.values())

    def record(self, source: str, place_id: str) -> ServiceRecord | None:
        """The full record of a place (read from the database once, then cached)."""
        key = (source, place_id)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        found = self._fetch(source, place_id)
        with self._lock:
            self._cache[key] = found
            if len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return found

    def _fetch(self, source: str, place_id: str) -> ServiceRecord | None:
        """One query (service + its structure's name), no ORM session: this runs during a turn."""
        from knowledge.kb import record_from_row

        if self.engine is None:
            return None
        services, structures = ServiceRow.__table__, StructureRow.__table__
        query = (
            select(services, structures.c.nom.label("structure_nom"))
            .select_from(services.outerjoin(structures, (structures.c.source == services.c.source)
                                            & (structures.c.id == services.c.structure_id)))
            .where(services.c.source == source, services.c.id == place_id)
        )  # fmt: skip
        with self.engine.connect() as connection:
            row = connection.execute(query).first()
        if row is None:
            return None
        return record_from_row(row, {(source, row.structure_id): row.structure_nom or row.nom})  # type: ignore[arg-type]

    def in_commune(self, source: str, code_insee: str) -> list[ServiceRecord]:
        """The places of a directory in a commune (the mairie of 62510...)."""
        records = (self.record(source, pid) for pid in self._by_insee.get((source, code_insee), []))
        return [r for r in records if r is not None]

    def distances(self, source: str, lat: float, lon: float) -> np.ndarray:
        index = self._sources.get(source)
        if index is None:
            return np.empty(0)
        phi, lam = np.radians(lat), np.radians(lon)
        a = np.sin((index.lat - phi) / 2) ** 2 + np.cos(phi) * index.cos_lat * np.sin((index.lon - lam) / 2) ** 2
        return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0, 1)))

    def nearest(
        self, source: str, lat: float, lon: float, limit: int = 3, max_km: float | None = None
    ) -> list[tuple[ServiceRecord, float]]:
        """The `limit` nearest places of a directory, with their distance in km (nearest first)."""
        index = self._sources.get(source)
        if index is None or limit <= 0:
            return []
        dist = self.distances(source, lat, lon)
        dist = np.where(np.isnan(dist), np.inf, dist)
        count = min(limit, len(dist))
        candidates = np.argpartition(dist, count - 1)[:count] if count < len(dist) else np.arange(len(dist))
        out: list[tuple[ServiceRecord, float]] = []
        for i in sorted(candidates, key=lambda k: dist[k]):
            if not np.isfinite(dist[i]) or (max_km is not None and dist[i] > max_km):
                continue
            record = self.record(source, index.ids[i])
            if record is not None:
                out.append((record, float(dist[i])))
        return out

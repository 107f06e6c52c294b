"""The real places (France Services, mairies) at run time: a compact index, details on demand.

Loading 37,000 full records at every process start would cost time and memory for places of
which a turn shows two or three. The index keeps, per directory source, numpy arrays of ids, INSEE
codes (sorted lookup: the mairie of a commune) and positions (the nearest France Services is one
vectorised haversine over 2,845 points); a place's full record is read from the database when it
is shown, then kept in a small cache.

The arrays are also stored in the database (`kb_meta`, key `places-index`, a compressed .npz in
base64) when the places are imported, so a process start reads one row instead of scanning 37,000;
an import that changes places drops that row and the next start rebuilds it from the services table.
"""

from __future__ import annotations

import base64
import io
from collections import OrderedDict
from dataclasses import dataclass
from threading import Lock
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import Engine, select

from knowledge.db import session_scope
from knowledge.models import MetaRow, ServiceRow, StructureRow
from knowledge.placedata import INDEX_KEY, PLACE_ORIGIN

if TYPE_CHECKING:
    from knowledge.kb import ServiceRecord

EARTH_RADIUS_KM = 6371.0
CACHE_SIZE = 4096
Row = tuple[str, str, "str | None", "float | None", "float | None"]


@dataclass
class _SourceIndex:
    ids: np.ndarray  # str
    codes: np.ndarray  # str, sorted, with `by_code` the positions in `ids`
    by_code: np.ndarray
    lat: np.ndarray  # radians, NaN when unknown
    lon: np.ndarray
    cos_lat: np.ndarray


def _arrays(rows: list[Row]) -> dict[str, np.ndarray]:
    """Columns of (source, id, code_insee, latitude, longitude) rows as numpy arrays."""
    if not rows:
        return {k: np.array([], dtype=d) for k, d in (("source", str), ("id", str), ("code", str),
                                                        ("lat", float), ("lon", float))}  # fmt: skip
    sources, ids, codes, lats, lons = zip(*rows, strict=True)
    return {
        "source": np.array(sources, dtype=str), "id": np.array(ids, dtype=str),
        "code": np.array([c or "" for c in codes], dtype=str),
        "lat": np.array(lats, dtype=float), "lon": np.array(lons, dtype=float),  # None -> NaN
    }  # fmt: skip


def encode_index(rows: list[Row]) -> str:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **_arrays(rows))
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def decode_index(text: str) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(base64.b64decode(text)), allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def scan_rows(engine: Engine) -> list[Row]:
    query = select(ServiceRow.source, ServiceRow.id, ServiceRow.code_insee, ServiceRow.latitude,
                   ServiceRow.longitude).where(ServiceRow.origin == PLACE_ORIGIN)  # fmt: skip
    with engine.connect() as connection:
        return [tuple(r) for r in connection.execute(query).all()]  # type: ignore[misc]


def save_index(engine: Engine, rows: list[Row]) -> None:
    """Store the index row for the next process starts."""
    with session_scope(engine) as session:
        session.merge(MetaRow(key=INDEX_KEY, value=encode_index(rows)))


class PlaceIndex:
    def __init__(self, engine: Engine | None, columns: dict[str, np.ndarray] | list[Row]):
        self.engine = engine
        self._sources: dict[str, _SourceIndex] = {}
        self._cache: OrderedDict[tuple[str, str], ServiceRecord | None] = OrderedDict()
        self._lock = Lock()
        data = _arrays(columns) if isinstance(columns, list) else columns
        for source in np.unique(data["source"]):
            mask = data["source"] == source
            codes = data["code"][mask]
            order = np.argsort(codes, kind="stable")
            lat, lon = np.radians(data["lat"][mask]), np.radians(data["lon"][mask])
            self._sources[str(source)] = _SourceIndex(data["id"][mask], codes[order], order, lat, lon, np.cos(lat))

    @classmethod
    def from_database(cls, engine: Engine) -> PlaceIndex:
        """The stored index row, or a scan of the services table (then stored for the next start)."""
        with session_scope(engine) as session:
            stored = session.get(MetaRow, INDEX_KEY)
            text = stored.value if stored is not None else None
        if text is not None:
            return cls(engine, decode_index(text))
        rows = scan_rows(engine)
        if rows:
            save_index(engine, rows)
        return cls(engine, rows)

    @classmethod
    def empty(cls) -> PlaceIndex:
        return cls(None, [])

    def count(self, source: str) -> int:
        index = self._sources.get(source)
        return len(index.ids) if index else 0

    def __len__(self) -> int:
        return sum(len(i.ids) for i in self._sources.values())

    def sources(self) -> list[str]:
        return list(self._sources)

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
        index = self._sources.get(source)
        if index is None or not code_insee:
            return []
        first = int(np.searchsorted(index.codes, code_insee, side="left"))
        last = int(np.searchsorted(index.codes, code_insee, side="right"))
        records = (self.record(source, str(index.ids[index.by_code[i]])) for i in range(first, last))
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
            record = self.record(source, str(index.ids[i]))
            if record is not None:
                out.append((record, float(dist[i])))
        return out

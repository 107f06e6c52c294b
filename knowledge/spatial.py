"""Points on the Earth, nearest first: a k-d tree over unit vectors, distances in km (haversine).

The services of a knowledge base (215 edited ones, or 150,000 with the national data·inclusion
dataset imported) are kept in memory; a linear scan costs O(n) at every query (16.8 ms at 21,500).
`SpatialIndex` builds a `scipy.spatial.cKDTree` over the points' 3-D unit vectors once: the
straight-line (chord) distance between unit vectors grows with the great-circle distance, so the
tree's k nearest are the k nearest on the sphere, and the search bound of a radius in km is the
chord of that angle. Points without coordinates (NaN) are left out of the tree.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

EARTH_RADIUS_KM = 6371.0
#: two distances closer than this (km) are a tie: the caller breaks ties (by name)
TIE_KM = 1e-9


def haversine_many(lat_r: np.ndarray, lon_r: np.ndarray, lat: float, lon: float) -> np.ndarray:
    """Distances in km from (lat, lon) in degrees to points given in radians (NaN stays NaN)."""
    phi, lam = np.radians(lat), np.radians(lon)
    a = np.sin((lat_r - phi) / 2) ** 2 + np.cos(phi) * np.cos(lat_r) * np.sin((lon_r - lam) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


def unit_vectors(lat_r: np.ndarray, lon_r: np.ndarray) -> np.ndarray:
    cos_lat = np.cos(lat_r)
    return np.column_stack((cos_lat * np.cos(lon_r), cos_lat * np.sin(lon_r), np.sin(lat_r)))


def chord_of_km(km: float) -> float:
    """The straight-line distance between unit vectors `km` apart on the sphere."""
    return 2 * np.sin(min(km / EARTH_RADIUS_KM, np.pi) / 2)


class SpatialIndex:
    """Nearest-first iteration over points (degrees, NaN when unknown), by their position in the input."""

    def __init__(self, latitudes: np.ndarray, longitudes: np.ndarray) -> None:
        from scipy.spatial import cKDTree  # imported at the first index (~0.3 s), not at start-up

        self.lat_r = np.radians(np.asarray(latitudes, dtype=float))
        self.lon_r = np.radians(np.asarray(longitudes, dtype=float))
        located = ~(np.isnan(self.lat_r) | np.isnan(self.lon_r))
        #: positions (in the input) of the points with coordinates, in the tree's order
        self.located = np.flatnonzero(located)
        self.unlocated = np.flatnonzero(~located)
        self._tree = cKDTree(unit_vectors(self.lat_r[located], self.lon_r[located])) if self.located.size else None

    def __len__(self) -> int:
        return int(self.lat_r.size)

    def distances(self, lat: float, lon: float) -> np.ndarray:
        """Distance in km to every point (NaN without coordinates): the linear scan."""
        return haversine_many(self.lat_r, self.lon_r, lat, lon)

    def within(self, lat: float, lon: float, max_km: float) -> tuple[np.ndarray, np.ndarray]:
        """Every point within `max_km`: (positions, distances in km), nearest first, in one tree query."""
        if self._tree is None:
            return np.empty(0, dtype=np.intp), np.empty(0)
        query = unit_vectors(np.radians(np.array([lat])), np.radians(np.array([lon])))[0]
        found = np.asarray(self._tree.query_ball_point(query, chord_of_km(max_km) * (1 + 1e-9)), dtype=np.intp)
        positions = self.located[found]
        km = haversine_many(self.lat_r[positions], self.lon_r[positions], lat, lon)
        keep = km <= max_km
        positions, km = positions[keep], km[keep]
        order = np.argsort(km, kind="stable")
        return positions[order], km[order]

    def nearest_first(
        self, lat: float, lon: float, max_km: float | None = None, first_batch: int = 64
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Batches of (positions, distances in km), nearest first over all batches, each point once,
        within `max_km` when given. A caller stops iterating once it has what it needs: each batch
        asks the tree for 4 times more neighbours than the last."""
        if self._tree is None:
            return
        count = self.located.size
        bound = chord_of_km(max_km) * (1 + 1e-9) if max_km is not None else np.inf
        query = unit_vectors(np.radians(np.array([lat])), np.radians(np.array([lon])))[0]
        done, k = 0, min(count, max(1, first_batch))
        while done < count:
            chords, found = self._tree.query(query, k=k, distance_upper_bound=bound)
            chords, found = np.atleast_1d(chords), np.atleast_1d(found)
            inside = found < count  # past the bound the tree answers `count`
            found = found[inside][done:]
            positions = self.located[found]
            km = haversine_many(self.lat_r[positions], self.lon_r[positions], lat, lon)
            if max_km is not None:
                keep = km <= max_km
                positions, km = positions[keep], km[keep]
            order = np.argsort(km, kind="stable")
            yield positions[order], km[order]
            if not inside.all() or k == count:
                return
            done, k = k, min(count, k * 4)

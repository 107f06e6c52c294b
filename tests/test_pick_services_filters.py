"""The orientation's service pick (actions/common.py `pick_services`) asks the spatial index only
for the services that can score (schemes carried, the kind's networks, wanted themes, the schemes'
doors): its choice must be exactly the one made from every service within reach."""

from __future__ import annotations

import random
from typing import Any

import pytest

from actions import common
from knowledge.search import ServiceSearch


class Unfiltered(ServiceSearch):
    """The search as before: every service within reach, whatever filters are asked for."""

    def nearest(self, *args: Any, **kwargs: Any):  # type: ignore[no-untyped-def, override]
        for name in ("themes", "scheme_ids", "networks"):
            kwargs.pop(name, None)
        return super().nearest(*args, **kwargs)


def _picked(slots: dict[str, Any], schemes: list[str], need: str | None, kind: str | None) -> list[tuple[str, Any]]:
    pick = common.pick_services(slots, schemes, need, kind)
    return [(n.service.key, n.distance_km) for n in pick.nearby] + [("far", pick.far)]


def test_the_filtered_pick_is_the_pick_from_every_service(kb, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    common.set_kb(kb)
    catalogue = common.needs_catalogue()
    needs = [k for k, v in catalogue.items() if v.get("themes") or not v.get("networks")]
    kinds = [k for k, v in catalogue.items() if v.get("networks") and not v.get("themes")]
    schemes = sorted(kb.schemes)
    communes = [c for c in kb.gazetteer if not c.is_arrondissement and c.departement in {"62", "59", "75", "93", "80"}]
    rng = random.Random(11)
    cases = []
    for _ in range(120):
        commune = rng.choice(communes)
        slots: dict[str, Any] = {"commune": commune.code_insee, "age": rng.choice([None, 17, 25, 45, 70])}
        picked_schemes = rng.sample(schemes, rng.choice([0, 1, 2, 3]))
        need = rng.choice([None, *needs])
        kind = rng.choice([None, None, *kinds])
        cases.append((slots, picked_schemes, need, kind))
    # a scheme sends people to a kind of place (its doors) that a service of the commune belongs to
    for scheme_id, scheme in kb.schemes.items():
        doors = set(scheme.where_to_go) - common.GENERIC_DOORS
        for service in kb.services:
            if doors & set(service.reseaux_porteurs) and service.code_insee and service.latitude is not None:
                cases.append(({"commune": service.code_insee}, [scheme_id], None, None))
    assert len(cases) > 150
    filtered = [_picked(*case) for case in cases]
    unfiltered_search = Unfiltered(kb)
    monkeypatch.setattr(common, "search", lambda: unfiltered_search)
    reference = [_picked(*case) for case in cases]
    assert filtered == reference
    assert sum(1 for f in filtered if len(f) > 1) > 60  # most cases did pick services

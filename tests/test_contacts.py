"""Contact audiences: residents get resident-facing contacts only; agents see all (audit cases)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

import actions.common as common
from knowledge.contacts import contacts_for, scheme_contacts_for
from knowledge.schema import Service
from knowledge.search import NearbyService

#: (service, contact meant for professionals, the door residents get instead) — audit cases
PROFESSIONAL = [
    (
        "tincourt-boucly-groupe-scolaire-voie-verte",
        "vincent.morgant@stef.com",
        "mairie",
    ),  # mayor, private firm
    ("pont-a-vendin-departs-en-vacances", "maire@pontavendin.fr", "mairie de Pont-à-Vendin"),
    ("valenciennes-aller-vers-sante-des-femmes", "poncelet.edouard@gmail.com", "centre hospitalier"),
    ("amiens-ateliers-savoirs-de-base", "jice.iriartearraiola@gmail.com", "CCAS"),
    ("coeur-de-flandre-bus-1000-premiers-jours", "mathilde.behaegel@ca-coeurdeflandre.fr", "PMI"),
    ("hauts-de-france-en-voiture-nina-et-simones", "droits-des-femmes@hauts-de-france.gouv.fr", "3919"),
]
RESIDENT = [
    ("hersin-coupigny-creche-avip", "avip@ville-hersin-coupigny.fr"),
    ("chateau-thierry-mission-locale-aide-permis", "missionlocale@mlchth.com"),
]


def _service(kb: Any, service_id: str) -> Any:
    found = [s for s in kb.services if s.id == service_id]
    assert found, service_id
    return found[0]


@pytest.fixture
def kb_in_actions(kb, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(common, "_kb", kb)
    return kb


@pytest.mark.parametrize(("service_id", "contact", "door"), PROFESSIONAL)
def test_professional_contact_hidden_from_residents(
    kb_in_actions, service_id: str, contact: str, door: str
) -> None:  # type: ignore[no-untyped-def]
    service = _service(kb_in_actions, service_id)
    assert contact not in contacts_for(service, "residents").values()
    assert contact in contacts_for(service, "professionals").values()
    line = common.service_line(NearbyService(service, 3.0))
    assert contact not in line and door in line
    assert contact in common.service_line(NearbyService(service, 3.0), audience="professionals")
    assert all(link["url"] != contact for link in common.service_links([NearbyService(service, 3.0)]))


@pytest.mark.parametrize(("service_id", "contact"), RESIDENT)
def test_resident_contact_shown(kb_in_actions, service_id: str, contact: str) -> None:  # type: ignore[no-untyped-def]
    service = _service(kb_in_actions, service_id)
    assert contacts_for(service, "residents") == {"courriel": contact}
    assert contact in common.service_line(NearbyService(service, None))


def test_no_resident_ever_gets_a_professional_contact(kb) -> None:  # type: ignore[no-untyped-def]
    marked = 0
    for service in kb.services:
        pro = {getattr(service, k) for k, a in service.contact_audience.items() if a == "professionals"}
        marked += len(pro)
        assert not pro & set(contacts_for(service, "residents").values())
        assert set(contacts_for(service, "professionals").values()) >= pro
    assert marked >= 20


def test_sac_ados_network_address_is_for_professionals(kb) -> None:  # type: ignore[no-untyped-def]
    scheme = kb.scheme("sac-ados")
    assert not any("mpili@" in step for step in scheme.steps)
    assert scheme_contacts_for(scheme, "residents") == []
    assert [c.value for c in scheme_contacts_for(scheme, "professionals")] == [
        "mpili@vacances-ouvertes.asso.fr"
    ]


BASE: dict[str, Any] = {
    "id": "x-service", "structure_id": "x", "structure_nom": "X", "nom": "Service X", "description": "d",
    "date_maj": "2025-01-01", "thematiques": ["famille"], "zone_eligibilite": ["59"],
    "sources": [{"url": "https://example.org"}],
}  # fmt: skip


def test_schema_needs_a_door_when_no_contact_is_for_residents() -> None:
    with pytest.raises(ValidationError, match="no contact for residents"):
        Service.model_validate(
            {**BASE, "courriel": "a@b.fr", "contact_audience": {"courriel": "professionals"}}
        )
    ok = Service.model_validate(
        {
            **BASE,
            "courriel": "a@b.fr",
            "contact_audience": {"courriel": "professionals"},
            "no_contact_door": "la mairie",
        }
    )
    assert ok.contact_audience == {"courriel": "professionals"}
    with pytest.raises(ValidationError, match="does not have"):
        Service.model_validate(
            {**BASE, "courriel": "a@b.fr", "contact_audience": {"telephone": "professionals"}}
        )

"""Which contacts of a service (or a scheme) a person may be given, by audience.

Seed contacts are sometimes written for elected officials or project partners (a mayor's own
address, a project lead's personal address, a network's address for communes setting it up).
Residents get only resident-facing contacts; professionals (France Services agents, ambassadeurs)
get all, each with its audience.
"""

from __future__ import annotations

from typing import Protocol

from knowledge.schema import Audience, Contact, Scheme

CONTACT_KINDS = ("telephone", "courriel", "site_web")


class HasContacts(Protocol):
    telephone: str | None
    courriel: str | None
    site_web: str | None
    contact_audience: dict[str, str]


def contact_audience(service: HasContacts, kind: str) -> Audience:
    """The audience of one contact of a service (residents unless marked otherwise)."""
    return Audience(service.contact_audience.get(kind, Audience.residents))  # type: ignore[call-overload]


def contacts_for(service: HasContacts, audience: Audience | str = Audience.residents) -> dict[str, str]:
    """{kind: value} of the contacts this audience may be given, in the order phone, email, website."""
    audience = Audience(audience)
    out: dict[str, str] = {}
    for kind in CONTACT_KINDS:
        value = getattr(service, kind, None)
        if value and (audience is Audience.professionals or contact_audience(service, kind) is Audience.residents):
            out[kind] = value
    return out


def scheme_contacts_for(scheme: Scheme, audience: Audience | str = Audience.residents) -> list[Contact]:
    """The contacts a scheme names, for this audience (professionals see all)."""
    audience = Audience(audience)
    return [c for c in scheme.contacts if audience is Audience.professionals or c.audience is Audience.residents]

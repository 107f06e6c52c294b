"""Content validation: schema, references, verbatim sources and verbatim contacts.

`aiguillage kb validate` prints this report and exits non-zero on any problem.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from knowledge.content import CONTENT_DIR, Content, load_content, seeds_dir
from knowledge.schema import Source
from knowledge.textnorm import collapse_spaces
from knowledge.yamlio import load_yaml

_MARKDOWN_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")


def normalise_for_quote(text: str) -> str:
    """Whitespace, markdown emphasis/links and apostrophe styles do not count as differences."""
    text = _MARKDOWN_LINK.sub(r"\1", text)
    text = text.replace("**", "").replace("*", "").replace("’", "'").replace("\u00a0", " ")
    return collapse_spaces(text)


@lru_cache(maxsize=32)
def _seed_text(path: Path) -> str:
    return normalise_for_quote(path.read_text(encoding="utf-8"))


def _phone_digits(text: str) -> str:
    return re.sub(r"\D", "", text)


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")


def load_referentials(content_dir: Path = CONTENT_DIR) -> dict[str, set[str]]:
    data = load_yaml((content_dir / "referentiels.yml").read_text(encoding="utf-8"))
    return {key: set(values) for key, values in data.items()}


def check_source(where: str, source: Source, report: Report, seeds: Path) -> None:
    if not source.seed:
        return
    path = seeds / source.seed
    if not path.exists():
        report.add(where, f"fichier source introuvable : {source.seed}")
        return
    if normalise_for_quote(source.quote or "") not in _seed_text(path):
        report.add(where, f"citation absente de {source.seed} : « {(source.quote or '')[:80]}… »")


def contact_in_sources(contact: str, sources: list[Source], kind: str) -> bool:
    """A contact is verbatim in a quote of its sources (a phone may differ only in spacing/dots)."""
    for source in sources:
        if source.url and kind == "site_web" and contact.rstrip("/") in source.url:
            return True
        if not source.quote:
            continue
        quote = normalise_for_quote(source.quote)
        if contact in quote:
            return True
        if kind == "telephone" and _phone_digits(contact) and _phone_digits(contact) in _phone_digits(quote):
            return True
    return False


def validate(content: Content | None = None, seeds: Path | None = None, check_places: bool = True) -> Report:
    content = content or load_content()
    seeds = seeds or seeds_dir()
    report = Report()
    for err in content.errors:
        report.add(err.file, err.message)
    if not seeds.exists():
        report.add("sources", f"dossier des sources introuvable : {seeds} (AIGUILLAGE_SEEDS_DIR)")
    refs = load_referentials()
    themes, networks = refs["thematiques"], refs["reseaux_porteurs"]
    doors = networks | refs.get("doors_extra", set())
    public_rules = load_yaml((CONTENT_DIR / "publics.yml").read_text(encoding="utf-8"))["publics"]
    publics = set(public_rules)
    needs = load_yaml((CONTENT_DIR / "needs.yml").read_text(encoding="utf-8"))["needs"]
    need_ids = {n["id"] for n in needs}
    for name, rule in public_rules.items():
        for need in [*(rule.get("unknown_fits_with") or []), *(rule.get("needs_read") or [])]:
            if need not in need_ids:
                report.add("publics.yml", f"{name} : besoin inconnu dans unknown_fits_with / needs_read : {need}")

    scheme_ids = Counter(s.id for s in content.schemes)
    service_ids = Counter(s.id for s in content.services)
    for ident, n in (scheme_ids + service_ids).items():
        if n > 1:
            report.add(ident, f"identifiant en double ({n} fois)")

    def check_refs(where: str, values: list[str], allowed: Any, label: str) -> None:
        for value in values:
            if value not in allowed:
                report.add(where, f"{label} inconnu(e) : {value}")

    for scheme in content.schemes:
        where = f"dispositif {scheme.id}"
        check_refs(where, scheme.themes, themes, "thématique")
        check_refs(where, scheme.where_to_go, doors, "where_to_go")
        check_refs(where, scheme.services, service_ids, "service")
        check_refs(where, scheme.publics, publics, "public (publics.yml)")
        for source in scheme.sources:
            check_source(where, source, report, seeds)

    for service in content.services:
        where = f"service {service.id}"
        check_refs(where, service.thematiques, themes, "thématique")
        check_refs(where, service.reseaux_porteurs, networks, "réseau porteur")
        check_refs(where, service.schemes, scheme_ids, "dispositif")
        for source in service.sources:
            check_source(where, source, report, seeds)
        for kind in ("telephone", "courriel", "site_web"):
            value = getattr(service, kind)
            if value and not contact_in_sources(value, service.sources, kind):
                report.add(where, f"{kind} « {value} » n'apparaît mot pour mot dans aucune de ses sources")

    for need in needs:
        doors_of_audience = need.get("audience_doors") or []
        check_refs(f"besoin {need['id']}", doors_of_audience, set(need.get("schemes") or []),
                   "audience_doors hors de ses schemes")
    _check_audiences(content, report)

    for number in content.emergency:
        for source in number.sources:
            check_source(f"urgence {number.number}", source, report, seeds)

    directory_count = _check_directories(report, themes, networks)

    if check_places:
        _check_places(content, report)

    report.counts = {
        "dispositifs": len(content.schemes),
        "services": len(content.services),
        "numéros d'urgence": len(content.emergency),
        "questions": len(content.questions),
        "annuaires de lieux": directory_count,
    }
    return report


def _check_audiences(content: Content, report: Report) -> None:
    """A scheme's contacts are in its sources; text shown to residents holds no professionals' contact."""
    professional: set[str] = set()
    for service in content.services:
        professional |= {getattr(service, kind) for kind, aud in service.contact_audience.items() if aud == "professionals"}
    for scheme in content.schemes:
        for contact in scheme.contacts:
            if not contact_in_sources(contact.value, scheme.sources, contact.kind):
                report.add(f"dispositif {scheme.id}", f"contact « {contact.value} » absent de ses sources")
            if contact.audience == "professionals":
                professional.add(contact.value)
    for scheme in content.schemes:
        shown = " ".join([scheme.summary, scheme.description, *scheme.steps, *scheme.conditions_text,
                          scheme.amount or "", scheme.status_note or ""])  # fmt: skip
        for value in professional:
            if value in shown:
                report.add(f"dispositif {scheme.id}", f"contact pour les professionnels dans le texte : {value}")
    for service in content.services:
        shown = " ".join([service.nom, service.description, service.no_contact_door or "", service.conditions_acces or ""])
        for value in professional:
            if value in shown:
                report.add(f"service {service.id}", f"contact pour les professionnels dans le texte : {value}")


def _check_directories(report: Report, themes: set[str], networks: set[str]) -> int:
    """knowledge/content/places.yml: readable, its files shipped, its codes in the reference lists."""
    from pydantic import ValidationError

    from knowledge.placedata import directories

    directories.cache_clear()
    try:
        found = directories()
    except (ValidationError, KeyError, TypeError) as exc:
        report.add("places.yml", f"annuaires illisibles : {exc}")
        return 0
    for directory in found.values():
        where = f"annuaire {directory.id}"
        if not directory.shipped_file.exists():
            report.add(where, f"fichier absent : {directory.shipped_file}")
        if directory.reseau not in networks:
            report.add(where, f"réseau porteur inconnu : {directory.reseau}")
        for theme in directory.thematiques:
            if theme not in themes:
                report.add(where, f"thématique inconnue : {theme}")
    return len(found)


def _check_places(content: Content, report: Report) -> None:
    """Communes and zone codes resolve in the gazetteer (skipped if it is not built yet)."""
    try:
        from knowledge.gazetteer import Gazetteer

        gazetteer = Gazetteer.load()
    except (ImportError, FileNotFoundError):
        report.add("gazetteer", "référentiel des communes absent (scripts/build_gazetteer.py)")
        return
    from knowledge.places import resolve_service_commune, valid_zone_code

    for service in content.services:
        where = f"service {service.id}"
        if (service.commune or service.code_insee or service.code_postal) and not resolve_service_commune(
            service, gazetteer
        ):
            report.add(where, f"commune introuvable : {service.commune} {service.code_postal or ''}")
        for code in service.zone_eligibilite:
            if not valid_zone_code(code, gazetteer):
                report.add(where, f"code de zone inconnu : {code}")
    for scheme in content.schemes:
        zone = scheme.conditions.zone
        if not zone:
            continue
        for code in zone.communes + zone.departements + zone.regions + zone.epcis:
            if not valid_zone_code(code, gazetteer):
                report.add(f"dispositif {scheme.id}", f"code de zone inconnu : {code}")

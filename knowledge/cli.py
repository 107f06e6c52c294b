"""`aiguillage kb ...`: the agents' lookup aid (validate, search, show, eligibility, import/export)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path
from typing import Any

from knowledge.eligibility import EligibilityEngine, Status
from knowledge.facts import FactError, normalize_facts
from knowledge.hours import today_text
from knowledge.kb import KnowledgeBase, ServiceRecord
from knowledge.placedata import directories, source_to_confirm
from knowledge.schema import Scheme
from knowledge.search import ServiceSearch

STATUS_LABELS = {
    Status.eligible: "vous pourriez y avoir droit",
    Status.not_eligible: "a priori pas pour vous",
    Status.to_check: "à vérifier",
}


def add_kb_commands(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    kb = subparsers.add_parser("kb", help="base de connaissances : valider, chercher, afficher, éligibilité")
    kb_sub = kb.add_subparsers(dest="kb_command", required=True)

    p = kb_sub.add_parser("validate", help="vérifie schéma, références, citations et contacts mot pour mot")
    p.add_argument("--json", action="store_true", help="rapport en JSON")
    p.set_defaults(func=cmd_validate)

    p = kb_sub.add_parser("search", help="recherche tolérante dans les dispositifs et services")
    p.add_argument("text", nargs="*", help="texte libre (fautes et absence d'accents tolérées)")
    p.add_argument("--commune", help="nom, code postal ou code INSEE : services les plus proches d'abord")
    p.add_argument("--theme", action="append", help="thématique data·inclusion (ex. famille--garde-denfants)")
    p.add_argument("--limit", type=int, default=10)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_search)

    p = kb_sub.add_parser("show", help="affiche un dispositif ou un service par son identifiant")
    p.add_argument("id")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_show)

    p = kb_sub.add_parser("eligibility", help="statut de chaque dispositif pour des faits donnés")
    p.add_argument("--facts", required=True, help="fichier JSON de faits (ou - pour l'entrée standard)")
    p.add_argument("--scheme", action="append", help="limiter à ce(s) dispositif(s)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_eligibility)

    p = kb_sub.add_parser("export", help="exporte structures et services (data·inclusion v1)")
    p.add_argument("--format", choices=["data-inclusion"], default="data-inclusion")
    p.add_argument("--output", "-o", help="fichier de sortie (défaut : sortie standard)")
    p.set_defaults(func=cmd_export)

    p = kb_sub.add_parser("import", help="importe un fichier JSON data·inclusion v1 (mise à jour par id) ; "
                          ".jsonl : un service par ligne, lu au fil de l'eau")
    p.add_argument("file")
    p.set_defaults(func=cmd_import)

    p = kb_sub.add_parser(
        "import-places",
        help="importe (remplace) un annuaire de lieux : France Services, mairies (knowledge/content/places.yml)",
    )
    p.add_argument("directory", choices=sorted(directories()), help="annuaire à importer")
    p.add_argument("file", nargs="?", help="fichier CSV (ou .csv.gz) ; défaut : celui livré dans knowledge/data/places/")
    p.add_argument("--date", help="date des données du fichier (AAAA-MM-JJ), obligatoire pour un autre fichier que celui livré")
    p.add_argument("--dry-run", action="store_true", help="lit et vérifie le fichier sans rien écrire")
    p.set_defaults(func=cmd_import_places)

    p = kb_sub.add_parser(
        "synth-places",
        help="écrit N services SYNTHÉTIQUES (mesures de charge) dans une base de mesure, jamais celle de l'assistant",
    )
    p.add_argument("count", type=int, help="nombre de services fictifs (ex. 150000)")
    p.add_argument("--db", required=True, help="URL de la base de mesure (refusée si c'est celle de l'assistant)")
    p.set_defaults(func=cmd_synth_places)

    p = kb_sub.add_parser("load", help="(re)charge le contenu YAML dans la base de données")
    p.add_argument("--force", action="store_true")
    p.set_defaults(func=cmd_load)


def _kb() -> KnowledgeBase:
    return KnowledgeBase.load()


def _print_json(data: Any) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


def cmd_validate(args: argparse.Namespace) -> int:
    from knowledge.validate import validate

    started = time.perf_counter()
    report = validate()
    elapsed = time.perf_counter() - started
    if args.json:
        _print_json({"ok": report.ok, "problems": report.problems, "counts": report.counts})
    else:
        for key, value in report.counts.items():
            print(f"{key:>20} : {value}")
        if report.ok:
            print(f"Contenu valide ({elapsed:.1f} s) : sources citées mot pour mot, contacts vérifiés.")
        else:
            print(f"\n{len(report.problems)} problème(s) :", file=sys.stderr)
            for problem in report.problems:
                print(f"  - {problem}", file=sys.stderr)
    return 0 if report.ok else 1


def contact_lines(service: ServiceRecord) -> list[str]:
    """Every contact (the CLI is an agent's tool), those meant for professionals marked as such."""
    from knowledge.contacts import contact_audience

    labels = {"telephone": "Tél. :", "courriel": "Courriel :", "site_web": "Site :"}
    lines = []
    for kind, label in labels.items():
        value = getattr(service, kind)
        if value:
            pro = contact_audience(service, kind) == "professionals"
            lines.append(f"{label} {value}" + (" (pour les professionnels, pas pour les habitants)" if pro else ""))
    if not lines:
        lines.append(
            f"Pas de contact direct connu : passez par {service.no_contact_door or 'la mairie ou le CCAS'}."
        )
    return lines


def service_json(service: ServiceRecord, distance_km: float | None = None) -> dict[str, Any]:
    data = {
        "id": service.id, "source": service.source, "nom": service.nom, "structure": service.structure_nom,
        "description": service.description, "commune": service.commune, "code_insee": service.code_insee,
        "code_postal": service.code_postal, "adresse": service.adresse, "latitude": service.latitude,
        "longitude": service.longitude, "coord_precision": service.coord_precision,
        "telephone": service.telephone, "courriel": service.courriel, "site_web": service.site_web,
        "no_contact_door": service.no_contact_door, "contact_audience": service.contact_audience,
        "thematiques": service.thematiques,
        "reseaux_porteurs": service.reseaux_porteurs, "zone_eligibilite": service.zone_eligibilite,
        "schemes": service.schemes, "sources": service.sources, "date_maj": service.date_maj,
        "complement_adresse": service.complement_adresse, "horaires_accueil": service.horaires_accueil,
        "aujourd_hui": today_text(service.horaires_accueil), "origin": service.origin,
    }  # fmt: skip
    if distance_km is not None:
        data["distance_km"] = round(distance_km, 1)
    return data


def cmd_search(args: argparse.Namespace) -> int:
    kb = _kb()
    text = " ".join(args.text).strip()
    commune = None
    if args.commune:
        commune = kb.gazetteer.resolve(args.commune)
        if commune is None:
            print(
                f"Commune introuvable : {args.commune!r} (nom, code postal ou code INSEE).", file=sys.stderr
            )
            return 2
    if not text and not args.theme and commune is None:
        print("Donnez un texte, --commune ou --theme.", file=sys.stderr)
        return 2
    search = ServiceSearch(kb)
    started = time.perf_counter()
    query, named = text, False
    if commune is None:  # "surendettement Amiens": the commune named in the text
        text, commune = search.place_in_query(text)
        named = commune is not None
    hits = search.search(text, commune=commune, themes=args.theme, limit=args.limit)
    elapsed_ms = (time.perf_counter() - started) * 1000
    if args.json:
        out = []
        for hit in hits:
            item: dict[str, Any] = {
                "kind": hit.kind,
                "id": hit.id,
                "title": hit.title,
                "score": round(hit.score, 1),
            }
            if hit.distance_km is not None:
                item["distance_km"] = round(hit.distance_km, 1)
            if hit.kind == "service":
                item["service"] = service_json(hit.record or kb.services_by_id[hit.id], hit.distance_km)
            out.append(item)
        _print_json({"query": query, "commune": commune.code_insee if commune else None,
                     "commune_named_in_query": named, "results": out})  # fmt: skip
        return 0
    if not hits:
        print("Aucun résultat. Essayez d'autres mots, ou demandez à la France Services la plus proche.")
        return 0
    where = f" près de {commune.nom} ({commune.departement})" if commune else ""
    print(f"{len(hits)} résultat(s){where} en {elapsed_ms:.0f} ms :")
    for hit in hits:
        if hit.kind == "scheme":
            scheme = kb.schemes[hit.id]
            print(f"\n[dispositif] {scheme.name}  ({scheme.id})\n  {scheme.summary}")
        else:
            service = hit.record or kb.services_by_id[hit.id]
            dist = f" — {hit.distance_km:.0f} km" if hit.distance_km is not None else ""
            where = ", ".join(p for p in (service.adresse, " ".join(filter(None, (service.code_postal, service.commune))))
                              if p)  # fmt: skip
            print(f"\n[service] {service.nom}  ({service.id})\n  {where}{dist}")
            for line in contact_lines(service):
                print(f"  {line}")
            hours = today_text(service.horaires_accueil)
            if hours:
                print(f"  {hours[0].upper()}{hours[1:]} ({service.horaires_accueil})")
            if service.origin == "annuaire" and service.date_maj:
                stale = " (anciennes : à confirmer)" if source_to_confirm(service.source) else ""
                print(f"  Données : {service.source}, {service.date_maj}{stale}")
    return 0


def scheme_text(scheme: Scheme, kb: KnowledgeBase) -> str:
    lines = [f"{scheme.name}  ({scheme.id})", "", scheme.summary, "", scheme.description]
    if scheme.amount:
        lines += ["", f"Montant : {scheme.amount}"]
    if scheme.conditions_text:
        lines += ["", "À vérifier :"] + [f"  - {c}" for c in scheme.conditions_text]
    lines += ["", "Démarches :"] + [f"  {i}. {s}" for i, s in enumerate(scheme.steps, 1)]
    services = kb.services_for_scheme(scheme.id)
    if services:
        lines += ["", "Services :"] + [
            f"  - {s.nom} ({s.commune or ''}) : {'; '.join(contact_lines(s))}" for s in services
        ]
    if scheme.status_note:
        lines += ["", f"Attention : {scheme.status_note}"]
    lines += ["", "Sources :"]
    for source in scheme.sources:
        lines.append(f"  - {source.url}" if source.url else f"  - {source.seed} : « {source.quote} »")
    lines.append(f"Vérifié le {scheme.verified.isoformat()}")
    return "\n".join(lines)


def cmd_show(args: argparse.Namespace) -> int:
    kb = _kb()
    scheme = kb.scheme(args.id)
    if scheme is not None:
        if args.json:
            data = scheme.model_dump(mode="json")
            data["kind"] = "scheme"
            _print_json(data)
        else:
            print(scheme_text(scheme, kb))
        return 0
    service = kb.services_by_id.get(args.id) or next(
        (r for d in directories().values() if (r := kb.places.record(d.source, args.id)) is not None), None
    )
    if service is not None:
        if args.json:
            _print_json({"kind": "service", **service_json(service)})
        else:
            print(f"{service.nom}  ({service.id})\n{service.structure_nom}\n\n{service.description}\n")
            print(f"Commune : {service.commune or '-'}  Zone : {', '.join(service.zone_eligibilite)}")
            print("\n".join(contact_lines(service)))
            for source in service.sources:
                print(f"Source : {source.get('url') or source.get('seed')}")
        return 0
    suggestions = ServiceSearch(kb).search(args.id.replace("-", " "), limit=3)
    hint = ", ".join(h.id for h in suggestions)
    print(
        f"Identifiant inconnu : {args.id}." + (f" Vouliez-vous dire : {hint} ?" if hint else ""),
        file=sys.stderr,
    )
    return 1


def cmd_eligibility(args: argparse.Namespace) -> int:
    try:
        raw_text = sys.stdin.read() if args.facts == "-" else Path(args.facts).read_text(encoding="utf-8")
        raw = json.loads(raw_text)
    except FileNotFoundError:
        print(f"Fichier de faits introuvable : {args.facts}", file=sys.stderr)
        return 2
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        print(f"JSON invalide dans {args.facts} : {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a folder, no permission...
        print(f"Fichier de faits illisible : {args.facts} ({exc.strerror or exc})", file=sys.stderr)
        return 2
    kb = _kb()
    try:
        normalized = normalize_facts(raw, kb.gazetteer)
    except FactError as exc:
        print(f"Fait invalide : {exc}", file=sys.stderr)
        return 2
    for warning in normalized.warnings:
        print(f"Attention : {warning}", file=sys.stderr)
    schemes = list(kb.schemes.values())
    if args.scheme:
        unknown = [s for s in args.scheme if s not in kb.schemes]
        if unknown:
            print(f"Dispositif(s) inconnu(s) : {', '.join(unknown)}", file=sys.stderr)
            return 2
        schemes = [kb.schemes[s] for s in args.scheme]
    from knowledge.benefits.engines import LocalEngine

    # OpenFisca loads (about 10 s) only if a scheme it computes has all its facts
    results = EligibilityEngine(kb.gazetteer, benefits=LocalEngine()).evaluate_all(schemes, normalized.facts)
    if args.json:
        _print_json([r.to_json() for r in results])
        return 0
    order = {Status.eligible: 0, Status.to_check: 1, Status.not_eligible: 2}
    for result in sorted(results, key=lambda r: order[r.status]):
        scheme = kb.schemes[result.scheme_id]
        print(f"\n{scheme.name} — {STATUS_LABELS[result.status]}")
        for reason in result.reasons:
            print(f"  • {reason}")
        if result.amount_text:
            print(f"  montant estimé : {result.amount_text}")
        if result.missing:
            print(f"  manque : {', '.join(result.missing)}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from knowledge.datainclusion import export_data_inclusion
    from knowledge.db import make_engine, upgrade
    from knowledge.kb import sync_content

    engine = make_engine()
    upgrade(engine)
    sync_content(engine)
    data = export_data_inclusion(engine)
    text = json.dumps(data, ensure_ascii=False, indent=2)
    if args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
        print(
            f"{len(data['structures'])} structures, {len(data['services'])} services -> {args.output}",
            file=sys.stderr,
        )
    else:
        sys.stdout.write(text + "\n")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from knowledge.datainclusion import import_data_inclusion, iter_json_lines, read_data_inclusion_file
    from knowledge.db import make_engine, upgrade

    path = Path(args.file)
    try:
        if path.name.endswith((".jsonl", ".jsonl.gz", ".ndjson")):  # one service per line, read as it goes
            structures, services = [], iter_json_lines(path)
        else:
            structures, services = read_data_inclusion_file(path)
        engine = make_engine()
        upgrade(engine)
        report = import_data_inclusion(engine, structures, services, progress=sys.stderr.isatty())
    except ValueError as exc:
        print(f"Import impossible : {exc}", file=sys.stderr)
        return 2
    print(f"{report.structures} structures et {report.services} services importés.")
    for error in report.errors[:50]:
        print(f"  - {error}", file=sys.stderr)
    return 0 if not report.errors else 1


def cmd_import_places(args: argparse.Namespace) -> int:
    from knowledge.db import make_engine, upgrade
    from knowledge.placedata import PlaceFileError, file_digest, import_places, parse_places

    directory = directories()[args.directory]
    path = Path(args.file) if args.file else directory.shipped_file
    if args.date:
        try:
            directory = directory.model_copy(update={"date_maj": dt.date.fromisoformat(args.date)})
        except ValueError:
            print(f"Date invalide : {args.date!r} (attendu AAAA-MM-JJ).", file=sys.stderr)
            return 2
    elif args.file and path.resolve() != directory.shipped_file.resolve():
        print("Donnez la date des données de ce fichier : --date AAAA-MM-JJ (elle est montrée aux personnes).",
              file=sys.stderr)
        return 2
    progress = sys.stderr.isatty()
    started = time.perf_counter()
    try:
        if args.dry_run:
            _items, report = parse_places(path, directory, progress=progress)
        else:
            engine = make_engine()
            upgrade(engine)
            report = import_places(engine, directory, path, progress=progress)
    except PlaceFileError as exc:
        print(f"Import impossible : {exc}", file=sys.stderr)
        return 2
    elapsed = time.perf_counter() - started
    verb = "lus (rien écrit)" if args.dry_run else "importés"
    print(f"{directory.label} : {report.imported} lieux {verb} sur {report.rows} lignes en {elapsed:.1f} s "
          f"({report.skipped} sans aucun contact, {len(report.errors)} ligne(s) en erreur).")  # fmt: skip
    print("Renseignés : " + ", ".join(f"{k} {v}" for k, v in report.counts.items()))
    if not args.dry_run:
        print(f"Fichier : {path.name} (sha256 {file_digest(path)[:12]}…), données du {directory.date_maj.isoformat()}.")
    for problem in [*report.errors, *report.warnings][:30]:
        print(f"  - {problem}", file=sys.stderr)
    return 0 if not report.errors else 1


def cmd_synth_places(args: argparse.Namespace) -> int:
    from knowledge.synthetic import SyntheticTargetError, import_synthetic

    if args.count <= 0:
        print("Le nombre de services doit être positif.", file=sys.stderr)
        return 2
    started = time.perf_counter()
    try:
        written = import_synthetic(args.db, args.count, progress=sys.stderr.isatty())
    except SyntheticTargetError as exc:
        print(f"Import impossible : {exc}", file=sys.stderr)
        return 2
    print(f"{written} services SYNTHÉTIQUES écrits dans {args.db} en {time.perf_counter() - started:.1f} s "
          "(base de mesure uniquement).")
    return 0


def cmd_load(args: argparse.Namespace) -> int:
    from knowledge.db import make_engine, upgrade
    from knowledge.kb import sync_content

    engine = make_engine()
    upgrade(engine)
    wrote = sync_content(engine, force=args.force)
    print("Contenu chargé dans la base." if wrote else "La base est déjà à jour.")
    return 0

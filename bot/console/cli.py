"""`aiguillage pro add-structure` and `aiguillage pro add-agent` (accounts of the console /pro)."""

from __future__ import annotations

import argparse
import getpass
import sys

from bot.console.accounts import AccountError, add_agent, add_structure, find_structure
from bot.console.models import Role


def add_pro_commands(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    pro = subparsers.add_parser("pro", help="console des agents (/pro) : structures et comptes")
    sub = pro.add_subparsers(dest="pro_command", required=True)
    p = sub.add_parser("add-structure", help="crée une structure (France Services, CCAS…)")
    p.add_argument("name", help="nom de la structure")
    p.add_argument("--commune", default=None, help="commune de la structure (nom ou code postal)")
    p.set_defaults(func=cmd_add_structure)
    p = sub.add_parser(
        "add-agent", help="crée un compte d'agent (mot de passe demandé, ou lu sur l'entrée standard)"
    )
    p.add_argument("--email", required=True)
    p.add_argument("--structure", required=True, help="nom ou numéro de la structure")
    p.add_argument("--role", choices=[r.value for r in Role], default=Role.agent.value)
    p.set_defaults(func=cmd_add_agent)


def _db():  # type: ignore[no-untyped-def]
    from knowledge.db import make_engine, upgrade

    engine = make_engine()
    upgrade(engine)
    return engine


def cmd_add_structure(args: argparse.Namespace) -> int:
    commune = None
    if args.commune:
        from knowledge.gazetteer import Gazetteer

        found = Gazetteer.load().resolve(args.commune)
        if found is None:
            print(f"Commune introuvable : {args.commune}", file=sys.stderr)
            return 2
        commune = found.code_insee
    try:
        structure_id = add_structure(_db(), args.name, commune)
    except AccountError as error:
        print(error, file=sys.stderr)
        return 2
    print(f"Structure n° {structure_id} créée : {args.name}")
    return 0


def read_password(stream=None) -> str:  # type: ignore[no-untyped-def]
    """The password typed twice on a terminal, else the first line of the standard input."""
    stream = stream or sys.stdin
    if not stream.isatty():
        return stream.readline().rstrip("\r\n")
    first = getpass.getpass("Mot de passe : ")
    if getpass.getpass("Mot de passe (encore) : ") != first:
        raise AccountError("Les deux mots de passe diffèrent.")
    return first


def cmd_add_agent(args: argparse.Namespace) -> int:
    db = _db()
    structure_id = find_structure(db, args.structure)
    if structure_id is None:
        print(f"Structure inconnue : {args.structure} (aiguillage pro add-structure)", file=sys.stderr)
        return 2
    try:
        agent_id = add_agent(db, args.email, read_password(), structure_id, args.role)
    except AccountError as error:
        print(error, file=sys.stderr)
        return 2
    print(f"Compte n° {agent_id} créé : {args.email.strip().lower()} ({args.role})")
    return 0

"""The `aiguillage` command: chat, serve, telegram, kb, nlu, db, purge, bench."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from knowledge.cli import add_kb_commands


def _add_nlu_commands(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    nlu = subparsers.add_parser("nlu", help="compréhension du langage : entraîner, évaluer, analyser")
    sub = nlu.add_subparsers(dest="nlu_command", required=True)
    p = sub.add_parser("train", help="entraîne le classifieur d'intentions sur data/nlu/")
    p.add_argument("--data", default=None, help="dossier des données (défaut : data/nlu)")
    p.add_argument("--out", default=None, help="fichier modèle (défaut : models/nlu.joblib)")
    p.set_defaults(func=_lazy("bot.nlu.cli", "cmd_train"))
    p = sub.add_parser("evaluate", help="validation croisée stratifiée : précision, rappel, F1, confusion")
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--report", default="reports/nlu", help="dossier du rapport")
    p.add_argument("--heldout", default="tests/nlu/heldout.yml", help="jeu de test séparé (s'il existe)")
    p.set_defaults(func=_lazy("bot.nlu.cli", "cmd_evaluate"))
    p = sub.add_parser(
        "situations", help="lecteur de situations sur le jeu de test séparé (tests/situations/) : besoins, dispositifs, rôle"
    )
    p.add_argument("--testset", default=None, help="fichier ou dossier du jeu de test (défaut : tests/situations)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_lazy("bot.nlu.cli", "cmd_situations"))
    p = sub.add_parser("parse", help="analyse un message (ou une ligne par message sur l'entrée standard)")
    p.add_argument("text", nargs="*")
    p.add_argument("--json", action="store_true", help="sortie JSON (toujours le cas sur l'entrée standard)")
    p.set_defaults(func=_lazy("bot.nlu.cli", "cmd_parse"))


def _non_negative(raw: str) -> int:
    """--days of purge: an integer >= 0 (a negative one would delete active conversations)."""
    try:
        days = int(raw)
    except ValueError as error:
        raise argparse.ArgumentTypeError("un nombre entier de jours") from error
    if days < 0:
        raise argparse.ArgumentTypeError("--days doit être positif ou nul")
    return days


def _lazy(module: str, name: str):  # type: ignore[no-untyped-def]
    def run(args: argparse.Namespace) -> int:
        import importlib

        return int(getattr(importlib.import_module(module), name)(args) or 0)

    return run


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aiguillage",
        description="Aiguillage : assistant d'orientation vers les aides sociales (Hauts-de-France, Île-de-France).",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="journal détaillé (sans texte des messages)"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("chat", help="conversation dans le terminal (--json : une ligne JSON par message)")
    p.add_argument(
        "--json", action="store_true", help='entrée {"text": ...} ou {"location": {...}} par ligne'
    )
    p.set_defaults(func=_lazy("bot.channels.cli_chat", "cmd_chat"))

    p = sub.add_parser("serve", help="serveur HTTP : API, widget web, webhook Telegram")
    p.add_argument("--host", default=os.environ.get("AIGUILLAGE_HOST", "127.0.0.1"))
    p.add_argument("--port", type=int, default=int(os.environ.get("AIGUILLAGE_PORT", "8000")))
    p.set_defaults(func=_lazy("bot.channels.cli_chat", "cmd_serve"))

    p = sub.add_parser("telegram", help="bot Telegram en mode polling (AIGUILLAGE_TELEGRAM_TOKEN)")
    p.set_defaults(func=_lazy("bot.channels.cli_chat", "cmd_telegram"))

    p = sub.add_parser("purge", help="efface les conversations plus anciennes que la durée de conservation")
    p.add_argument(
        "--days", type=_non_negative, default=None, help="défaut : AIGUILLAGE_RETENTION_DAYS ou 30"
    )
    p.set_defaults(func=_lazy("bot.channels.cli_chat", "cmd_purge"))

    p = sub.add_parser("erase", help="efface une conversation (droit à l'effacement)")
    p.add_argument("--channel", required=True, help="web, telegram, rest, cli...")
    p.add_argument("--id", required=True, help="identifiant de la conversation sur ce canal")
    p.set_defaults(func=_lazy("bot.channels.cli_chat", "cmd_erase"))

    p = sub.add_parser("bench", help="mesure vitesse et mémoire (affiche un tableau)")
    p.add_argument("--messages", type=int, default=200)
    p.add_argument("--output", default=None, help="écrit aussi le tableau dans ce fichier Markdown")
    p.add_argument("--openfisca", choices=["off", "on", "only"], default="off",
                   help="mesure aussi (on) ou seulement (only) les simulations OpenFisca (quelques minutes)")
    p.add_argument("--openfisca-workers", type=int, default=1, help="processus de simulation (défaut : 1)")
    p.add_argument("--quick", action="store_true", help="version courte : 40 messages, scénarios HTTP réduits")
    p.add_argument("--places", type=int, default=150_000,
                   help="services synthétiques pour la mesure à l'échelle nationale (0 : sans)")
    p.add_argument("--no-processes", action="store_true",
                   help="sans les mesures qui lancent des processus (démarrage à froid, HTTP)")
    p.set_defaults(func=_lazy("bot.bench", "cmd_bench"))

    p = sub.add_parser("stats", help="statistiques anonymes : orientations, besoins, dispositifs, avis")
    p.add_argument("--format", choices=["csv", "json"], default="csv")
    p.add_argument("--since", default=None, help="AAAA-MM-JJ : à partir de la semaine de cette date")
    p.set_defaults(func=_lazy("bot.channels.stats", "cmd_stats"))

    db = sub.add_parser("db", help="base de données")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    p = db_sub.add_parser("upgrade", help="applique les migrations Alembic")
    p.set_defaults(func=_lazy("bot.cli", "cmd_db_upgrade"))

    add_kb_commands(sub)
    from bot.console.cli import add_pro_commands

    add_pro_commands(sub)
    _add_nlu_commands(sub)
    return parser


def cmd_db_upgrade(_args: argparse.Namespace) -> int:
    from knowledge.db import database_url, make_engine, upgrade

    upgrade(make_engine())
    url = database_url()
    print(f"Base à jour : {url.split('@')[-1] if '@' in url else url}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())

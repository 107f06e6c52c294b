"""Terminal channel (`aiguillage chat`, `--json` for scripts) and the server/maintenance commands."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from bot.dialogue.api import Incoming, Reply

JSON_HELP = 'Chaque ligne : {"text": "..."} ou {"location": {"lat": 50.45, "lon": 2.65}}'


def _incoming_from_json(line: str) -> Incoming | str:
    """An Incoming, or an error message for the person/script."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        return f"JSON invalide ({exc.msg}). {JSON_HELP}"
    if not isinstance(data, dict):
        return f"Objet JSON attendu. {JSON_HELP}"
    location = data.get("location")
    if location is not None:
        try:
            lat, lon = float(location["lat"]), float(location["lon"])
        except (KeyError, TypeError, ValueError):
            return 'Position invalide : {"location": {"lat": nombre, "lon": nombre}} attendu.'
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            return "Position hors limites (lat entre -90 et 90, lon entre -180 et 180)."
        return Incoming(latitude=lat, longitude=lon, channel="cli")
    text = data.get("text")
    if not isinstance(text, str):
        return f'Champ "text" (chaîne) ou "location" attendu. {JSON_HELP}'
    return Incoming(text=text, channel="cli")


def _reply_json(replies: list[Reply]) -> dict[str, Any]:
    return {"replies": [r.to_json() for r in replies]}


def _print_readable(replies: list[Reply]) -> None:
    for reply in replies:
        print(f"\n🤖 {reply.text}")
        if reply.buttons:
            print("   " + "  ".join(f"[{i}] {b.title}" for i, b in enumerate(reply.buttons, 1)))


def cmd_chat(args: argparse.Namespace) -> int:
    from bot.dialogue.engine import build_engine

    if not args.json:
        print("Chargement de l'assistant…", file=sys.stderr)
    engine = build_engine()
    state = engine.new_state()
    last_buttons: list[Any] = []
    if not args.json or os.environ.get("AIGUILLAGE_OPENFISCA"):
        # amounts computed by OpenFisca once it has warmed up in the background; `chat --json`
        # stays deterministic ("à vérifier") unless AIGUILLAGE_OPENFISCA asks for it (pool, local)
        from knowledge.benefits.engines import start_benefits

        start_benefits()
    if args.json:
        for line in sys.stdin:
            line = line.strip()
            if not line:
                continue
            incoming = _incoming_from_json(line)
            if isinstance(incoming, str):
                print(json.dumps({"replies": [], "error": incoming}, ensure_ascii=False), flush=True)
                continue
            turn = engine.handle(state, incoming)
            state = engine.new_state() if turn.erase else turn.state
            print(json.dumps(_reply_json(turn.replies), ensure_ascii=False), flush=True)
        return 0
    print("Aiguillage — écrivez votre message (un numéro pour choisir un bouton, « quitter » pour sortir).")
    turn = engine.handle(state, Incoming(text="bonjour", channel="cli"))
    state = turn.state
    _print_readable(turn.replies)
    last_buttons = turn.replies[-1].buttons if turn.replies else []
    while True:
        try:
            text = input("\n👤 ").strip()
        except EOFError:
            print()
            return 0
        if text.lower() in {"quitter", "exit", "quit", "/quit"}:
            return 0
        if text.isdigit() and last_buttons and 1 <= int(text) <= len(last_buttons):
            text = last_buttons[int(text) - 1].payload
        turn = engine.handle(state, Incoming(text=text, channel="cli"))
        state = engine.new_state() if turn.erase else turn.state
        _print_readable(turn.replies)
        last_buttons = next((r.buttons for r in reversed(turn.replies) if r.buttons), [])


def cmd_serve(args: argparse.Namespace) -> int:
    from bot.channels.http import serve

    serve(host=args.host, port=args.port)
    return 0


def cmd_telegram(_args: argparse.Namespace) -> int:
    from bot.channels.telegram import run_polling

    return int(run_polling() or 0)


def _database():  # type: ignore[no-untyped-def]
    from knowledge.db import make_engine, upgrade

    db = make_engine()
    upgrade(db)
    return db


def _store():  # type: ignore[no-untyped-def]
    """A store for maintenance (erase): no dialogue engine needed, so no model is loaded."""
    import os

    from bot.channels.store import ConversationStore

    return ConversationStore(_database(), None, redis_url=os.environ.get("AIGUILLAGE_REDIS_URL"))  # type: ignore[arg-type]


def cmd_purge(args: argparse.Namespace) -> int:
    from bot.channels.store import purge_conversations
    from bot.console.referrals import purge_referrals

    database = _database()
    removed = purge_conversations(database, args.days)
    print(f"{removed} conversation(s) effacée(s).")
    # referrals have their own limit ($AIGUILLAGE_REFERRAL_RETENTION_DAYS, 90 days by default)
    print(f"{purge_referrals(database)} orientation(s) vers une structure effacée(s).")
    return 0


def cmd_erase(args: argparse.Namespace) -> int:
    erased = _store().erase(args.channel, args.id)
    print("Conversation effacée." if erased else "Aucune conversation trouvée pour cet identifiant.")
    return 0 if erased else 1

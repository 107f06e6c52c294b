"""Accept a button payload only if the assistant could have produced it.

A message of the payload shape (`/intent{json}`) is accepted as is when it is one of the
payloads of the buttons sent in the previous turn (kept in the state, under `OFFERED`, at most
`MAX_OFFERED`), or a public payload: a bare intent (`/ask_help`, `/ask_human`, `/erase_data`...)
or one of the documented payloads whose values come from closed sets (`PUBLIC_ARGUMENTS`,
checked again by `bot.nlu.payload`). Any other payload loses its values: `/inform{"age": 3}`
typed by hand becomes `/inform`. See docs/channels.md ("Boutons et payloads").
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from bot.dialogue.api import Incoming, Reply
from bot.nlu.payload import MAX_PAYLOAD_CHARS, PAYLOAD

OFFERED = "offered"
MAX_OFFERED = 24
#: payload arguments anyone may send: identifiers from closed sets, validated by bot.nlu.payload
PUBLIC_ARGUMENTS: dict[str, frozenset[str]] = {
    "express_need": frozenset({"need", "service_type"}),
    "choose_scheme": frozenset({"scheme"}),
    "ask_scheme_info": frozenset({"scheme"}),
    "check_eligibility": frozenset({"all"}),
}


def _canonical(text: str) -> str | None:
    """`intent{sorted json}` of a payload, or None if it does not parse."""
    match = PAYLOAD.match(text.strip()) if len(text) <= MAX_PAYLOAD_CHARS else None
    if not match:
        return None
    if not match.group(2):
        return match.group(1)
    try:
        data = json.loads(match.group(2))
    except (ValueError, RecursionError):
        return None
    return match.group(1) + json.dumps(data, sort_keys=True, ensure_ascii=False)


def is_public(text: str) -> bool:
    match = PAYLOAD.match(text.strip()) if len(text) <= MAX_PAYLOAD_CHARS else None
    if not match:
        return False
    if not match.group(2):
        return True
    try:
        data = json.loads(match.group(2))
    except (ValueError, RecursionError):
        return False
    allowed = PUBLIC_ARGUMENTS.get(match.group(1), frozenset())
    return isinstance(data, dict) and bool(data) and set(data) <= allowed


def guard_incoming(state: dict[str, Any] | None, incoming: Incoming) -> Incoming:
    """The message itself, or for a payload nobody offered, the payload without its values."""
    text = (incoming.text or "").strip()
    if not text.startswith("/") or "{" not in text:
        return incoming
    match = PAYLOAD.match(text[: MAX_PAYLOAD_CHARS + 1])
    if not match or is_public(text):
        return incoming
    offered = state.get(OFFERED) if isinstance(state, dict) else None
    if isinstance(offered, list):
        canonical = _canonical(text)
        if canonical is not None and canonical in offered:
            return incoming
    return replace(incoming, text="/" + match.group(1))


def remember_buttons(state: dict[str, Any], replies: list[Reply]) -> dict[str, Any]:
    """The state with the payloads of this turn's buttons (replacing the previous turn's)."""
    payloads = []
    for reply in replies:
        for button in reply.buttons:
            canonical = _canonical(button.payload) if "{" in button.payload else None
            if canonical is not None and not is_public(button.payload):
                payloads.append(canonical)
    state = dict(state)
    if payloads:
        state[OFFERED] = list(dict.fromkeys(payloads))[:MAX_OFFERED]
    else:
        state.pop(OFFERED, None)
    return state

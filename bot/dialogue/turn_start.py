"""What happens before the engine reads a message, and what it keeps of its own buttons.

- A typed button title counts as pressing it: "Autre besoin", "pas d'enfant" typed after the
  assistant offered those buttons become their payloads.
- The reply language is chosen per turn and kept for the conversation: English once a message
  is clearly English, French again once a message is clearly French; short or mixed messages
  ("Lens", "3", "ok") keep the current one. `say()` and `label()` read it (a context variable).
- A number line (« ☎ 115 — … ») is said once a turn, whichever action says it first.

State keys (small, validated on read): `buttons` {folded title: payload} of the last reply,
`lang` "fr" or "en".
"""

from __future__ import annotations

import dataclasses
from typing import Any

from bot.dialogue.api import Incoming, Reply
from bot.dialogue.responses import LANGUAGES, set_language
from bot.nlu.entities import language_evidence
from knowledge.textnorm import fold

MAX_BUTTONS = 16
MAX_TITLE = 80
MAX_PAYLOAD = 300


def _stored_buttons(state: dict[str, Any]) -> dict[str, str]:
    raw = state.get("buttons")
    if not isinstance(raw, dict):
        return {}
    return {
        k: v
        for k, v in list(raw.items())[:MAX_BUTTONS]
        if isinstance(k, str) and isinstance(v, str) and len(k) <= MAX_TITLE and len(v) <= MAX_PAYLOAD
    }


def typed_button(state: dict[str, Any], text: str | None) -> str | None:
    """The payload of the button whose title the person typed (after folding), if any."""
    if not text or text.lstrip().startswith("/"):
        return None
    return _stored_buttons(state).get(fold(text))


def choose_language(current: str | None, text: str | None) -> str:
    """The reply language after this message: sticky, switched only by a clear message."""
    lang = current if current in LANGUAGES else "fr"
    if not text or text.lstrip().startswith("/"):
        return lang
    en, fr = language_evidence(text)
    if en >= 2 and en > 2 * fr:
        return "en"
    if fr >= 2 and fr > en:
        return "fr"
    return lang


def begin_turn(state: dict[str, Any] | None, incoming: Incoming) -> tuple[dict[str, Any], Incoming]:
    """Call first in `handle`: a typed button title becomes its payload; the reply language is set."""
    state = dict(state or {})
    lang = choose_language(state.get("lang"), incoming.text)
    payload = typed_button(state, incoming.text)
    if payload is not None:
        incoming = dataclasses.replace(incoming, text=payload)
    state.pop("buttons", None)  # titles of an older reply no longer count
    if lang != "fr" or "lang" in state:
        state["lang"] = lang
    set_language(lang)
    return state, incoming


def end_turn(state: dict[str, Any], replies: list[Reply]) -> None:
    """Call when the turn's replies are final: keep their buttons, and give the language back to French
    so nothing outside a turn (another request on the same thread) speaks the last person's language."""
    remember_buttons(state, replies)
    set_language("fr")


def remember_buttons(state: dict[str, Any], replies: list[Reply]) -> None:
    """Keep the titles -> payloads of the buttons just sent."""
    buttons: dict[str, str] = {}
    for reply in replies:
        for button in reply.buttons:
            title, payload = fold(button.title), button.payload
            if title and len(title) <= MAX_TITLE and len(payload) <= MAX_PAYLOAD and len(buttons) < MAX_BUTTONS:
                buttons.setdefault(title, payload)
    if buttons:
        state["buttons"] = buttons
    else:
        state.pop("buttons", None)


def without_repeated_numbers(replies: list[Reply]) -> list[Reply]:
    """A number line (« ☎ 115 — … ») said once a turn: the need's numbers before the places do not repeat the
    emergency numbers just given (« et s'il est à la rue ? » listed the 115 twice, simulated users sc-099)."""
    said: set[str] = set()
    out: list[Reply] = []
    for reply in replies:
        lines = reply.text.split("\n")
        kept = [line for line in lines if not (line.startswith("☎") and line in said)]
        said.update(line for line in lines if line.startswith("☎"))
        if kept == lines:
            out.append(reply)
        elif any(line.strip() for line in kept) or reply.buttons or reply.custom:
            out.append(Reply("\n".join(kept), reply.buttons, reply.custom))
    return out

"""Is a stored conversation state usable? Cheap structural checks before the engine sees it.

The engine writes the state, but a state stored by an older version (or damaged by a bug
since fixed) must not break a conversation for good: `ConversationStore` resets a state for
which `state_problem` returns a reason.
"""

from __future__ import annotations

from typing import Any

MAX_DEPTH = 12
MAX_NODES = 20_000


def state_problem(state: Any) -> str | None:
    """None if `state` looks like an engine state, else a short reason (no content)."""
    if not isinstance(state, dict):
        return "not an object"
    if not isinstance(state.get("slots", {}), dict):
        return "slots"
    stack: list[tuple[Any, int]] = [(state, 1)]
    nodes = 0
    while stack:
        value, depth = stack.pop()
        nodes += 1
        if depth > MAX_DEPTH:
            return "too deep"
        if nodes > MAX_NODES:
            return "too large"
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)
        elif isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return "invalid text"
    return None

"""The Rasa SDK action shape, usable with or without rasa_sdk installed.

Actions subclass `Action` (rasa_sdk's own when the [rasa] extra is installed, so
`python -m rasa_sdk --actions actions` serves them) and implement
`name()` and `run(dispatcher, tracker, domain) -> list[event dict]`. The engine runs them in
process with `LocalDispatcher` and `LocalTracker`, which offer the same methods.

`Action` itself is abstract (`abc`): rasa_sdk's executor registers every non-abstract subclass
of its `Action` it finds once the package is imported, and would otherwise try to instantiate
this shared base and ask it for a name. A synchronous `run` is fine: the executor awaits
`run` only when it returns a coroutine.
"""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from dataclasses import dataclass, field
from typing import Any

try:  # pragma: no cover - exercised by the [rasa] extra's test
    from rasa_sdk import Action as _BaseAction
except ImportError:  # the engine does not need rasa_sdk

    class _BaseAction:  # type: ignore[no-redef]
        def name(self) -> str:
            raise NotImplementedError

        async def run(self, dispatcher: Any, tracker: Any, domain: Any) -> list[dict[str, Any]]:
            raise NotImplementedError


class Action(_BaseAction, metaclass=ABCMeta):
    """Base class of Aiguillage's custom actions (synchronous `run`, as rasa_sdk allows)."""

    @abstractmethod
    def name(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    @abstractmethod
    def run(self, dispatcher: Any, tracker: Any, domain: Any) -> list[dict[str, Any]]:  # pragma: no cover
        raise NotImplementedError


def SlotSet(name: str, value: Any) -> dict[str, Any]:  # noqa: N802 - Rasa's event name
    return {"event": "slot", "timestamp": None, "name": name, "value": value}


@dataclass
class LocalDispatcher:
    messages: list[dict[str, Any]] = field(default_factory=list)

    def utter_message(
        self,
        text: str | None = None,
        buttons: list[dict[str, Any]] | None = None,
        json_message: dict[str, Any] | None = None,
        response: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.messages.append(
            {
                "text": text,
                "buttons": buttons or [],
                "custom": json_message or {},
                "response": response,
                **kwargs,
            }
        )


@dataclass
class LocalTracker:
    sender_id: str
    slots: dict[str, Any]
    latest_message: dict[str, Any] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)

    def get_slot(self, key: str) -> Any:
        return self.slots.get(key)

    def get_latest_entity_values(self, entity_type: str) -> Any:
        return (
            e.get("value") for e in self.latest_message.get("entities", []) if e.get("entity") == entity_type
        )

    def current_slot_values(self) -> dict[str, Any]:
        return dict(self.slots)

"""The contract between channels (CLI, HTTP, widget, Telegram) and the dialogue engine.

A channel turns what arrives into an `Incoming`, loads the conversation `state` (a JSON-able
dict) from the store, calls `engine.handle(state, incoming)` and gets a `Turn` back: the
new state to save, the replies to send, and whether the person asked to erase their data.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Button:
    title: str
    payload: str


@dataclass(frozen=True)
class Reply:
    text: str
    buttons: list[Button] = field(default_factory=list)
    #: optional structured extras for rich channels: e.g. {"request_location": True},
    #: {"summary": "..."} for the final orientation sheet.
    custom: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"text": self.text, "buttons": [asdict(b) for b in self.buttons]}
        if self.custom:
            data["custom"] = self.custom
        return data


@dataclass(frozen=True)
class Incoming:
    """One message from a person: text (a button press sends its payload as text) or a location."""

    text: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    channel: str = "cli"

    @property
    def has_location(self) -> bool:
        return self.latitude is not None and self.longitude is not None


@dataclass
class Turn:
    state: dict[str, Any]
    replies: list[Reply]
    #: True when the person asked to erase their data ("effacer mes données", /oubli):
    #: the channel must delete the stored conversation after sending the replies.
    erase: bool = False


class Engine(Protocol):
    def new_state(self) -> dict[str, Any]: ...

    def handle(self, state: dict[str, Any], incoming: Incoming) -> Turn: ...

    def summary(self, state: dict[str, Any]) -> dict[str, Any]:
        """What the conversation established (facts, schemes, services), without message texts."""
        ...

"""Signs of danger (and of abuse) in a message, from the patterns in danger.yml."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from bot.nlu.normalize import normalize
from knowledge.textnorm import fold
from knowledge.yamlio import load_yaml

DANGER_PATH = Path(__file__).with_name("danger.yml")


@dataclass(frozen=True)
class DangerKind:
    name: str
    numbers: tuple[str, ...]
    patterns: tuple[re.Pattern[str], ...]


class DangerDetector:
    def __init__(
        self, kinds: list[DangerKind], abuse: list[re.Pattern[str]], sms_first: list[re.Pattern[str]] | None = None,
        feelings: dict[str, list[re.Pattern[str]]] | None = None,
    ) -> None:
        self.kinds = kinds
        self.abuse = abuse
        self.sms_first = sms_first or []
        self.feelings = feelings or {}

    @classmethod
    @lru_cache(maxsize=1)
    def load(cls) -> DangerDetector:
        data = load_yaml(DANGER_PATH.read_text(encoding="utf-8"))
        kinds = [
            DangerKind(name, tuple(spec["numbers"]), tuple(re.compile(p) for p in spec["patterns"]))
            for name, spec in data["kinds"].items()
        ]
        return cls(
            kinds,
            [re.compile(p) for p in data.get("abuse_patterns", [])],
            [re.compile(p) for p in data.get("sms_first_patterns", [])],
            {name: [re.compile(p) for p in patterns] for name, patterns in (data.get("feelings") or {}).items()},
        )

    def detect(self, text: str) -> list[DangerKind]:
        if not text:
            return []
        variants = {fold(text), normalize(text)}
        return [k for k in self.kinds if any(p.search(v) for p in k.patterns for v in variants)]

    def numbers_for(self, kinds: list[DangerKind]) -> list[str]:
        return list(dict.fromkeys(n for k in kinds for n in k.numbers))

    def prefers_sms(self, text: str) -> bool:
        """Someone who cannot speak or hear on the phone: the 114 (by SMS) comes first."""
        folded = fold(text)
        return any(p.search(folded) for p in self.sms_first)

    def is_abusive(self, text: str) -> bool:
        folded = fold(text)
        return any(p.search(folded) for p in self.abuse)

    def feeling(self, text: str) -> str | None:
        """A loss or anger said in the message (danger.yml `feelings`, in their order), or None."""
        folded = fold(text)
        return next((name for name, patterns in self.feelings.items() if any(p.search(folded) for p in patterns)), None)

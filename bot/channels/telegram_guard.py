"""Guards of the Telegram webhook: body size, repeated updates, updates per chat.

- `MAX_UPDATE_BYTES`: Telegram's updates are small (a 4,096-character message is < 20 KB of
  JSON); a larger body is refused with 413 before it is parsed.
- `SeenUpdates`: Telegram re-sends an update it thinks was not received; an `update_id` seen
  recently is answered 200 without a second turn. In this process (the last `MEMORY` ids) and,
  when the store has Redis, across workers (`SET NX` with an expiry).
- `ChatLimiter`: at most `PER_10_SECONDS` and `PER_MINUTE` updates per chat; the others are
  acknowledged (200, so Telegram does not retry them) and dropped, with one log line.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any

from limits import RateLimitItemPerMinute, RateLimitItemPerSecond
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

log = logging.getLogger("aiguillage.telegram")

MAX_UPDATE_BYTES = 64 * 1024
MEMORY = 10_000
SEEN_TTL_SECONDS = 24 * 3600
PER_10_SECONDS = 10
PER_MINUTE = 30


class SeenUpdates:
    def __init__(self, redis_client: Any = None, prefix: str = "aiguillage:telegram:update:") -> None:
        self.redis, self.prefix = redis_client, prefix
        self._recent: OrderedDict[int, None] = OrderedDict()

    def first_time(self, update_id: int) -> bool:
        """True the first time this update id is seen (then remembered), False for a repeat."""
        if update_id in self._recent:
            return False
        self._recent[update_id] = None
        if len(self._recent) > MEMORY:
            self._recent.popitem(last=False)
        if self.redis is not None:
            try:
                return bool(self.redis.set(f"{self.prefix}{update_id}", 1, nx=True, ex=SEEN_TTL_SECONDS))
            except Exception as error:  # Redis down: this process's memory still catches repeats
                log.warning("telegram: update de-duplication without redis (%s)", type(error).__name__)
        return True


class ChatLimiter:
    def __init__(self, per_10_seconds: int = PER_10_SECONDS, per_minute: int = PER_MINUTE) -> None:
        self.items = [RateLimitItemPerSecond(per_10_seconds, 10), RateLimitItemPerMinute(per_minute)]
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    def allow(self, chat_id: int | str) -> bool:
        return all(self.limiter.hit(item, "telegram", str(chat_id)) for item in self.items)


def chat_id_of(data: dict[str, Any]) -> int | str | None:
    """The chat of a raw update (message or callback query), without parsing the rest."""
    for key in ("message", "edited_message", "callback_query"):
        part = data.get(key)
        if isinstance(part, dict):
            if key == "callback_query":
                part = part.get("message") or {}
            chat = part.get("chat") if isinstance(part, dict) else None
            if isinstance(chat, dict) and isinstance(chat.get("id"), int | str):
                return chat["id"]
    return None

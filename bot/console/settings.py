"""Settings of the agents' console (environment variables).

| variable | default | meaning |
|---|---|---|
| AIGUILLAGE_CONSOLE_SECRET | the pepper ($AIGUILLAGE_SECRET_KEY or data dir) | signs the session cookie |
| AIGUILLAGE_CONSOLE_SESSION_HOURS | 8 | a session ends this long after the login |
| AIGUILLAGE_CONSOLE_HTTPS_ONLY | 0 | 1: the session cookie is sent over HTTPS only (production) |
| AIGUILLAGE_CONSOLE_LOGIN_PER_MINUTE | 10 | login attempts per minute and address (burst: 5 per 10 s) |
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

from bot.channels.http_settings import env_float, env_int

SESSION_COOKIE = "aiguillage_pro"


def _default_secret() -> str:
    from bot.channels.store_models import secret_key

    # derived, so that the console cookie key is not the conversations' pepper itself
    return hashlib.sha256(b"aiguillage-console:" + secret_key()).hexdigest()


@dataclass
class ConsoleSettings:
    secret: str
    session_seconds: int = 8 * 3600
    https_only: bool = False
    login_per_minute: float = 10.0
    login_burst: int = 5

    @classmethod
    def from_env(cls) -> ConsoleSettings:
        return cls(
            secret=os.environ.get("AIGUILLAGE_CONSOLE_SECRET", "").strip() or _default_secret(),
            session_seconds=round(env_float("AIGUILLAGE_CONSOLE_SESSION_HOURS", 8.0) * 3600),
            https_only=os.environ.get("AIGUILLAGE_CONSOLE_HTTPS_ONLY", "0") in {"1", "true", "yes"},
            login_per_minute=env_float("AIGUILLAGE_CONSOLE_LOGIN_PER_MINUTE", 10.0),
            login_burst=env_int("AIGUILLAGE_CONSOLE_LOGIN_BURST", 5),
        )

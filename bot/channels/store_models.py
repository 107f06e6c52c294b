"""The `conversations` table: one row per conversation, keyed by a pseudonym, holding only the state.

The row id is an HMAC-SHA256 of `channel:external_id` with a secret pepper, so the table never
holds a Telegram user id or a widget session id in clear, and nobody without the pepper can link
a row to a person. The pepper is $AIGUILLAGE_SECRET_KEY, or a random key generated once and saved
in the data folder (`secret_key`, mode 0600). Several hosts sharing one database must share the key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import secrets
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from knowledge.db import Base, data_dir

SECRET_KEY_FILE = "secret_key"


class ConversationRow(Base):
    __tablename__ = "conversations"

    #: hex HMAC-SHA256 of "channel:external_id" (see `pseudonymize`)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    #: the engine's JSON state: facts established, never raw message texts
    state: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: naive UTC datetimes (same meaning on SQLite and PostgreSQL)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(), index=True)
    message_count: Mapped[int] = mapped_column(Integer, default=0)
    #: bumped on every write; a write expecting another version is refused (optimistic check)
    version: Mapped[int] = mapped_column(Integer, default=1)


def utcnow() -> dt.datetime:
    """Naive UTC now, the convention of the `conversations` table."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


_key_cache: dict[tuple[str, str], bytes] = {}


def secret_key() -> bytes:
    """The pepper: $AIGUILLAGE_SECRET_KEY, else `<data dir>/secret_key` (created once, atomically)."""
    env = os.environ.get("AIGUILLAGE_SECRET_KEY", "")
    if env:
        return env.encode()
    path = data_dir() / SECRET_KEY_FILE
    cache_key = ("file", str(path.resolve()))
    if cache_key not in _key_cache:
        _key_cache[cache_key] = _load_or_create_key(path)
    return _key_cache[cache_key]


def _load_or_create_key(path: Path) -> bytes:
    if not path.exists():
        # write a complete temporary file, then hard-link it into place: atomic and never
        # overwrites a key another process created meanwhile (the link fails, we read theirs)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    key = path.read_text().strip()
    if not key:
        raise RuntimeError(f"empty secret key file: {path}")
    return key.encode()


def pseudonymize(channel: str, external_id: str) -> str:
    """Stable pseudonymous id of a conversation (64 hex characters)."""
    message = f"{channel}:{external_id}".encode()
    return hmac.new(secret_key(), message, hashlib.sha256).hexdigest()

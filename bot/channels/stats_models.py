"""Anonymous tables for operators: orientation counts and feedback, never linked to a conversation.

`usage_counts` holds one row per (ISO week, channel, dimension, key) with a counter: an
orientation adds 1 to its week's `orientation/total`, to its `need/<id>`, to each proposed
`scheme/<id>` and to its `commune/<INSEE code>`. No conversation id, no date finer than the week.

`feedback` holds one row per answer to « Cela vous a-t-il aidé ? »: the day, the channel, yes/no,
the need and scheme ids of the orientation, and an optional short comment (≤ 300 characters, phone
numbers and emails removed before it is stored). No conversation id, no message text.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from knowledge.db import Base

COMMENT_MAX_CHARS = 300


class UsageCount(Base):
    __tablename__ = "usage_counts"
    __table_args__ = (UniqueConstraint("week", "channel", "dimension", "key", name="uq_usage_counts_cell"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: Monday of the ISO week
    week: Mapped[dt.date] = mapped_column(Date, index=True)
    channel: Mapped[str] = mapped_column(String(32))
    #: orientation | need | scheme | commune
    dimension: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(64))
    count: Mapped[int] = mapped_column(Integer, default=0)


class Feedback(Base):
    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    day: Mapped[dt.date] = mapped_column(Date, index=True)
    channel: Mapped[str] = mapped_column(String(32))
    #: True: « Oui », False: « Non », None: only a comment
    helpful: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    need: Mapped[str | None] = mapped_column(String(64), nullable=True)
    schemes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    comment: Mapped[str | None] = mapped_column(String(COMMENT_MAX_CHARS), nullable=True)

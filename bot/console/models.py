"""Tables of the agents' console: structures (France Services, CCAS...) and their agents."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from knowledge.db import Base


class Role(StrEnum):
    """An agent works with the console; a structure admin also manages the structure's agents."""

    agent = "agent"
    admin = "admin"


class ConsoleStructure(Base):
    __tablename__ = "console_structures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    #: INSEE code of the structure's commune: the default commune of the desk search
    commune: Mapped[str | None] = mapped_column(String(5), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime())


class ConsoleAgent(Base):
    __tablename__ = "console_agents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: lower-cased
    email: Mapped[str] = mapped_column(String(254), unique=True)
    #: pwdlib (Argon2id) hash, never the password
    password_hash: Mapped[str] = mapped_column(String(255))
    structure_id: Mapped[int] = mapped_column(ForeignKey("console_structures.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16), default=Role.agent.value)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime())

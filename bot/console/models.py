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


class ReferralStatus(StrEnum):
    sent = "sent"
    seen = "seen"
    in_progress = "in_progress"
    done = "done"
    refused = "refused"


class Referral(Base):
    """A person referred to a structure with their explicit consent (deleted after the retention limit)."""

    __tablename__ = "console_referrals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: the person's tracking code (random, unguessable): shows the status only, never the content
    code: Mapped[str] = mapped_column(String(32), unique=True)
    from_structure_id: Mapped[int] = mapped_column(Integer)
    to_structure_id: Mapped[int] = mapped_column(Integer, index=True)
    created_by: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default=ReferralStatus.sent.value)
    refusal_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    person_name: Mapped[str] = mapped_column(String(120))
    contact: Mapped[str] = mapped_column(String(200))
    wish: Mapped[str] = mapped_column(String(1000))
    summary: Mapped[str] = mapped_column(String(2000))
    consent_at: Mapped[dt.datetime] = mapped_column(DateTime())
    created_at: Mapped[dt.datetime] = mapped_column(DateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(), index=True)


class ReferralAccess(Base):
    """Who did what to a referral, and when; never its content. Kept after the referral is deleted."""

    __tablename__ = "console_referral_access"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    referral_id: Mapped[int] = mapped_column(Integer, index=True)
    agent_id: Mapped[int] = mapped_column(Integer)
    #: created, viewed, status:<new status>
    action: Mapped[str] = mapped_column(String(32))
    at: Mapped[dt.datetime] = mapped_column(DateTime())

"""SQLAlchemy models of the knowledge base (schemes, structures, services)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Date, Float, ForeignKeyConstraint, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from knowledge.db import Base


class SchemeRow(Base):
    __tablename__ = "schemes"

    id: Mapped[str] = mapped_column(String(120), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    verified: Mapped[dt.date] = mapped_column(Date)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class StructureRow(Base):
    """A data·inclusion structure (the carrier of services)."""

    __tablename__ = "structures"

    source: Mapped[str] = mapped_column(String(100), primary_key=True)
    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    nom: Mapped[str] = mapped_column(String(300))
    commune: Mapped[str | None] = mapped_column(String(200))
    code_insee: Mapped[str | None] = mapped_column(String(5))
    date_maj: Mapped[dt.date | None] = mapped_column(Date)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ServiceRow(Base):
    """A data·inclusion v1 service; `origin` is 'curated' (YAML content) or 'import'."""

    __tablename__ = "services"
    __table_args__ = (
        ForeignKeyConstraint(["source", "structure_id"], ["structures.source", "structures.id"]),
    )

    source: Mapped[str] = mapped_column(String(100), primary_key=True)
    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    structure_id: Mapped[str] = mapped_column(String(200))
    origin: Mapped[str] = mapped_column(String(20), default="import", index=True)
    nom: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    date_maj: Mapped[dt.date | None] = mapped_column(Date)
    code_insee: Mapped[str | None] = mapped_column(String(5), index=True)
    code_postal: Mapped[str | None] = mapped_column(String(5))
    commune: Mapped[str | None] = mapped_column(String(200))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    coord_precision: Mapped[str | None] = mapped_column(String(40))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class MetaRow(Base):
    __tablename__ = "kb_meta"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)

"""Structures and agents: creation, password check (pwdlib, Argon2id), lookup."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache

from pwdlib import PasswordHash
from sqlalchemy import Engine, select

from bot.channels.store_models import utcnow
from bot.console.models import ConsoleAgent, ConsoleStructure, Role
from knowledge.db import session_scope

MIN_PASSWORD_CHARS = 12
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class AccountError(ValueError):
    """A refused account operation; the message is meant for a person."""


@dataclass(frozen=True)
class Agent:
    id: int
    email: str
    role: Role
    structure_id: int
    structure_name: str
    structure_commune: str | None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.admin


@lru_cache(maxsize=1)
def hasher() -> PasswordHash:
    return PasswordHash.recommended()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """Verified against when the email is unknown: the answer takes as long as for a known one."""
    return hasher().hash("aiguillage-compte-inexistant")


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        raise AccountError(f"Le mot de passe doit compter au moins {MIN_PASSWORD_CHARS} caractères.")


def add_structure(db: Engine, name: str, commune: str | None = None) -> int:
    name = " ".join(name.split())
    if not name:
        raise AccountError("Le nom de la structure est vide.")
    with session_scope(db) as session:
        if session.scalar(select(ConsoleStructure).where(ConsoleStructure.name == name)) is not None:
            raise AccountError(f"La structure « {name} » existe déjà.")
        row = ConsoleStructure(name=name, commune=commune, created_at=utcnow())
        session.add(row)
        session.flush()
        return row.id


def find_structure(db: Engine, name_or_id: str) -> int | None:
    with session_scope(db) as session:
        if name_or_id.isdigit():
            row = session.get(ConsoleStructure, int(name_or_id))
        else:
            row = session.scalar(select(ConsoleStructure).where(ConsoleStructure.name == " ".join(name_or_id.split())))
        return row.id if row is not None else None


def add_agent(db: Engine, email: str, password: str, structure_id: int, role: Role | str = Role.agent) -> int:
    email = email.strip().lower()
    if not EMAIL.match(email):
        raise AccountError(f"Adresse électronique invalide : {email!r}.")
    try:
        role = Role(role)
    except ValueError as error:
        raise AccountError("Rôle inconnu : agent ou admin.") from error
    check_password_rules(password)
    with session_scope(db) as session:
        if session.get(ConsoleStructure, structure_id) is None:
            raise AccountError("Structure inconnue.")
        if session.scalar(select(ConsoleAgent).where(ConsoleAgent.email == email)) is not None:
            raise AccountError(f"Un compte existe déjà pour {email}.")
        row = ConsoleAgent(
            email=email, password_hash=hasher().hash(password), structure_id=structure_id,
            role=role.value, active=True, created_at=utcnow(),
        )  # fmt: skip
        session.add(row)
        session.flush()
        return row.id


def _agent(row: ConsoleAgent, structure: ConsoleStructure) -> Agent:
    return Agent(row.id, row.email, Role(row.role), structure.id, structure.name, structure.commune)


def authenticate(db: Engine, email: str, password: str) -> Agent | None:
    """The agent whose email and password match (active accounts only), else None."""
    email = email.strip().lower()
    with session_scope(db) as session:
        row = session.scalar(select(ConsoleAgent).where(ConsoleAgent.email == email))
        if row is None or not row.active:
            hasher().verify(password, _dummy_hash())
            return None
        valid, new_hash = hasher().verify_and_update(password, row.password_hash)
        if not valid:
            return None
        if new_hash is not None:  # parameters of the hash strengthened since: re-hash
            row.password_hash = new_hash
        structure = session.get(ConsoleStructure, row.structure_id)
        assert structure is not None
        return _agent(row, structure)


def get_agent(db: Engine, agent_id: int) -> Agent | None:
    with session_scope(db) as session:
        row = session.get(ConsoleAgent, agent_id)
        if row is None or not row.active:
            return None
        structure = session.get(ConsoleStructure, row.structure_id)
        return _agent(row, structure) if structure is not None else None


def structure_agents(db: Engine, structure_id: int) -> list[tuple[str, str, dt.datetime]]:
    """(email, role, created_at) of a structure's active agents."""
    with session_scope(db) as session:
        rows = session.scalars(
            select(ConsoleAgent).where(ConsoleAgent.structure_id == structure_id, ConsoleAgent.active)
            .order_by(ConsoleAgent.email)
        )
        return [(r.email, r.role, r.created_at) for r in rows]

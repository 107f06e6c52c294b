"""Referral with consent (as DORA's « orienter »): a person sent to a structure, with their
explicit consent; the structure's agents follow it (sent, seen, in progress, done, refused with a
reason); the person follows its status with a tracking code. Every access is logged (who, what,
when), never the content. Referrals are deleted after the retention limit.

| variable | default | meaning |
|---|---|---|
| AIGUILLAGE_REFERRAL_RETENTION_DAYS | 90 | days a referral is kept after its last change |
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, delete, or_, select

from bot.channels.store_models import utcnow
from bot.console.accounts import Agent
from bot.console.models import ConsoleStructure, Referral, ReferralAccess, ReferralStatus
from knowledge.db import session_scope

DEFAULT_RETENTION_DAYS = 90
STATUS_LABELS = {
    ReferralStatus.sent: "Envoyée",
    ReferralStatus.seen: "Vue par la structure",
    ReferralStatus.in_progress: "En cours",
    ReferralStatus.done: "Terminée",
    ReferralStatus.refused: "Refusée",
}
#: the statuses an agent of the receiving structure may set
NEXT_STATUSES = (ReferralStatus.in_progress, ReferralStatus.done, ReferralStatus.refused)
#: the sender of referrals made by an ambassadeur (no structure, no agent account): id 0 in the
#: referral's from_structure_id and created_by, and in its access log
OUTREACH_SENDER = 0
OUTREACH_SENDER_NAME = "Ambassadeur de l'accès aux droits"
LIMITS = {"person_name": 120, "contact": 200, "wish": 1000, "summary": 2000, "refusal_reason": 500}


class ReferralError(ValueError):
    """A refused referral operation; the message is meant for a person."""


@dataclass(frozen=True)
class ReferralView:
    id: int
    code: str
    status: ReferralStatus
    status_label: str
    refusal_reason: str | None
    from_structure: str
    to_structure: str
    to_structure_id: int
    person_name: str
    contact: str
    wish: str
    summary: str
    created_at: dt.datetime
    updated_at: dt.datetime

    def received_by(self, agent: Agent) -> bool:
        return agent.structure_id == self.to_structure_id


def retention_days() -> int:
    raw = os.environ.get("AIGUILLAGE_REFERRAL_RETENTION_DAYS", "").strip()
    days = int(raw) if raw else DEFAULT_RETENTION_DAYS
    if days < 0:
        raise ValueError("AIGUILLAGE_REFERRAL_RETENTION_DAYS must be >= 0")
    return days


def _clean(name: str, value: str, required: bool = True) -> str:
    value = " ".join((value or "").split()) if name != "summary" else (value or "").strip()
    if required and not value:
        raise ReferralError({
            "person_name": "Indiquez comment s'adresser à la personne (prénom ou nom).",
            "contact": "Indiquez comment joindre la personne (téléphone ou courriel).",
            "wish": "Indiquez ce que la personne souhaite.",
        }.get(name, "Champ manquant."))  # fmt: skip
    if len(value) > LIMITS[name]:
        raise ReferralError(f"Texte trop long ({LIMITS[name]} caractères au plus).")
    return value


def _log(session: Any, referral_id: int, agent: Agent, action: str, now: dt.datetime) -> None:
    session.add(ReferralAccess(referral_id=referral_id, agent_id=agent.id, action=action, at=now))


def structures(db: Engine) -> list[tuple[int, str]]:
    with session_scope(db) as session:
        rows = session.scalars(select(ConsoleStructure).order_by(ConsoleStructure.name))
        return [(r.id, r.name) for r in rows]


def structures_in_departement(db: Engine, departement: str) -> list[tuple[int, str]]:
    """The structures whose commune is in `departement` (those without a commune are left out)."""
    with session_scope(db) as session:
        rows = session.scalars(
            select(ConsoleStructure)
            .where(ConsoleStructure.commune.startswith(departement, autoescape=True))
            .order_by(ConsoleStructure.name)
        )
        return [(r.id, r.name) for r in rows]


def _insert(db: Engine, sender_structure: int, sender_agent: int, to_structure_id: int, fields: dict[str, str],
            now: dt.datetime) -> int:
    with session_scope(db) as session:
        if session.get(ConsoleStructure, to_structure_id) is None:
            raise ReferralError("Structure inconnue.")
        row = Referral(
            code=secrets.token_urlsafe(12), from_structure_id=sender_structure, to_structure_id=to_structure_id,
            created_by=sender_agent, status=ReferralStatus.sent.value, consent_at=now, created_at=now,
            updated_at=now, **fields,
        )  # fmt: skip
        session.add(row)
        session.flush()
        session.add(ReferralAccess(referral_id=row.id, agent_id=sender_agent, action="created", at=now))
        return row.id


def create_referral(
    db: Engine, agent: Agent, to_structure_id: int, *, consent: bool, person_name: str, contact: str, wish: str,
    summary: str, now: dt.datetime | None = None,
) -> ReferralView:
    """Send a referral; refused without the person's explicit consent."""
    if not consent:
        raise ReferralError("Sans l'accord explicite de la personne, rien n'est transmis.")
    fields = {
        "person_name": _clean("person_name", person_name), "contact": _clean("contact", contact),
        "wish": _clean("wish", wish), "summary": _clean("summary", summary, required=False),
    }  # fmt: skip
    referral_id = _insert(db, agent.structure_id, agent.id, to_structure_id, fields, now or utcnow())
    view = get_referral(db, agent, referral_id, log=False)
    assert view is not None
    return view


def create_outreach_referral(
    db: Engine, to_structure_id: int, *, consent: bool, need: str, contact: str, summary: str,
    now: dt.datetime | None = None,
) -> str:
    """A referral sent by an ambassadeur from the outreach page (no account: sender 0); the person's
    name is not asked, the contact is optional. Returns the tracking code."""
    if not consent:
        raise ReferralError("Sans l'accord explicite de la personne, rien n'est transmis.")
    fields = {
        "person_name": "", "contact": _clean("contact", contact, required=False), "wish": _clean("wish", need),
        "summary": _clean("summary", summary, required=False),
    }  # fmt: skip
    referral_id = _insert(db, OUTREACH_SENDER, OUTREACH_SENDER, to_structure_id, fields, now or utcnow())
    with session_scope(db) as session:
        return str(session.get(Referral, referral_id).code)  # type: ignore[union-attr]


def _view(row: Referral, names: dict[int, str]) -> ReferralView:
    status = ReferralStatus(row.status)
    return ReferralView(
        row.id, row.code, status, STATUS_LABELS[status], row.refusal_reason,
        names.get(row.from_structure_id, "?"), names.get(row.to_structure_id, "?"), row.to_structure_id,
        row.person_name, row.contact, row.wish, row.summary, row.created_at, row.updated_at,
    )  # fmt: skip


def _names(session: Any) -> dict[int, str]:
    return {OUTREACH_SENDER: OUTREACH_SENDER_NAME, **{s.id: s.name for s in session.scalars(select(ConsoleStructure))}}


def _visible(agent: Agent) -> Any:
    return or_(Referral.to_structure_id == agent.structure_id, Referral.from_structure_id == agent.structure_id)


def list_referrals(db: Engine, agent: Agent) -> list[ReferralView]:
    """Referrals received or sent by the agent's structure, newest first (the list is not an
    access to their content: only names of structures, statuses and dates are shown)."""
    purge_referrals(db)
    with session_scope(db) as session:
        rows = session.scalars(select(Referral).where(_visible(agent)).order_by(Referral.updated_at.desc()))
        names = _names(session)
        return [_view(r, names) for r in rows]


def get_referral(db: Engine, agent: Agent, referral_id: int, log: bool = True,
                 now: dt.datetime | None = None) -> ReferralView | None:
    """One referral, for an agent of the sending or receiving structure (else None); logged. The
    first view by the receiving structure marks it « seen »."""
    now = now or utcnow()
    with session_scope(db) as session:
        row = session.scalar(select(Referral).where(Referral.id == referral_id, _visible(agent)))
        if row is None:
            return None
        if log:
            _log(session, row.id, agent, "viewed", now)
            if row.to_structure_id == agent.structure_id and row.status == ReferralStatus.sent.value:
                row.status, row.updated_at = ReferralStatus.seen.value, now
                _log(session, row.id, agent, "status:seen", now)
        return _view(row, _names(session))


def set_status(db: Engine, agent: Agent, referral_id: int, status: str, reason: str = "",
               now: dt.datetime | None = None) -> ReferralView:
    """Only the receiving structure's agents change the status; a refusal needs a reason."""
    try:
        new = ReferralStatus(status)
    except ValueError as error:
        raise ReferralError("Statut inconnu.") from error
    if new not in NEXT_STATUSES:
        raise ReferralError("Statut inconnu.")
    reason = " ".join((reason or "").split())
    if new is ReferralStatus.refused and not reason:
        raise ReferralError("Indiquez la raison du refus : la personne et la structure qui oriente la verront.")
    if len(reason) > LIMITS["refusal_reason"]:
        raise ReferralError(f"Raison trop longue ({LIMITS['refusal_reason']} caractères au plus).")
    now = now or utcnow()
    with session_scope(db) as session:
        row = session.scalar(
            select(Referral).where(Referral.id == referral_id, Referral.to_structure_id == agent.structure_id)
        )
        if row is None:
            raise ReferralError("Seule la structure qui reçoit l'orientation peut changer son statut.")
        row.status, row.updated_at = new.value, now
        row.refusal_reason = reason if new is ReferralStatus.refused else None
        _log(session, row.id, agent, f"status:{new.value}", now)
    view = get_referral(db, agent, referral_id, log=False)
    assert view is not None
    return view


def public_status(db: Engine, code: str) -> dict[str, str] | None:
    """What the person may see with their code: the status, its date, the structure, the reason
    of a refusal; nothing else."""
    if not code or len(code) > 32:
        return None
    with session_scope(db) as session:
        row = session.scalar(select(Referral).where(Referral.code == code))
        if row is None:
            return None
        structure = session.get(ConsoleStructure, row.to_structure_id)
        status = ReferralStatus(row.status)
        return {
            "status": status.value, "label": STATUS_LABELS[status], "structure": structure.name if structure else "",
            "updated": row.updated_at.strftime("%d/%m/%Y"), "reason": row.refusal_reason or "",
        }  # fmt: skip


def access_log(db: Engine, referral_id: int) -> list[tuple[int, str, dt.datetime]]:
    with session_scope(db) as session:
        rows = session.scalars(
            select(ReferralAccess).where(ReferralAccess.referral_id == referral_id).order_by(ReferralAccess.id)
        )
        return [(r.agent_id, r.action, r.at) for r in rows]


def purge_referrals(db: Engine, older_than_days: int | None = None, now: dt.datetime | None = None) -> int:
    """Delete referrals unchanged for more than the retention period; return how many."""
    days = retention_days() if older_than_days is None else older_than_days
    cutoff = (now or utcnow()) - dt.timedelta(days=days)
    with session_scope(db) as session:
        result = session.execute(delete(Referral).where(Referral.updated_at < cutoff))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

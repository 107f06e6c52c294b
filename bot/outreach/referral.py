"""A referral sent from the ambassadeurs' page: its request body and its creation through the
console's referrals (same retention, same access log, status « sent »)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt
from sqlalchemy import Engine

from actions.common import get_kb
from bot.console.referrals import LIMITS, ReferralError, create_outreach_referral


class OutreachReferral(BaseModel):
    model_config = ConfigDict(extra="forbid")

    commune: str = Field(min_length=5, max_length=5)
    structure_id: StrictInt = Field(ge=1)
    #: the screening's result, written by the page (the schemes to look at)
    need: str = Field(min_length=1, max_length=LIMITS["wish"])
    #: phone or email typed by the ambassadeur, optional
    contact: str = Field("", max_length=LIMITS["contact"])
    consent: StrictBool


def send_referral(db: Engine, referral: OutreachReferral) -> str:
    """Create the referral; ReferralError without consent, for an unknown commune or structure."""
    commune = get_kb().gazetteer.get(referral.commune)
    if commune is None:
        raise ReferralError("Commune inconnue.")
    summary = f"Présélection faite par un ambassadeur de l'accès aux droits à {commune.nom} ({commune.code_insee})."
    return create_outreach_referral(
        db, referral.structure_id, consent=referral.consent, need=referral.need, contact=referral.contact,
        summary=summary,
    )  # fmt: skip

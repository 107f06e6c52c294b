"""Typed schema of the curated content (YAML files under knowledge/content/).

Schemes (dispositifs) follow a small condition vocabulary in the spirit of the
1jeune1solution simulator; services follow the data·inclusion v1 field names.
Every fact carries sources: a seed file with a verbatim quote, or a public URL.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SLUG = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


class Source(Strict):
    """Where a fact comes from: a seed file + verbatim quote, or a public page URL."""

    seed: str | None = Field(None, description="file name in shared/seeds/, e.g. 002_4df18724a9642163.txt")
    quote: str | None = Field(None, description="verbatim excerpt of the seed (whitespace may differ)")
    url: str | None = Field(None, description="public page URL")
    title: str | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Source:
        if bool(self.seed) == bool(self.url):
            raise ValueError("a source has either `seed` (with `quote`) or `url`, not both nor neither")
        if self.seed and not self.quote:
            raise ValueError("a seed source needs a verbatim `quote`")
        if self.url and not re.match(r"^https?://", self.url):
            raise ValueError(f"url must start with http(s)://: {self.url}")
        return self


class Situation(StrEnum):
    """Main professional situation of the person."""

    salarie = "salarie"
    independant = "independant"
    demandeur_emploi = "demandeur_emploi"
    beneficiaire_rsa = "beneficiaire_rsa"
    en_formation = "en_formation"
    etudiant = "etudiant"
    scolaire = "scolaire"
    retraite = "retraite"
    sans_activite = "sans_activite"


class Housing(StrEnum):
    locataire = "locataire"
    proprietaire = "proprietaire"
    heberge = "heberge"
    sans_domicile = "sans_domicile"


class Audience(StrEnum):
    """Who a contact is meant for: residents, or professionals (agents, elected officials, partners)."""

    residents = "residents"
    professionals = "professionals"


ContactKind = Literal["telephone", "courriel", "site_web"]


class Contact(Strict):
    """A contact named by a scheme (outside its services), with its audience."""

    kind: ContactKind
    value: str
    label: str
    audience: Audience = Audience.residents


class AgeRange(Strict):
    min: int | None = Field(None, ge=0, le=120)
    max: int | None = Field(None, ge=0, le=120)


class Zone(Strict):
    """The person's commune must be in one of these (INSEE / EPCI SIREN codes)."""

    communes: list[str] = []
    epcis: list[str] = []
    departements: list[str] = []
    regions: list[str] = []


class ChildrenCondition(Strict):
    """At least `min_count` children whose age (years, decimals allowed) is within bounds."""

    min_count: int = 1
    min_age: float | None = None
    max_age: float | None = None


class VacantDwellingCondition(Strict):
    """The person owns an empty dwelling (not the home they live in), judged on that dwelling."""

    min_years_empty: float | None = Field(None, ge=0, description="empty for more than this many years")
    commune_density_levels: list[Annotated[int, Field(ge=1, le=7)]] | None = Field(
        None, description="levels of INSEE's 7-level density grid for the dwelling's commune (5-7 = rural)"
    )


class Conditions(Strict):
    """Machine-checkable conditions; all given ones must hold (AND). `any_of`: one group must hold."""

    age: AgeRange | None = None
    zone: Zone | None = None
    commune_max_population: int | None = None
    children: ChildrenCondition | None = None
    situation: list[Situation] | None = None
    single_parent: bool | None = None
    quotient_familial_max: float | None = None
    monthly_income_max: float | None = None
    housing: list[Housing] | None = None
    owns_vacant_dwelling: bool | None = None
    pregnant: bool | None = None
    vacant_dwelling: VacantDwellingCondition | None = None
    local_check: str | None = Field(
        None,
        description="a condition only the service can check (does the commune apply it?): the scheme is "
        "at best « à vérifier », and this text says what to ask",
    )
    any_of: list[Conditions] | None = None


class OpenFiscaOutcome(Strict):
    """One OpenFisca variable whose positive value means the scheme may apply, and how to say it."""

    variable: str
    entity: Literal["individu", "famille", "foyer_fiscal", "menage"]
    period: Literal["month", "year"] = Field("month", description="computed for the current month or year")
    show: Literal["month", "year", "once", "flag", "participation"] = Field(
        "month",
        description="month/year: an amount per month/year; once: a one-off amount; flag: eligibility only; "
        "participation: what the person would pay per month",
    )
    label: str | None = Field(None, description="what this outcome is, e.g. « sans participation »")


class OpenFiscaSpec(Strict):
    """How the reference engine computes a scheme (engine: openfisca)."""

    outcomes: list[OpenFiscaOutcome] = Field(min_length=1, description="the first positive one is shown")
    facts: list[str] = Field(
        min_length=1, description="our facts that change OpenFisca's answer; asked before simulating"
    )


Thematique = Annotated[str, Field(pattern=r"^[a-z0-9-]+(--[a-z0-9- ]+)?$")]


class Scheme(Strict):
    id: str = Field(pattern=SLUG)
    name: str
    aliases: list[str] = Field(min_length=1)
    themes: list[Thematique] = Field(min_length=1)
    summary: str = Field(max_length=300)
    summary_en: str | None = Field(
        None, max_length=300, description="a faithful one-line English translation of `summary` (no new facts)"
    )
    description: str
    scope: Literal["national", "regional", "departemental", "local"] = "national"
    conditions: Conditions = Conditions()
    conditions_text: list[str] = []
    conditions_text_en: list[str] | None = Field(
        None, description="faithful English translations of `conditions_text`, item for item (no new facts)"
    )
    amount: str | None = None
    amount_en: str | None = Field(None, description="a faithful English translation of `amount`")
    steps: list[str] = Field(min_length=1)
    steps_en: list[str] | None = Field(
        None, description="faithful English translations of `steps`, item for item (no new facts)"
    )
    where_to_go: list[str] = Field(
        min_length=1, description="reseaux_porteurs codes or doors (communes, caf...)"
    )
    services: list[str] = []
    contacts: list[Contact] = Field(
        [], description="contacts the scheme names outside its services (e.g. a network's address for partners)"
    )
    status_note: str | None = None
    received_as: list[Situation] = Field(
        [], description="situations that mean the person already receives the scheme (au RSA: the RSA); "
        "it is not proposed to them again"
    )
    raised_for: list[Situation] = Field(
        [], description="situations in which people often miss the scheme (a low wage: the prime d'activité): "
        "once the person is known to be in one, it is raised beside whatever need they came for, as to check"
    )
    publics: list[str] = Field(
        [], description="who the scheme is meant for, as relevance, not eligibility (keys of publics.yml): it is "
        "not proposed to a person the known facts rule out (a mobility platform towards work for a woman of 70)"
    )
    premise: str | None = Field(
        None, description="the problem the scheme presupposes (« des loyers impayés »): it is shown only when the "
        "person's words are about it (the situation reader's relevance from PREMISE_MIN) or it is named, never "
        "to complete a need (no eviction prevention beside a report of mould)"
    )
    sources: list[Source] = Field(min_length=1)
    verified: dt.date
    engine: Literal["rules", "openfisca"] = Field(
        "rules", description="rules: `conditions` only; openfisca: `conditions`, then the amount by OpenFisca"
    )
    openfisca: OpenFiscaSpec | None = None

    @model_validator(mode="after")
    def _engine_spec(self) -> Scheme:
        if (self.engine == "openfisca") != (self.openfisca is not None):
            raise ValueError(f"{self.id}: `engine: openfisca` goes with an `openfisca:` block, and only then")
        return self

    @model_validator(mode="after")
    def _translations_item_for_item(self) -> Scheme:
        for field in ("steps", "conditions_text"):
            translated = getattr(self, f"{field}_en")
            if translated is not None and len(translated) != len(getattr(self, field)):
                raise ValueError(f"{self.id}: `{field}_en` translates `{field}` item for item")
        if self.amount_en is not None and self.amount is None:
            raise ValueError(f"{self.id}: `amount_en` without `amount`")
        return self

    def english_pairs(self) -> list[tuple[str, str]]:
        """Each French text of a translated field with its English (steps, conditions, amount)."""
        pairs = [*zip(self.steps, self.steps_en or [], strict=False),
                 *zip(self.conditions_text, self.conditions_text_en or [], strict=False)]
        if self.amount and self.amount_en:
            pairs.append((self.amount, self.amount_en))
        return pairs

    @field_validator("aliases")
    @classmethod
    def _aliases_not_blank(cls, v: list[str]) -> list[str]:
        if any(not a.strip() for a in v):
            raise ValueError("blank alias")
        return v


class Service(Strict):
    """A resident-facing service, data·inclusion v1 field names (plus `schemes`, `sources`)."""

    id: str = Field(pattern=SLUG)
    structure_id: str = Field(pattern=SLUG)
    structure_nom: str
    source: str = "aiguillage"
    nom: str = Field(min_length=3, max_length=150)
    description: str
    date_maj: dt.date
    thematiques: list[Thematique] = Field(min_length=1)
    publics: list[str] = []
    publics_precisions: str | None = None
    modes_accueil: list[Literal["en-presentiel", "a-distance"]] = ["en-presentiel"]
    zone_eligibilite: list[str] = Field(min_length=1)
    reseaux_porteurs: list[str] = []
    adresse: str | None = None
    complement_adresse: str | None = None
    commune: str | None = None
    code_postal: str | None = Field(None, pattern=r"^\d{5}$")
    code_insee: str | None = Field(None, pattern=r"^\w{5}$")
    departement: str | None = Field(None, description="département code, helps resolve `commune`")
    latitude: float | None = None
    longitude: float | None = None
    telephone: str | None = None
    courriel: str | None = None
    site_web: str | None = None
    horaires_accueil: str | None = None
    conditions_acces: str | None = None
    schemes: list[str] = []
    no_contact_door: str | None = Field(
        None, description="when the source gives no contact: the door that can connect the person"
    )
    no_contact_door_en: str | None = Field(None, description="a faithful English translation of `no_contact_door`")
    contact_audience: dict[ContactKind, Audience] = Field(
        {},
        description="who each contact is for; a contact not listed is for residents. Addresses meant for "
        "elected officials or partners (a mayor's own address, a person's address) are `professionals`: "
        "agents see them, residents do not",
    )
    sources: list[Source] = Field(min_length=1)

    @model_validator(mode="after")
    def _contact_or_door(self) -> Service:
        for kind in self.contact_audience:
            if not getattr(self, kind):
                raise ValueError(f"{self.id}: contact_audience names {kind}, which the service does not have")
        resident_facing = [
            k for k in ("telephone", "courriel", "site_web")
            if getattr(self, k) and self.contact_audience.get(k, Audience.residents) is Audience.residents
        ]  # fmt: skip
        if not resident_facing and not self.no_contact_door:
            raise ValueError(f"{self.id}: no contact for residents and no `no_contact_door`")
        return self


class EmergencyNumber(Strict):
    number: str
    name: str
    when: str
    sms: bool = False
    sources: list[Source] = Field(min_length=1)


class QuickReply(Strict):
    title: str
    title_en: str | None = Field(None, description="the button's title for a person writing in English")
    value: str | int | float | bool | None
    synonyms: list[str] = []


class Question(Strict):
    """A question the assistant can ask to learn one fact."""

    fact: str
    text: str
    text_other: str | None = Field(None, description="the same question about someone else (agents, ambassadeurs)")
    text_en: str | None = Field(None, description="the question in English")
    text_other_en: str | None = Field(None, description="the question about someone else, in English")
    help: str | None = None
    parser: Literal["age", "commune", "children", "choice", "yes_no", "money", "quotient", "integer", "years"]
    cost: int = Field(1, description="how heavy the question is for the person (sensitive ones cost more)")
    options: list[QuickReply] = []
    why: str = Field(description="why we ask, shown on 'pourquoi ?'")
    why_en: str | None = Field(None, description="why we ask, in English")

"""The facts known about a person, with their canonical names, and their normalisation.

Canonical facts (all optional):
  age: int                       commune: INSEE code (str)
  children_count: int            children_ages: list[float] (years; 14 months = 1.17)
  single_parent: bool            situation: one of knowledge.schema.Situation
  quotient_familial: float       monthly_income: float (household, per month)
  household_adults: int (1|2)    housing: one of knowledge.schema.Housing
  owns_vacant_dwelling: bool     pregnant: bool
  sex: "femme" | "homme" (only to leave out a place meant for the other: an action for women)
  vacant_dwelling_commune: INSEE code of the empty dwelling's commune (not the person's)
  vacant_dwelling_years: float (how long the dwelling has been empty, in years)
Income by kind and housing cost, for the benefits OpenFisca computes (euros per month, net):
  salary: float (the person's)   partner_salary: float (the partner's)
  unemployment_benefit: float    pension: float (retirement or invalidity)
  rent: float (without charges)  disability: bool (recognised by the MDPH)
`normalize_facts` also accepts French and looser names ("âge", "code_postal", "enfants",
"qf", "logement", "parent_isole"...) so agents can write facts files by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from knowledge.answers import parse_children, parse_money, parse_yes_no
from knowledge.schema import Housing, Situation
from knowledge.textnorm import fold

if TYPE_CHECKING:
    from knowledge.gazetteer import Gazetteer

FACT_NAMES = (
    "age", "commune", "children_count", "children_ages", "single_parent", "situation", "situation_also",
    "quotient_familial", "monthly_income", "household_adults", "housing", "owns_vacant_dwelling", "pregnant",
    "vacant_dwelling_commune", "vacant_dwelling_years",
    "salary", "partner_salary", "unemployment_benefit", "pension", "rent", "disability", "sex",
)  # fmt: skip
MONEY_FACTS = ("quotient_familial", "monthly_income", "salary", "partner_salary", "unemployment_benefit", "pension",
               "rent")  # fmt: skip

#: how to name a missing fact in a sentence ("Cela dépend de ...")
FACT_LABELS = {
    "vacant_dwelling_commune": "la commune du logement vide",
    "vacant_dwelling_years": "depuis combien de temps le logement est vide",
}

ALIASES = {
    "age": "age", "âge": "age", "age_personne": "age",
    "commune": "commune", "code_insee": "commune", "insee": "commune", "code_postal": "commune", "ville": "commune",
    "cp": "commune", "postal_code": "commune", "city": "commune", "lieu": "commune",
    "enfants": "children", "children": "children",
    "nombre_enfants": "children_count", "nb_enfants": "children_count", "children_count": "children_count",
    "ages_enfants": "children_ages", "âges_enfants": "children_ages", "children_ages": "children_ages",
    "age_enfants": "children_ages",
    "parent_isole": "single_parent", "parent_isolé": "single_parent", "monoparental": "single_parent",
    "famille_monoparentale": "single_parent", "single_parent": "single_parent",
    "situation": "situation", "situation_professionnelle": "situation",
    "situation_also": "situation_also", "autres_situations": "situation_also",
    "quotient_familial": "quotient_familial", "qf": "quotient_familial",
    "revenus": "monthly_income", "revenu": "monthly_income", "revenus_mensuels": "monthly_income",
    "monthly_income": "monthly_income", "income": "monthly_income",
    "adultes": "household_adults", "household_adults": "household_adults", "nombre_adultes": "household_adults",
    "logement": "housing", "housing": "housing", "statut_logement": "housing",
    "logement_vacant": "owns_vacant_dwelling", "proprietaire_logement_vacant": "owns_vacant_dwelling",
    "owns_vacant_dwelling": "owns_vacant_dwelling",
    "enceinte": "pregnant", "grossesse": "pregnant", "pregnant": "pregnant",
    "commune_logement_vacant": "vacant_dwelling_commune", "vacant_dwelling_commune": "vacant_dwelling_commune",
    "duree_vacance": "vacant_dwelling_years", "annees_vacance": "vacant_dwelling_years",
    "vacant_dwelling_years": "vacant_dwelling_years",
    "salary": "salary", "salaire": "salary", "salaire_net": "salary",
    "partner_salary": "partner_salary", "salaire_conjoint": "partner_salary",
    "unemployment_benefit": "unemployment_benefit", "chomage": "unemployment_benefit",
    "allocation_chomage": "unemployment_benefit", "are": "unemployment_benefit",
    "pension": "pension", "retraite": "pension", "pension_retraite": "pension",
    "rent": "rent", "loyer": "rent",
    "disability": "disability", "handicap": "disability",
}  # fmt: skip

SITUATION_WORDS: dict[str, list[str]] = {
    "demandeur_emploi": ["chomage", "chomeur", "chomeuse", "demandeur d emploi", "demandeuse d emploi",
                         "france travail", "pole emploi", "sans emploi", "recherche d emploi", "cherche du travail",
                         "cherche un emploi", "cherche un travail", "de", "unemployed", "job seeker", "inscrit ft",
                         "inscrite ft", "inscrit a france travail", "inscrite a france travail", "au chomage",
                         "perdu mon emploi", "perdu son emploi", "perdu mon travail", "perdu son travail",
                         "perdu mon taf", "perdu son taf", "perdu mon boulot", "perdu son boulot", "fin de cdd",
                         "fin de contrat", "licencie", "licenciee", "lost my job"],
    # the RSA named is not the RSA received (« comment fonctionne le RSA ? », « elle peut toucher le
    # RSA ? »): in free text the bare word is read by entities.SCHEME_OR_SITUATION, these say it
    "beneficiaire_rsa": ["rsa", "revenu de solidarite", "brsa", "beneficiaire du rsa", "beneficiaire rsa",
                         "beneficiaires du rsa", "allocataire du rsa", "allocataire rsa", "allocataires du rsa",
                         "touche le rsa", "touchons le rsa", "touchent le rsa", "touche rsa", "percois le rsa",
                         "percoit le rsa", "ai le rsa", "a le rsa", "avons le rsa", "ont le rsa", "vis du rsa",
                         "vit du rsa", "vivons du rsa", "vis avec le rsa", "vit avec le rsa", "suis rsa", "sous rsa",
                         "mon rsa", "son rsa", "notre rsa", "leur rsa", "referent rsa", "referente rsa", "rsa socle",
                         "que le rsa", "juste le rsa", "seulement le rsa", "perds le rsa", "perd le rsa",
                         "perdre le rsa", "perdrai le rsa", "garder le rsa", "garde le rsa", "toujours le rsa",
                         "on the rsa", "on rsa", "receive the rsa", "receives the rsa", "get the rsa", "gets the rsa"],
    "salarie": ["salarie", "salariee", "cdi", "cdd", "interim", "interimaire", "je travaille", "je bosse",
                "employe", "employee", "temps partiel", "ouvrier", "ouvriere", "employed", "travail", "boulot",
                "i work", "part time", "full time", "my job", "etre embauche", "etre embauchee", "suis embauche", "suis embauchee", "ete embauche", "ete embauchee",
                "mi temps", "temps plein",
                "repris un travail", "reprend un travail", "repris un emploi", "reprend un emploi", "got a job",
                "reprends un travail", "reprends un emploi", "reprise d emploi", "reprise emploi",
                # a wage said is work (« mon salaire c 1200 », « au smic »), and so is work taken back up
                "salaire", "mon salaire", "smic", "au smic", "my wage", "my salary", "repris le travail",
                "reprend le travail", "reprends le travail", "repris mon travail", "back to work",
                # a small job is work (held-out: « un petit boulot de ménage de 12 heures par semaine »)
                "petit boulot", "petits boulots", "heures par semaine"],
    "independant": ["independant", "independante", "auto entrepreneur", "micro entrepreneur", "artisan",
                    "commercant", "self employed", "freelance", "agriculteur", "agricultrice",
                    # a farm of one's own (held-out: « elle gagne rien avec sa petite exploitation »)
                    "exploitant", "exploitante", "mon exploitation", "son exploitation", "petite exploitation",
                    "exploitation agricole"],
    "en_formation": ["formation", "en formation", "commence une formation", "je fais une formation",
                     "je suis une formation", "une formation d", "une formation de", "entre en formation", "stage", "stagiaire", "apprenti", "apprentie", "apprentissage",
                     "alternance", "service civique", "cej", "contrat d engagement jeune", "garantie jeunes",
                     # a scheme named is not a scheme followed: in free text, these say it
                     "en service civique", "fais un service civique", "fait un service civique", "en cej",
                     "au cej", "signe un cej", "signe le cej", "en contrat d engagement jeune", "en garantie jeunes"],
    "etudiant": ["etudiant", "etudiante", "fac", "universite", "bts", "student", "licence", "master"],
    "scolaire": ["lyceen", "lyceenne", "lycee", "college", "collegien", "collegienne", "high school"],
    "retraite": ["retraite", "retraitee", "retraites", "retraitees", "a la retraite", "retired", "pension"],
    "sans_activite": ["ni emploi ni formation", "ni en emploi ni en formation", "sans emploi ni formation",
                      "ni travail ni formation", "sans travail ni formation", "sans taf ni formation", "ni taf ni formation",
                      "sans boulot ni formation", "ni etudes ni emploi", "ni emploi ni etudes", "neet",
                      "pas de formation", "aucune formation", "sans activite", "au foyer", "mere au foyer", "pere au foyer", "inactif", "inactive",
                      "invalidite", "arret maladie", "aah", "handicap", "rien", "ne travaille pas",
                      "je travaille pas",
                      # looking for a training place is not being in training yet (« a arrêté le lycée et
                      # cherche un apprentissage »: the CEJ's « sans emploi ni formation »)
                      "cherche un apprentissage", "cherche une alternance", "cherche une formation",
                      "recherche un apprentissage", "recherche une alternance", "recherche une formation",
                      "cherche un contrat d apprentissage", "cherche un patron", "cherche un employeur"],
}  # fmt: skip

#: when a message says two situations, the one that decides more rules is the person's `situation`
#: (« je cherche un emploi, je suis au RSA » is on the RSA: it is not proposed to someone who receives
#: it); the others are kept as `situation_also`, and a condition holds on any of them
SITUATION_PREVAILS: dict[str, set[str]] = {"beneficiaire_rsa": {"demandeur_emploi", "sans_activite"}}


def situations_of(facts: dict[str, Any]) -> list[str]:
    """The person's situation and the others said beside it."""
    first = facts.get("situation")
    return [s for s in [first, *(facts.get("situation_also") or [])] if s]

SEX_WORDS: dict[str, list[str]] = {
    "femme": ["femme", "f", "woman", "female"], "homme": ["homme", "h", "m", "man", "male"],
}  # fmt: skip

HOUSING_WORDS: dict[str, list[str]] = {
    "locataire": ["locataire", "je loue", "en location", "hlm", "logement social", "loyer", "bailleur social",
                  "tenant", "renting", "je paie un loyer", "i rent", "we rent", "renter", "social housing",
                  "coloc", "colocation", "en coloc", "colocataire",
                  "council flat",
                  # threatened with eviction: still housed (« on peut me mettre dehors quand ? »)
                  "mettre dehors", "me mettre a la porte", "etre expulse", "etre expulsee", "menace d expulsion",
                  "risque d expulsion",
                  # one's own rent behind (« loyer » alone may be anyone's)
                  "mon loyer", "notre loyer", "son loyer", "loyer en retard", "loyers en retard", "retard de loyer",
                  "retards de loyer", "impayes de loyer", "loyers impayes", "dette de loyer", "dettes de loyer",
                  "mois de loyer"],
    "proprietaire": ["proprietaire", "proprio", "je suis proprietaire", "je suis proprio", "on est proprietaires",
                     "nous sommes proprietaires", "proprietaire occupant", "owner", "ma maison", "j ai achete",
                     "accedant", "accession", "on a achete", "i own", "we own", "homeowner", "my own house",
                     # said of the person (« un couple de retraités propriétaires »), not of a landlord
                     "est proprietaire", "sont proprietaires", "retraites proprietaires", "couple proprietaire",
                     "couple de proprietaires", "proprietaires occupants", "proprietaire de sa maison",
                     "proprietaires de leur maison", "proprietaire de son logement", "owns her house",
                     "owns his house", "own their house"],
    "heberge": ["heberge", "hebergee", "chez mes parents", "chez ma mere", "chez mon pere", "chez un ami",
                "chez une amie", "chez ma soeur", "chez mon frere", "chez de la famille", "chez des amis",
                "hebergement", "foyer", "fjt", "living with", "with my parents", "with friends", "with family",
                "chez sa mere", "chez son pere", "chez ses parents", "chez sa soeur", "chez son frere",
                "chez sa fille", "chez son fils", "chez ma fille", "chez mon fils", "chez sa famille",
                "chez ma famille", "chez mes enfants", "chez ses enfants", "chez un copain", "chez une copine",
                "chez des potes", "chez un pote"],
    "sans_domicile": ["sans domicile", "sdf", "a la rue", "dehors", "dans ma voiture", "dans la rue",
                      "sans logement", "pas de logement", "homeless", "squat", "115", "on the street", "sleeping rough",
                      "in my car"],
}  # fmt: skip


class FactError(ValueError):
    """A fact that cannot be understood; the message is meant for a person."""


@dataclass
class NormalizedFacts:
    facts: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def _to_bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return bool(value)
    parsed = parse_yes_no(str(value))
    if parsed is None:
        raise FactError(f"« {name} » attend oui/non (true/false), reçu : {value!r}")
    return parsed


def _to_number(value: Any, name: str) -> float:
    if isinstance(value, bool):
        raise FactError(f"« {name} » attend un nombre, reçu : {value!r}")
    if isinstance(value, (int, float)):
        return float(value)
    parsed = parse_money(str(value))
    if parsed is None:
        raise FactError(f"« {name} » attend un nombre, reçu : {value!r}")
    return parsed


def match_enum(value: str, words: dict[str, list[str]]) -> str | None:
    """Map free text ("au chômage", "RSA", "proprio") to an enum value, or None."""
    from knowledge.answers import parse_choice

    folded = fold(value).replace(" ", "_")
    if folded in words:
        return folded
    return parse_choice(value, words)


def normalize_facts(raw: dict[str, Any], gazetteer: Gazetteer | None = None) -> NormalizedFacts:
    """Validate and canonicalise a facts dict (from a JSON file or the dialogue)."""
    if not isinstance(raw, dict):
        raise FactError('les faits doivent être un objet JSON {"nom": valeur}')
    out = NormalizedFacts()
    facts = out.facts
    for key, value in raw.items():
        name = ALIASES.get(fold(key).replace(" ", "_"), ALIASES.get(key))
        if name is None:
            out.warnings.append(f"fait inconnu ignoré : {key} (connus : {', '.join(FACT_NAMES)})")
            continue
        if value is None:
            continue
        if name == "age":
            age = _to_number(value, key)
            if not 0 <= age <= 120:
                raise FactError(f"âge invalide : {value!r}")
            facts["age"] = int(age)
        elif name == "commune":
            # an explicit INSEE key means the INSEE code, even where it is also a postal code
            # (59350 is Lille's INSEE code and Saint-André-lez-Lille's postal code)
            insee = fold(key) in ("code insee", "insee")
            facts["commune"] = _resolve_commune(str(value), gazetteer, insee=insee)
        elif name == "vacant_dwelling_commune":
            facts[name] = _resolve_commune(str(value), gazetteer, insee=True)
        elif name == "vacant_dwelling_years":
            years = _to_number(value, key)
            if not 0 <= years <= 200:
                raise FactError(f"durée de vacance invalide : {value!r}")
            facts[name] = years
        elif name == "children":
            if isinstance(value, list):
                facts["children_ages"] = [float(_to_number(v, key)) for v in value]
                facts["children_count"] = len(value)
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                facts["children_count"] = int(value)
            else:
                info = parse_children(str(value), expecting=True)
                if info is None:
                    raise FactError(f"enfants : je ne comprends pas {value!r}")
                if info.count is not None:
                    facts["children_count"] = info.count
                if info.ages:
                    facts["children_ages"] = info.ages
        elif name == "children_count":
            facts["children_count"] = int(_to_number(value, key))
        elif name == "children_ages":
            if not isinstance(value, list):
                raise FactError("« children_ages » attend une liste d'âges en années, ex. [3, 7]")
            facts["children_ages"] = [float(_to_number(v, key)) for v in value]
            facts.setdefault("children_count", len(value))
        elif name in ("single_parent", "owns_vacant_dwelling", "pregnant", "disability"):
            facts[name] = _to_bool(value, key)
        elif name in MONEY_FACTS:
            facts[name] = _to_number(value, key)
        elif name == "household_adults":
            facts[name] = max(1, min(2, int(_to_number(value, key))))
        elif name == "sex":
            matched = match_enum(str(value), SEX_WORDS)
            if matched is None:
                raise FactError(f"sexe inconnu : {value!r} (valeurs : femme, homme)")
            facts["sex"] = matched
        elif name == "situation":
            matched = match_enum(str(value), SITUATION_WORDS)
            if matched is None:
                raise FactError(
                    f"situation inconnue : {value!r} (valeurs : {', '.join(s.value for s in Situation)})"
                )
            facts["situation"] = matched
        elif name == "situation_also":  # other situations said beside the first (« au RSA, inscrit à France Travail »)
            values = value if isinstance(value, list) else [value]
            also = [match_enum(str(v), SITUATION_WORDS) for v in values]
            if None in also:
                raise FactError(f"situation inconnue : {value!r} (valeurs : {', '.join(s.value for s in Situation)})")
            facts["situation_also"] = also
        elif name == "housing":
            matched = match_enum(str(value), HOUSING_WORDS)
            if matched is None:
                raise FactError(
                    f"logement inconnu : {value!r} (valeurs : {', '.join(h.value for h in Housing)})"
                )
            facts["housing"] = matched
    ages = facts.get("children_ages")
    if ages is not None and "children_count" in facts and facts["children_count"] < len(ages):
        facts["children_count"] = len(ages)
    return out


def _resolve_commune(value: str, gazetteer: Gazetteer | None, insee: bool = False) -> str:
    if gazetteer is None:
        from knowledge.gazetteer import Gazetteer

        gazetteer = Gazetteer.load()
    commune = (gazetteer.get(value) if insee else None) or gazetteer.resolve(value)
    if commune is None:
        raise FactError(f"commune introuvable : {value!r} (nom, code postal ou code INSEE)")
    return commune.code_insee

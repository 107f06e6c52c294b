"""French commune gazetteer: every current commune (plus Paris/Lyon/Marseille arrondissements).

Data built by scripts/build_gazetteer.py into knowledge/data/ (see docs/gazetteer.md):
INSEE codes, names, postal codes, département, région, EPCI, population, coordinates.

    gaz = Gazetteer.load()
    gaz.resolve("st omer")                              # -> Commune Saint-Omer (62)
    gaz.find_in_text("j'habite a bethune avec mes 2 enfants")  # -> [(Béthune, "bethune")]
    gaz.nearest(50.447, 2.648)                          # -> Hersin-Coupigny
"""

from __future__ import annotations

import bisect
import csv
import functools
import gzip
import math
import re
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
from rapidfuzz import fuzz, process

from knowledge.textnorm import fold, fold_place

DATA_DIR = Path(__file__).resolve().parent / "data"
EARTH_RADIUS_KM = 6371.0088

# Lower is better: used to break ties between communes at the same place.
PRECISION_ORDER = {"exact": 0, "mairie": 1, "nom-geonames": 2, "approx-ancienne-commune": 3, "approx-commune-parente": 4}

MAX_TEXT = 4000  # a longer message is read on its first MAX_TEXT characters
_CODE_INSEE = re.compile(r"^(?:\d{5}|2[AB]\d{3})$", re.IGNORECASE)
_POSTAL = re.compile(r"^\d{5}$")
_TRAILING_AREA = re.compile(r"^(?P<name>.*?\D)[\s,(]+(?P<area>\d{5}|\d{2,3}|2[ab])\)?$", re.IGNORECASE)
_WORD = re.compile(r"[^\W_]+")
_POSTAL_IN_TEXT = re.compile(r"(?<![\d.,])(\d{5})(?![\d.,]*\d)")
_NOT_A_POSTAL_CODE = re.compile(
    r"^\s*(?:€|euros?\b|eur\b|e\b|k€|km\b|kms\b|m\b|ans?\b|mois\b|hab\b|habitants\b|fois\b|personnes\b|"
    r"par an\b|par mois\b|/an\b|/mois\b|net\b|brut\b)",
    re.IGNORECASE,
)


#: columns of knowledge/data/communes.csv.gz (written by scripts/build_gazetteer.py)
COMMUNE_COLUMNS = [
    "code_insee",
    "nom",
    "codes_postaux",
    "departement",
    "region",
    "epci",
    "population",
    "latitude",
    "longitude",
    "precision",
    "arrondissement_de",
    "rang_mot_courant",
    "anciens_noms",
]


@dataclass(frozen=True, slots=True)
class Commune:
    """A current commune (or a municipal arrondissement, with `arrondissement_de` set)."""

    code_insee: str
    nom: str
    codes_postaux: tuple[str, ...]
    departement: str
    region: str
    epci: str | None
    population: int | None
    latitude: float
    longitude: float
    precision: str
    arrondissement_de: str | None = None

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """Pickled as its values: the default of a slotted dataclass (a Python __setstate__ calling
        fields() for each of the 35,014 communes) doubled the cached gazetteer's load time."""
        return (Commune, tuple(getattr(self, name) for name in _COMMUNE_FIELDS))

    @property
    def is_arrondissement(self) -> bool:
        return self.arrondissement_de is not None

    @property
    def exact_position(self) -> bool:
        return self.precision == "exact"


_COMMUNE_FIELDS = tuple(f.name for f in fields(Commune))


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def place_key(text: str) -> str:
    """Comparable form of a place name: accents, case, hyphens, "st"/"ste", "s/" ("sur") folded."""
    words = fold_place(text).split()
    return " ".join("sur" if w == "s" and 0 < i < len(words) - 1 else w for i, w in enumerate(words))


def _elision_variant(key: str) -> str:
    """ "l abergement" -> "labergement", "villeneuve d ascq" -> "villeneuve dascq"."""
    if not (key.startswith(("l ", "d ")) or " l " in key or " d " in key):
        return key
    return re.sub(r"\b([ld]) (?=[a-z])", r"\1", key)


def _arrondissement_aliases(key: str) -> list[str]:
    match = re.match(r"^(\D+?) (\d+)(?:er|e) arrondissement$", key)
    if not match:
        return []
    city, n = match.group(1), match.group(2)
    suffixes = ["", "e", "eme", *(["er", "ere"] if n == "1" else [])]
    return [f"{city} {n}{s}{tail}" for s in suffixes for tail in ("", " arrondissement")]


# ---------------------------------------------------------------------------- free-text cues


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Residence verbs ("j'habite a", "je vis sur", "on loge pres de"): the strongest cue.
_RESIDENCE_VERBS = _words(
    "habite habites habitons habitez habitent habitais habitait habiter jhabite "
    "vis vit vivons vivez vivent vivais vivait vivre jvis "
    "reside resides residons residez resident residais demeure demeurons "
    "loge loges logeons logee heberge hebergee hebergees domicilie domiciliee "
    "installe installes installee installees demenage demenagee demenages"
)
# Verbs taking the place directly ("j'habite Arras").
_DIRECT_VERBS = _words("habite habites habitons habitez habitent habitais habitait jhabite")
# Being/working somewhere ("je suis a", "on est sur", "je travaille a").
_BEING_VERBS = _words(
    "suis jsuis jsui chui chuis sommes est sont etes etais etait reste restons "
    "ne nee travaille travailles travaillons bosse arrive arrivee arrives"
)
# Origin words taking "de" ("je viens de", "originaire de", "habitant de").
_FROM_WORDS = _words(
    "viens vient venons venez viennent venu venue originaire originaires natif native habitant habitante habitants"
)
# "commune de X", "mairie d'X": as strong as a residence verb.
_RESIDENCE_NOUNS = _words("commune ville village mairie ccas cias")
# "pres de X", "secteur de X", "pas loin de X".
_AREA_NOUNS = _words(
    "secteur quartier region cote pres proche autour environs alentours coin banlieue agglo "
    "agglomeration canton loin"
)
# "pres de X", "a cote de X": X is a landmark, ranked after the place the person is in.
_NEAR_WORDS = _words("pres cote loin proche autour environs alentours")
_ADVERBS = _words("pas juste aussi encore toujours maintenant actuellement desormais")
_AT_PREPS = _words("a au aux sur vers dans")
_OF_PREPS = _words("de d du des")
_ARTICLES = _words("le la les l")
_FILLERS = _words(
    "je j on nous moi c ca ici la le les l en et y bonjour bonsoir salut euh ben bah alors "
    "ma mon mes notre nos a au aux sur vers de d du des dans pres cote commune ville village"
)
# Never taken as a commune name alone in free text (numbers and words of the domain).
_EXTRA_COMMON = _words(
    "un deux trois quatre cinq six sept huit neuf dix onze douze treize quatorze quinze seize vingt "
    "trente quarante cinquante soixante cent mille entre merci bonjour travail emploi logement aide aides"
)
_CUE_WORDS = (
    _RESIDENCE_VERBS
    | _BEING_VERBS
    | _FROM_WORDS
    | _RESIDENCE_NOUNS
    | _AREA_NOUNS
    | _AT_PREPS
    | _OF_PREPS
    | _FILLERS
)
_NOT_NAMES = _CUE_WORDS | _EXTRA_COMMON
# Name words that do not make a short form on their own ("Saint-Pol" yes, "Saint" no).
_CONNECTORS = _words("sur sous en la le les lez l de d du des aux au et saint sainte saints saintes")
# Money context: a 5-digit number after these is not a postal code ("revenu fiscal 14000").
_MONEY_WORDS = _words(
    "revenu revenus rfr fiscal reference salaire salaires loyer loyers dette dettes qf quotient gagne touche "
    "paye payer montant somme credit pret epargne facture smic net brut annuel annuelle euros declare declarons "
    "environ"
)
_SAINTS = _words("saint sainte saints saintes")
_ARTICLE_FOR = {"au": "le", "aux": "les", "du": "le", "des": "les"}
_DEP_NUMBER = re.compile(r"\b(?:le|du|departement|dpt|dept|dep)\s+(\d{2}|2a|2b|97\d)\b")
_DEP_IN_BRACKETS = re.compile(r"\((\d{2}|2[AB]|97\d)\)", re.IGNORECASE)

RESIDENCE, LOCATIVE, BARE = 3, 2, 1  # cue strengths
#: the régions the assistant covers (Hauts-de-France, Île-de-France): among homonyms with no other
#: clue, theirs comes first ("Saint-Denis" is 93066, not La Réunion), unless 20 times smaller
COVERED_REGIONS = ("32", "11")
COVERED_POPULATION_RATIO = 20
_CLAUSE_END = re.compile(r"[,.;:!?\n()]")
#: words that start a new clause or complement after a place ("je suis a eu depuis 2 ans")
_CLAUSE_WORDS = _words(
    "et avec mais depuis pour car donc je j on nous il elle ils elles c est ou dans pres cote "
    "and with but since in near for merci svp stp"
)


@dataclass(frozen=True, slots=True)
class _Context:
    before: str  # the word before the name
    ends_clause: bool  # nothing after the name, punctuation, or a clause word


def _ends_clause(text: str, tokens: list[_Token], keys: list[str], end: int) -> bool:
    if end >= len(tokens):
        return True
    between = text[tokens[end - 1].end : tokens[end].start]
    return bool(_CLAUSE_END.search(between)) or keys[end] in _CLAUSE_WORDS or keys[end].isdigit()


@dataclass(frozen=True, slots=True)
class _Token:
    key: str
    start: int
    end: int
    title: bool  # "Vienne", not "vienne" nor "VIF"


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    for m in _WORD.finditer(text):
        word = m.group()
        title = word[:1].isupper() and not (len(word) > 1 and word.isupper())
        for part in fold_place(word).split():
            out.append(_Token(part, m.start(), m.end(), title))
    return out


def _cue(keys: list[str], i: int) -> int:
    """Strength of the location cue right before token i: RESIDENCE, LOCATIVE, BARE or 0."""
    prev, prev2, prev3 = (keys[i - k] if i >= k else "" for k in (1, 2, 3))
    if prev in _DIRECT_VERBS or prev in _RESIDENCE_NOUNS:
        return RESIDENCE
    if prev in _AT_PREPS:
        verb = prev3 if prev2 in _ADVERBS else prev2
        if verb in _RESIDENCE_VERBS or verb in _RESIDENCE_NOUNS:
            return RESIDENCE
        if verb in _BEING_VERBS or verb in _AREA_NOUNS:
            return LOCATIVE
        return BARE
    if prev in _OF_PREPS:
        if prev2 in _FROM_WORDS or prev2 in _RESIDENCE_NOUNS:
            return RESIDENCE
        if prev2 in _AREA_NOUNS:
            return LOCATIVE
        return BARE
    return 0


EXACT, SHORT, FUZZY = 0, 1, 2  # kinds of spot, best first


@dataclass(slots=True)
class _Spot:
    key: str
    candidates: list[Commune]  # most populated first
    start: int  # token indexes, end exclusive
    end: int
    cue: int
    kind: int = EXACT
    near: bool = False

    @property
    def size(self) -> int:
        return self.end - self.start

    def overlaps(self, start: int, end: int) -> bool:
        return self.start < end and start < self.end


@dataclass(frozen=True, slots=True)
class _Area:
    """A département or région named in the text ("Pas-de-Calais", "dans l'Aisne")."""

    start: int
    end: int
    kind: str  # "dep" or "reg"
    code: str


# ---------------------------------------------------------------------------- gazetteer


class Gazetteer:
    """In-memory gazetteer. Use `Gazetteer.load()` (cached) rather than the constructor."""

    GRID_DEG = 0.1

    def __init__(
        self,
        communes: list[Commune],
        departements: dict[str, tuple[str, str]],
        regions: dict[str, str],
        epcis: dict[str, str],
        word_ranks: dict[str, int] | None = None,
        former_names: dict[str, list[str]] | None = None,
    ) -> None:
        self._by_code = {c.code_insee: c for c in communes}
        self._departements = departements
        self._regions = regions
        self._epcis = epcis
        self._by_postal: dict[str, list[Commune]] = defaultdict(list)
        self._by_key: dict[str, list[Commune]] = defaultdict(list)
        ranks: dict[str, int] = {}
        for c in communes:
            for cp in c.codes_postaux:
                self._by_postal[cp].append(c)
            key = place_key(c.nom)
            keys = {key, _elision_variant(key)}
            if c.is_arrondissement:
                keys.update(_arrondissement_aliases(key))
            elif word_ranks and c.code_insee in word_ranks:
                ranks[key] = word_ranks[c.code_insee]
            for k in keys:
                self._by_key[k].append(c)
        # Names of former communes merged into a current one ("Bermeries" -> L'Orée de Mormal),
        # unless a current name is or starts with it ("Boulogne", merged into Essarts-en-Bocage).
        current = sorted(self._by_key)
        self._former: set[str] = set()
        for code, olds in (former_names or {}).items():
            for old in olds:
                key = place_key(old)
                for k in {key, _elision_variant(key)}:
                    i = bisect.bisect_left(current, k)
                    if i == len(current) or not (current[i] == k or current[i].startswith(k + " ")):
                        self._by_key[k].append(self._by_code[code])
                        self._former.add(k)
        for group in self._by_postal.values():
            group.sort(key=lambda c: (c.is_arrondissement, -(c.population or 0), c.code_insee))
        for group in self._by_key.values():
            group.sort(key=lambda c: (-(c.population or 0), c.is_arrondissement, c.code_insee))
        self._keys = sorted(self._by_key)
        self._keys_by_dep: dict[str, list[str]] = defaultdict(list)
        for key in self._keys:
            for dep in {c.departement for c in self._by_key[key]}:
                self._keys_by_dep[dep].append(key)
        self._word_ranks = ranks
        self._ambiguous = {key for key in self._keys if self._is_ambiguous(key, ranks.get(key))}
        self._short = _short_forms(self._by_key)
        self._areas = _area_keys(departements, regions)
        self._max_words = max(len(k.split()) for k in [*self._keys, *self._areas])
        self._grid: dict[tuple[int, int], list[Commune]] = defaultdict(list)
        self._points = [c for c in communes if not (c.is_arrondissement and not c.exact_position)]
        for c in self._points:
            self._grid[self._cell(c.latitude, c.longitude)].append(c)
        self._lat = np.array([c.latitude for c in self._points])
        self._lon = np.array([c.longitude for c in self._points])
        self._rank = np.array([PRECISION_ORDER.get(c.precision, 9) for c in self._points])

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(cls, path: str | Path | None = None) -> Gazetteer:
        """Load (once per path, then cached) from knowledge/data/ or a given folder."""
        folder = Path(path) if path is not None else DATA_DIR
        if folder.is_file():
            folder = folder.parent
        return _load_cached(folder.resolve())

    @classmethod
    def from_folder(cls, folder: Path) -> Gazetteer:
        communes: list[Commune] = []
        ranks: dict[str, int] = {}
        formers: dict[str, list[str]] = {}
        with gzip.open(folder / "communes.csv.gz", "rt", encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh)
            col = {name: i for i, name in enumerate(next(reader))}
            code, nom, cps, dep, reg, epci, pop, lat, lon, prec, parent, rank, former = (
                col[name] for name in COMMUNE_COLUMNS
            )
            for r in reader:
                communes.append(
                    Commune(
                        code_insee=r[code],
                        nom=r[nom],
                        codes_postaux=tuple(r[cps].split()),
                        departement=r[dep],
                        region=r[reg],
                        epci=r[epci] or None,
                        population=int(r[pop]) if r[pop] else None,
                        latitude=float(r[lat]),
                        longitude=float(r[lon]),
                        precision=r[prec],
                        arrondissement_de=r[parent] or None,
                    )
                )
                if r[rank]:
                    ranks[r[code]] = int(r[rank])
                if r[former]:
                    formers[r[code]] = r[former].split("|")
        departements = {r["code"]: (r["nom"], r["region"]) for r in _read_csv(folder / "departements.csv")}
        regions = {r["code"]: r["nom"] for r in _read_csv(folder / "regions.csv")}
        epcis = {r["code"]: r["nom"] for r in _read_csv(folder / "epcis.csv")}
        exonyms = folder / "exonyms.csv"  # the English names of a few towns (« Dunkirk »), read like former names
        for row in _read_csv(exonyms) if exonyms.exists() else []:
            formers.setdefault(row["code_insee"], []).append(row["name"])
        return cls(communes, departements, regions, epcis, ranks, formers)

    # ------------------------------------------------------------------ lookups
    def __len__(self) -> int:
        return len(self._by_code)

    def __iter__(self) -> Iterator[Commune]:
        return iter(self._by_code.values())

    def get(self, code_insee: str) -> Commune | None:
        return self._by_code.get(code_insee.strip().upper())

    def commune_of(self, commune: Commune) -> Commune:
        """The commune itself, or for an arrondissement its city (Paris, Lyon, Marseille)."""
        if commune.arrondissement_de:
            return self._by_code.get(commune.arrondissement_de, commune)
        return commune

    def by_postal_code(self, cp: str) -> list[Commune]:
        """Communes served by a postal code: communes first (most populated first), then arrondissements."""
        return list(self._by_postal.get(cp.strip().replace(" ", ""), []))

    def by_name(self, name: str) -> list[Commune]:
        """Exact (folded) name matches, homonyms most populated first; a former commune's name
        ("Bermeries") gives the commune it merged into, unless a current name is or starts with it."""
        return list(self._by_key.get(place_key(name), []))

    def departement_name(self, code: str) -> str | None:
        entry = self._departements.get(code.strip().upper())
        return entry[0] if entry else None

    def region_of_departement(self, code: str) -> str | None:
        entry = self._departements.get(code.strip().upper())
        return entry[1] if entry else None

    def region_name(self, code: str) -> str | None:
        return self._regions.get(code.strip())

    def areas_named(self, text: str) -> tuple[set[str], set[str]]:
        """The départements (by name or number: « dans le 59 », « (62) ») and the régions a text names."""
        areas = self._areas_in([t.key for t in _tokens(text[:MAX_TEXT])])
        departements = {a.code for a in areas if a.kind == "dep"} | self._departement_numbers(text)
        return departements, {a.code for a in areas if a.kind == "reg"}

    def epci_name(self, code: str) -> str | None:
        return self._epcis.get(code.strip())

    # ------------------------------------------------------------------ search
    def search(self, text: str, departement: str | None = None, limit: int = 5) -> list[Commune]:
        """Best candidates for a typed commune name, INSEE code or postal code."""
        return [c for c, _ in self.search_scored(text, departement, limit)]

    def search_scored(
        self, text: str, departement: str | None = None, limit: int = 5, exact_enough: bool = False
    ) -> list[tuple[Commune, float]]:
        """Like `search`, with a 0-100 score: 100 exact name/code, 94 name prefix, else fuzzy ratio.
        `exact_enough`: an exact name gives its homonyms only, without the near names (whose fuzzy
        scoring over every commune is most of the time of a turn that names one)."""
        query = text.strip()
        dep = departement.strip().upper() if departement else None
        if _POSTAL.match(query) or _CODE_INSEE.match(query):
            found = self.by_postal_code(query)
            by_code = self.get(query)
            if by_code is not None and by_code not in found:
                found.append(by_code)
            return [(c, 100.0) for c in found if dep is None or c.departement == dep][:limit]
        postal: str | None = None
        match = None if place_key(query) in self._by_key else _TRAILING_AREA.match(query)
        if match:
            area = match.group("area").upper()
            if len(area) == 5:
                postal = area
            elif area in self._departements and dep is None:
                dep = area
            query = match.group("name")
        key = place_key(query)
        if not key:
            return []

        def said(c: Commune) -> bool:  # inside the département and postal code said with the name
            return (dep is None or c.departement == dep) and (postal is None or postal in c.codes_postaux)

        exact = exact_enough and any(said(c) for c in self._by_key.get(key, ()))
        scores = {key: 100.0} if exact else self._score_keys(key, dep)
        results = [(c, score) for cand, score in scores.items() for c in self._by_key[cand] if said(c)]
        results.sort(key=lambda cs: (-cs[1], -(cs[0].population or 0), cs[0].code_insee))
        seen: set[str] = set()
        unique = [(c, s) for c, s in results if not (c.code_insee in seen or seen.add(c.code_insee))]
        return unique[:limit]

    def _score_keys(self, key: str, dep: str | None) -> dict[str, float]:
        choices = self._keys_by_dep.get(dep, []) if dep else self._keys
        scores: dict[str, float] = {}
        if key in self._by_key:
            scores[key] = 100.0
        # Name prefix on a word boundary: "hersin" -> "hersin coupigny", "boulogne" -> "boulogne sur mer"...
        if len(key) >= 4:
            for cand in self._prefixed(key):
                scores.setdefault(cand, 94.0)
        for cand, score, _ in process.extract(key, choices, scorer=fuzz.ratio, limit=20, score_cutoff=70):
            if cand not in scores or scores[cand] < score:
                scores[cand] = float(score)
        return scores

    def resolve(self, text: str, departement: str | None = None) -> Commune | None:
        """One commune for a typed answer ("bethune", "62530", "St-Omer"), or None when unsure.

        Homonyms resolve to the most populated one; a postal code shared by several communes
        resolves to its most populated commune (use `by_postal_code` to offer the choice).
        """
        scored = self.search_scored(text, departement, limit=5, exact_enough=True)  # an exact name decides
        if not scored:
            return None
        best, score = scored[0]
        if score >= 100:
            if departement is None:
                same = [c for c, sc in scored if sc >= 100 and place_key(c.nom) == place_key(best.nom)]
                return _prefer_covered(same)
            return best
        if score < 88:
            return None
        runner_up = next((s for c, s in scored[1:] if place_key(c.nom) != place_key(best.nom)), 0.0)
        return best if score - runner_up >= 3 else None

    # ------------------------------------------------------------------ free text
    def find_in_text(
        self, text: str, known_departements: Iterable[str] | None = None
    ) -> list[tuple[Commune, str]]:
        """Communes mentioned in a free-text message, best first, with the text that names them.

        Places after "pres de", "a cote de", "pas loin de" come after the others (landmarks).
        Names that are also common French words ("Bois", "Eu", "Tours", "L'Hôpital"...) or very
        short need a location cue ("j'habite", "je suis a", "commune de") or a capital letter
        after a preposition. Short forms ("Bruay", "Le Touquet", "Hénin") are accepted with a cue
        or a capital letter. A postal code or a département ("dans le 62", "(93)", "dans l'Aisne")
        in the same message picks among homonyms; a postal code alone gives its most populated
        commune. With no such clue, `known_departements` (from earlier in the conversation) pick,
        else the covered régions come first (Saint-Denis 93 before Saint-Denis 974). Use `search`
        on the returned text to offer the other homonyms.
        """
        text = text[:MAX_TEXT]
        tokens = self._unstick_elisions(_tokens(text))
        keys = [t.key for t in tokens]
        areas = self._areas_in(keys)
        deps = {a.code for a in areas if a.kind == "dep"} | self._departement_numbers(text)
        regions = {a.code for a in areas if a.kind == "reg"}
        known_deps = set() if deps else set(known_departements or ())
        postal = list(self._postal_codes_in(text))
        # a département or région named beside a commune is no other content (« Albert, dans la Somme »
        # answers « dans quelle commune ? » as « Albert » does; simulated users, round 44, sc-097)
        in_areas = {k for a in areas for k in range(a.start, a.end)}
        named = self._name_spots(text, tokens, keys, in_areas)
        fuzzy = self._fuzzy_spots(keys, {s.start for s in named})
        spots = [s for s in named + fuzzy if not self._masked(s, areas)]
        chosen: list[_Spot] = []
        for spot in sorted(spots, key=lambda s: (-s.size, s.kind, -s.cue, -_pop(s.candidates[0]))):
            if not any(spot.overlaps(o.start, o.end) for o in chosen):
                chosen.append(spot)
        for spot in chosen:
            spot.near = spot.start >= 1 and (
                keys[spot.start - 1] in _NEAR_WORDS
                or (
                    spot.start >= 2
                    and keys[spot.start - 1] in _OF_PREPS
                    and keys[spot.start - 2] in _NEAR_WORDS
                )
            )
        chosen.sort(key=lambda s: (s.near, -s.cue, s.kind, -s.size, s.start))
        found: list[tuple[Commune, str]] = []
        for spot in chosen:
            commune = self._pick(spot, [cp for cp, _ in postal], deps | known_deps, regions)
            if all(commune.code_insee != c.code_insee for c, _ in found):
                found.append((commune, text[tokens[spot.start].start : tokens[spot.end - 1].end]))
        for cp, communes in postal:
            if not any(cp in c.codes_postaux for c, _ in found):
                in_dep = [c for c in communes if c.departement in deps]
                found.append(((in_dep or communes)[0], cp))
        return found

    def _unstick_elisions(self, tokens: list[_Token]) -> list[_Token]:
        """« la mission locale dabbeville », « jvais larras »: an elided « d' » or « l' » typed without
        its apostrophe, stuck to a one-word commune name that is no common French word. The whole
        token must be neither a commune nor a word (« lavaur », « dame » stay as they are)."""
        out: list[_Token] = []
        for token in tokens:
            key, rest = token.key, token.key[1:]
            if (len(key) >= 6 and key[0] in "dl" and key not in self._by_key and key not in self._word_ranks
                    and rest in self._by_key and rest not in self._ambiguous and self._rare_word(rest)):
                out += [_Token(key[0], token.start, token.start + 1, False),
                        _Token(rest, token.start + 1, token.end, token.title)]
            else:
                out.append(token)
        return out

    def _name_spots(self, text: str, tokens: list[_Token], keys: list[str],
                    in_areas: Collection[int] = ()) -> list[_Spot]:
        spots: list[_Spot] = []
        # content words before each index, so "is everything else filler?" is O(1) (was O(n) per window)
        content_before = [0]
        for index, k in enumerate(keys):
            content_before.append(content_before[-1] + (k not in _FILLERS and index not in in_areas))
        total = content_before[-1]
        titles_before = [0]
        for t in tokens:
            titles_before.append(titles_before[-1] + (t.title and t.key not in _ARTICLES))
        for i in range(len(keys)):
            cue = _cue(keys, i)
            for n in range(1, min(self._max_words, len(keys) - i) + 1):
                window = " ".join(keys[i : i + n])
                variants = [window]
                if i > 0 and keys[i - 1] in _ARTICLE_FOR:  # "au Mans" -> "le mans"
                    variants.append(f"{_ARTICLE_FOR[keys[i - 1]]} {window}")
                title = titles_before[i + n] > titles_before[i]
                whole = total - (content_before[i + n] - content_before[i]) == 0
                if i > 0 and text[tokens[i].start - 1 : tokens[i].start] == "-" and not title:
                    continue  # "centre-bourg", "rez-de-chaussée": the end of a compound word
                for variant in variants:
                    if variant in self._by_key and self._accept(
                        variant, cue, title, whole, variant != window, i,
                        _Context(keys[i - 1] if i else "", _ends_clause(text, tokens, keys, i + n)),
                    ):
                        spots.append(_Spot(variant, self._by_key[variant], i, i + n, cue))
                    elif variant in self._short and (i > 0 or whole) and (
                        title or (cue == RESIDENCE and (variant.split()[0] in _SAINTS  # "je vis a saint-pol"
                                                        or (self._rare_word(variant)  # "jhabite hersin"
                                                            and _right_after_residence(keys, i))))
                    ):
                        # Short forms are often ordinary words ("garde", "la maison"): capitals only,
                        # or a word that is no common French word right after "j'habite".
                        spots.append(_Spot(variant, self._short[variant], i, i + n, cue, SHORT))
        return spots

    def _accept(
        self, key: str, cue: int, title: bool, whole: bool, with_article: bool, start: int,
        context: _Context | None = None,
    ) -> bool:
        if key in _CUE_WORDS:  # "Vers", "Ville": cue words themselves
            return False
        if key in self._former:  # small merged villages ("Flat"): capitals only, like short forms
            return title and (start > 0 or whole)
        if key not in self._ambiguous:
            return True
        if whole and self._rare_word(key):  # "ham" alone answers "where?"; "eu" alone does not
            return True
        if context is not None and not title and not with_article:
            if context.before in _ARTICLE_FOR:  # "au courant", "aux abois": a commune after "au" is "Le X"
                return False
            if cue == LOCATIVE and not context.ends_clause:  # "on est a son compte"
                return False
        starts_with_article = with_article or key.split()[0] in _ARTICLES  # "a l'hopital"
        return (
            cue == RESIDENCE
            or (cue == LOCATIVE and (title or not starts_with_article))
            or (title and (cue == BARE or whole))
        )

    def _rare_word(self, key: str) -> bool:
        """A one-word name that is no common French word (no frequency rank, or a rank past 5,000)."""
        rank = self._word_ranks.get(key)
        return " " not in key and len(key) >= 3 and (rank is None or rank > 5_000)

    def _fuzzy_spots(self, keys: list[str], named_starts: set[int]) -> list[_Spot]:
        """Small typos after a residence cue: "j'habite a bethunes", "je vis a hersin coupignie"."""
        spots: list[_Spot] = []
        for i in range(1, len(keys)):
            if i in named_starts or _cue(keys, i) != RESIDENCE or keys[i] in _NOT_NAMES:
                continue
            for n in range(1, min(3, len(keys) - i) + 1):
                window = " ".join(keys[i : i + n])
                if len(window) < 5 or window in self._by_key or window in self._short:
                    continue
                cutoff = 85.0 if len(window) >= 9 else 88.0
                best = process.extractOne(window, self._keys, scorer=fuzz.ratio, score_cutoff=cutoff)
                if best is not None and best[0] not in self._ambiguous:
                    spots.append(_Spot(best[0], self._by_key[best[0]], i, i + n, RESIDENCE, FUZZY))
        return spots

    def _areas_in(self, keys: list[str]) -> list[_Area]:
        areas: list[_Area] = []
        for i in range(len(keys)):
            for n in range(1, min(self._max_words, len(keys) - i) + 1):
                for kind, code in self._areas.get(" ".join(keys[i : i + n]), ()):
                    areas.append(_Area(i, i + n, kind, code))
        return areas

    def _masked(self, spot: _Spot, areas: list[_Area]) -> bool:
        """A commune inside a longer area name ("Calais" in "Pas-de-Calais"), or a small commune
        named like an area ("La Réunion" in Lot-et-Garonne, "Bretagne")."""
        for area in areas:
            if not spot.overlaps(area.start, area.end):
                continue
            if area.end - area.start > spot.size:
                return True
            top = spot.candidates[0]
            inside = top.departement == area.code if area.kind == "dep" else top.region == area.code
            if not inside and _pop(top) < 10_000:
                return True
        return False

    def _departement_numbers(self, text: str) -> set[str]:
        found = [m.group(1) for m in _DEP_NUMBER.finditer(fold(text))]
        found += [m.group(1) for m in _DEP_IN_BRACKETS.finditer(text)]
        return {code.upper() for code in found if code.upper() in self._departements}

    def _postal_codes_in(self, text: str) -> Iterator[tuple[str, list[Commune]]]:
        for m in _POSTAL_IN_TEXT.finditer(text):
            before = fold(text[: m.start()]).split()[-3:]
            if _NOT_A_POSTAL_CODE.match(text[m.end() :]) or any(w in _MONEY_WORDS for w in before):
                continue
            communes = self.by_postal_code(m.group(1))
            if communes:
                yield m.group(1), communes

    def _pick(self, spot: _Spot, postal_codes: list[str], deps: set[str], regions: set[str] = frozenset()) -> Commune:
        """Among homonyms (and names starting the same way), the one a postal code or département points to."""
        for cp in postal_codes:
            for c in self._by_postal.get(cp, []):
                key = place_key(c.nom)
                if key == spot.key or key.startswith(spot.key + " "):
                    return c
        if deps:
            in_dep = [c for c in spot.candidates if c.departement in deps]
            if not in_dep:
                in_dep = [
                    c for k in self._prefixed(spot.key) for c in self._by_key[k] if c.departement in deps
                ]
            if in_dep:
                return max(in_dep, key=_pop)
        if regions and (in_region := [c for c in spot.candidates if c.region in regions]):
            return max(in_region, key=_pop)
        return _prefer_covered(spot.candidates)

    def _prefixed(self, key: str) -> list[str]:
        """Names that start with `key` followed by more words ("montreuil" -> "montreuil sur mer")."""
        i = bisect.bisect_left(self._keys, key + " ")
        out: list[str] = []
        while i < len(self._keys) and self._keys[i].startswith(key + " "):
            out.append(self._keys[i])
            i += 1
        return out

    def _is_ambiguous(self, key: str, rank: int | None) -> bool:
        """Whether the name is also an ordinary French phrase and needs a cue in free text."""
        communes = self._by_key[key]
        if any(c.is_arrondissement for c in communes):
            return False
        words = key.split()
        content = [w for w in words if w not in _CONNECTORS]
        if key in _CUE_WORDS or (content and content[0] in _EXTRA_COMMON):
            return True
        if key == "paris" or any(w.startswith("saint") for w in words):
            return False
        population = max(_pop(c) for c in communes)
        if rank is not None and len(content) <= 1:
            return not (rank >= 10_000 and population >= 20_000)
        return len(key.replace(" ", "")) < 4 and population < 15_000

    def is_ambiguous_name(self, name: str) -> bool:
        """Whether `find_in_text` needs a location cue before this name."""
        return place_key(name) in self._ambiguous

    # ------------------------------------------------------------------ geography
    def _cell(self, lat: float, lon: float) -> tuple[int, int]:
        return math.floor(lat / self.GRID_DEG), math.floor(lon / self.GRID_DEG)

    def nearest(self, lat: float, lon: float, max_rings: int = 12) -> Commune:
        """The commune whose reference point is nearest (grid index; exact positions win ties)."""
        ci, cj = self._cell(lat, lon)
        best: Commune | None = None
        best_key = (math.inf, 9)
        for k in range(max_rings + 1):
            for cell in _ring(ci, cj, k):
                for c in self._grid.get(cell, ()):
                    key = (
                        haversine_km(lat, lon, c.latitude, c.longitude),
                        PRECISION_ORDER.get(c.precision, 9),
                    )
                    if key < best_key:
                        best, best_key = c, key
            # Anything outside rings 0..k is at least k cells away.
            cos_lat = max(0.01, math.cos(math.radians(min(89.0, abs(lat) + (k + 1) * self.GRID_DEG))))
            if best is not None and best_key[0] <= k * self.GRID_DEG * 111.19 * cos_lat:
                return best
        # Far from any commune (open sea, abroad): vectorised scan of all points.
        p1, p2 = np.radians(lat), np.radians(self._lat)
        h = (
            np.sin((p2 - p1) / 2) ** 2
            + np.cos(p1) * np.cos(p2) * np.sin(np.radians(self._lon - lon) / 2) ** 2
        )
        distance = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.minimum(1.0, h)))
        order = np.lexsort((self._rank, distance))
        return self._points[int(order[0])]


def _right_after_residence(keys: list[str], i: int) -> bool:
    """The word at i directly follows "j'habite" (or "j'habite à"), nothing in between."""
    before = keys[max(0, i - 2):i]
    return bool(before) and (before[-1] in _RESIDENCE_VERBS
                             or (len(before) == 2 and before[-1] in _AT_PREPS and before[0] in _RESIDENCE_VERBS))


def _short_forms(by_key: dict[str, list[Commune]]) -> dict[str, list[Commune]]:
    """Leading words of compound names, when they point to at most 3 communes and are no commune
    themselves: "bruay" (Bruay-la-Buissière, Bruay-sur-l'Escaut), "le touquet", "henin", "saint pol"."""
    short: dict[str, list[Commune]] = defaultdict(list)
    for key, communes in by_key.items():
        words = key.split()
        for n in range(1, len(words)):
            head = words[:n]
            if head[-1] in _CONNECTORS or len("".join(w for w in head if w not in _ARTICLES)) < 4:
                continue
            name = " ".join(head)
            if name not in by_key and not all(w in _CUE_WORDS or w in _EXTRA_COMMON for w in head):
                short[name].extend(c for c in communes if not c.is_arrondissement)
    return {
        name: sorted(set(cs), key=lambda c: (-_pop(c), c.code_insee))
        for name, cs in short.items()
        if 0 < len(set(cs)) <= 3
    }


def _area_keys(
    departements: dict[str, tuple[str, str]], regions: dict[str, str]
) -> dict[str, list[tuple[str, str]]]:
    """Folded département and région names (also without a leading article) -> (kind, code)."""
    areas: dict[str, list[tuple[str, str]]] = defaultdict(list)
    named = [("dep", code, nom) for code, (nom, _) in departements.items()]
    named += [("reg", code, nom) for code, nom in regions.items()]
    for kind, code, nom in named:
        key = place_key(nom)
        for variant in {key, re.sub(r"^(?:la|le|les|l) ", "", key)}:
            areas[variant].append((kind, code))
    return dict(areas)


def _ring(ci: int, cj: int, k: int) -> Iterator[tuple[int, int]]:
    """Grid cells at Chebyshev distance exactly k from (ci, cj)."""
    if k == 0:
        yield ci, cj
        return
    for j in range(cj - k, cj + k + 1):
        yield ci - k, j
        yield ci + k, j
    for i in range(ci - k + 1, ci + k):
        yield i, cj - k
        yield i, cj + k


def _pop(commune: Commune) -> int:
    return commune.population or 0


def _prefer_covered(candidates: list[Commune]) -> Commune:
    """The most populated homonym in a covered région, unless far smaller than the most populated."""
    covered = [c for c in candidates if c.region in COVERED_REGIONS]
    if covered:
        best = max(covered, key=_pop)
        if _pop(best) * COVERED_POPULATION_RATIO >= _pop(candidates[0]):
            return best
    return candidates[0]


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


#: bump when the gazetteer's parsing or attributes change (the cached pickle is then read no more)
GAZETTEER_CACHE_VERSION = "4"


@functools.lru_cache(maxsize=4)
def _load_cached(folder: Path) -> Gazetteer:
    """The folder's gazetteer, from the pickle of a previous start when its files are the same bytes."""
    from knowledge.parsed_cache import cached_parse

    files = [p for p in folder.iterdir() if p.is_file() and p.name.endswith((".csv", ".csv.gz"))]
    return cached_parse("gazetteer", folder, files, GAZETTEER_CACHE_VERSION, lambda: Gazetteer.from_folder(folder),
                        code=[Path(__file__), Path(__file__).with_name("textnorm.py")])

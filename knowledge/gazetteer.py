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
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from rapidfuzz import fuzz, process

from knowledge.textnorm import fold_place

DATA_DIR = Path(__file__).resolve().parent / "data"
EARTH_RADIUS_KM = 6371.0088

# Lower is better: used to break ties between communes at the same place.
PRECISION_ORDER = {"exact": 0, "nom-geonames": 1, "approx-ancienne-commune": 2, "approx-commune-parente": 3}

_CODE_INSEE = re.compile(r"^(?:\d{5}|2[AB]\d{3})$", re.IGNORECASE)
_POSTAL = re.compile(r"^\d{5}$")
_TRAILING_AREA = re.compile(r"^(?P<name>.*?\D)[\s,(]+(?P<area>\d{5}|\d{2,3}|2[ab])\)?$", re.IGNORECASE)
_WORD = re.compile(r"[^\W_]+")
_POSTAL_IN_TEXT = re.compile(r"(?<![\d.,])(\d{5})(?![\d.,]*\d)")
_NOT_A_POSTAL_CODE = re.compile(
    r"^\s*(?:€|euros?\b|eur\b|e\b|k€|km\b|kms\b|m\b|ans?\b|mois\b|hab\b|habitants\b|fois\b|personnes\b)",
    re.IGNORECASE,
)


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

    @property
    def is_arrondissement(self) -> bool:
        return self.arrondissement_de is not None

    @property
    def exact_position(self) -> bool:
        return self.precision == "exact"


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
    return re.sub(r"\b([ld]) (?=[a-z])", r"\1", key)


def _arrondissement_aliases(nom: str) -> list[str]:
    match = re.match(r"^(\D+?) (\d+)(?:er|e) arrondissement$", place_key(nom))
    if not match:
        return []
    city, n = match.group(1), match.group(2)
    suffixes = ["", "e", "eme", *(["er", "ere"] if n == "1" else [])]
    return [f"{city} {n}{s}{tail}" for s in suffixes for tail in ("", " arrondissement")]


# ---------------------------------------------------------------------------- free-text cues


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Verbs saying where someone lives/is ("j'habite a", "on est sur", "je vis pres de").
_LOC_VERBS = _words(
    "habite habites habitons habitez habitent habitais habitait habiter jhabite "
    "vis vit vivons vivez vivent vivais vivait vivre jvis "
    "suis jsuis jsui chui chuis sommes est sont etes etais etait "
    "reside resides residons residez resident residais demeure demeurons "
    "loge loges logeons logee heberge hebergee hebergees installe installes installee installees "
    "domicilie domiciliee ne nee reste restons travaille travailles travaillons bosse "
    "vais va allons vont aller arrive arrivee arrives demenage demenagee"
)
# Verbs that take the place directly ("j'habite Arras").
_DIRECT_VERBS = _words("habite habites habitons habitez habitent habitais habitait jhabite")
# Verbs/adjectives of origin taking "de" ("je viens de", "originaire de").
_FROM_WORDS = _words("viens vient venons venez viennent venu venue originaire originaires natif native")
# Nouns/phrases after which a place follows ("commune de", "pres de", "mairie d'").
_PLACE_NOUNS = _words(
    "commune communes ville village mairie ccas cias secteur quartier region cote pres proche autour "
    "environs alentours coin banlieue agglo agglomeration canton"
)
_AT_PREPS = _words("a au aux sur vers dans")
_OF_PREPS = _words("de d du des")
_FILLERS = _words(
    "je j on nous moi c ca ici la le les l en et y bonjour bonsoir salut merci oui ok euh ben bah alors "
    "ma mon mes notre nos a au aux sur vers de d du des dans pres cote commune ville village"
)
# Names never spotted in free text unless they are the whole message (too common as words).
_EXTRA_COMMON = _words(
    "un deux trois quatre cinq six sept huit neuf dix onze douze treize quatorze quinze seize vingt "
    "trente quarante cinquante soixante cent mille merci bonjour travail emploi logement aide aides"
)
_CUE_WORDS = _LOC_VERBS | _DIRECT_VERBS | _FROM_WORDS | _PLACE_NOUNS | _AT_PREPS | _OF_PREPS | _FILLERS
_ARTICLE_FOR = {"au": "le", "aux": "les", "du": "le", "des": "les"}


@dataclass(frozen=True, slots=True)
class _Token:
    key: str
    start: int
    end: int
    capitalised: bool


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    for m in _WORD.finditer(text):
        for part in fold_place(m.group()).split():
            out.append(_Token(part, m.start(), m.end(), m.group()[:1].isupper()))
    return out


def _cue_strength(keys: list[str], i: int) -> int:
    """2: a locative context right before token i; 1: a bare preposition; 0: nothing."""
    prev = keys[i - 1] if i >= 1 else ""
    prev2 = keys[i - 2] if i >= 2 else ""
    prev3 = keys[i - 3] if i >= 3 else ""
    if prev in _DIRECT_VERBS or prev in _PLACE_NOUNS:
        return 2
    if prev in _AT_PREPS:
        if prev2 in _LOC_VERBS or prev2 in _PLACE_NOUNS or (prev2 in _FILLERS and prev3 in _LOC_VERBS):
            return 2
        return 1
    if prev in _OF_PREPS:
        if prev2 in _FROM_WORDS or prev2 in _PLACE_NOUNS:
            return 2
        return 1
    return 0


@dataclass(slots=True)
class _Spot:
    commune: Commune
    start: int  # token indexes, end exclusive
    end: int
    cue: int
    fuzzy: bool = False

    def overlaps(self, other: _Spot) -> bool:
        return self.start < other.end and other.start < self.end


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
    ) -> None:
        self._by_code = {c.code_insee: c for c in communes}
        self._departements = departements
        self._regions = regions
        self._epcis = epcis
        self._by_postal: dict[str, list[Commune]] = defaultdict(list)
        self._by_key: dict[str, list[Commune]] = defaultdict(list)
        for c in communes:
            for cp in c.codes_postaux:
                self._by_postal[cp].append(c)
            keys = {place_key(c.nom), *_arrondissement_aliases(c.nom)}
            for key in keys | {_elision_variant(k) for k in keys}:
                self._by_key[key].append(c)
        for group in self._by_postal.values():
            group.sort(key=lambda c: (c.is_arrondissement, -(c.population or 0), c.code_insee))
        for group in self._by_key.values():
            group.sort(key=lambda c: (-(c.population or 0), c.is_arrondissement, c.code_insee))
        self._keys = sorted(self._by_key)
        self._keys_by_dep: dict[str, list[str]] = defaultdict(list)
        for key in self._keys:
            for dep in {c.departement for c in self._by_key[key]}:
                self._keys_by_dep[dep].append(key)
        self._ambiguous = {key for key in self._keys if self._is_ambiguous(key, (word_ranks or {}).get(key))}
        self._max_words = max(len(k.split()) for k in self._keys)
        self._grid: dict[tuple[int, int], list[Commune]] = defaultdict(list)
        for c in communes:
            if not (c.is_arrondissement and not c.exact_position):
                self._grid[self._cell(c.latitude, c.longitude)].append(c)

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
        with gzip.open(folder / "communes.csv.gz", "rt", encoding="utf-8", newline="") as fh:
            for r in csv.DictReader(fh):
                commune = Commune(
                    code_insee=r["code_insee"],
                    nom=r["nom"],
                    codes_postaux=tuple(r["codes_postaux"].split()),
                    departement=r["departement"],
                    region=r["region"],
                    epci=r["epci"] or None,
                    population=int(r["population"]) if r["population"] else None,
                    latitude=float(r["latitude"]),
                    longitude=float(r["longitude"]),
                    precision=r["precision"],
                    arrondissement_de=r["arrondissement_de"] or None,
                )
                communes.append(commune)
                if r["rang_mot_courant"] and not commune.is_arrondissement:
                    ranks[place_key(commune.nom)] = int(r["rang_mot_courant"])
        departements = {r["code"]: (r["nom"], r["region"]) for r in _read_csv(folder / "departements.csv")}
        regions = {r["code"]: r["nom"] for r in _read_csv(folder / "regions.csv")}
        epcis = {r["code"]: r["nom"] for r in _read_csv(folder / "epcis.csv")}
        return cls(communes, departements, regions, epcis, ranks)

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
        """Exact (folded) name matches, homonyms most populated first."""
        return list(self._by_key.get(place_key(name), []))

    def departement_name(self, code: str) -> str | None:
        entry = self._departements.get(code.strip().upper())
        return entry[0] if entry else None

    def region_of_departement(self, code: str) -> str | None:
        entry = self._departements.get(code.strip().upper())
        return entry[1] if entry else None

    def region_name(self, code: str) -> str | None:
        return self._regions.get(code.strip())

    def epci_name(self, code: str) -> str | None:
        return self._epcis.get(code.strip())

    # ------------------------------------------------------------------ search
    def search(self, text: str, departement: str | None = None, limit: int = 5) -> list[Commune]:
        """Best candidates for a typed commune name, INSEE code or postal code."""
        return [c for c, _ in self.search_scored(text, departement, limit)]

    def search_scored(
        self, text: str, departement: str | None = None, limit: int = 5
    ) -> list[tuple[Commune, float]]:
        """Like `search`, with a 0-100 score: 100 exact name/code, 94 name prefix, else fuzzy ratio."""
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
        scores = self._score_keys(key, dep)
        results: list[tuple[Commune, float]] = []
        for cand, score in scores.items():
            for c in self._by_key[cand]:
                if (dep is None or c.departement == dep) and (postal is None or postal in c.codes_postaux):
                    results.append((c, score))
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
            i = bisect.bisect_left(self._keys, key + " ")
            while i < len(self._keys) and self._keys[i].startswith(key + " "):
                scores.setdefault(self._keys[i], 94.0)
                i += 1
        for cand, score, _ in process.extract(key, choices, scorer=fuzz.ratio, limit=20, score_cutoff=70):
            if cand not in scores or scores[cand] < score:
                scores[cand] = float(score)
        return scores

    def resolve(self, text: str, departement: str | None = None) -> Commune | None:
        """One commune for a typed answer ("bethune", "62530", "St-Omer"), or None when unsure.

        Homonyms resolve to the most populated one; a postal code shared by several communes
        resolves to its most populated commune (use `by_postal_code` to offer the choice).
        """
        scored = self.search_scored(text, departement, limit=5)
        if not scored:
            return None
        best, score = scored[0]
        if score >= 100:
            return best
        if score < 88:
            return None
        runner_up = next((s for c, s in scored[1:] if place_key(c.nom) != place_key(best.nom)), 0.0)
        return best if score - runner_up >= 3 else None

    # ------------------------------------------------------------------ free text
    def find_in_text(self, text: str) -> list[tuple[Commune, str]]:
        """Communes mentioned in a free-text message, best first, with the text that names them.

        Names that are also common French words ("Bois", "Vers", "Eu", "Tours"...) or very short
        need a location cue just before them ("j'habite", "je suis a", "commune de", "pres de").
        A postal code is returned as its most populated commune. See `search` for homonyms.
        """
        tokens = _tokens(text)
        keys = [t.key for t in tokens]
        spots = self._exact_spots(tokens, keys) + self._fuzzy_spots(keys)
        chosen: list[_Spot] = []
        for spot in sorted(spots, key=lambda s: (s.fuzzy, -(s.end - s.start), -s.cue, -_pop(s.commune))):
            if not any(spot.overlaps(other) for other in chosen):
                chosen.append(spot)
        chosen.sort(key=lambda s: (-s.cue, s.fuzzy, -(s.end - s.start), s.start, -_pop(s.commune)))
        found: list[tuple[Commune, str]] = []
        for spot in chosen:
            if all(spot.commune.code_insee != c.code_insee for c, _ in found):
                found.append((spot.commune, text[tokens[spot.start].start : tokens[spot.end - 1].end]))
        for commune, span in self._postal_codes_in(text):
            if all(commune.code_insee != c.code_insee for c, _ in found) and not any(
                span in c.codes_postaux for c, _ in found
            ):
                found.append((commune, span))
        return found

    def _exact_spots(self, tokens: list[_Token], keys: list[str]) -> list[_Spot]:
        spots: list[_Spot] = []
        for i in range(len(keys)):
            for n in range(1, min(self._max_words, len(keys) - i) + 1):
                window = " ".join(keys[i : i + n])
                variants = [window]
                if i > 0 and keys[i - 1] in _ARTICLE_FOR:  # "au Touquet" -> "le touquet ..."
                    variants.append(f"{_ARTICLE_FOR[keys[i - 1]]} {window}")
                for variant in variants:
                    communes = self._by_key.get(variant)
                    if not communes:
                        continue
                    cue = _cue_strength(keys, i)
                    whole = all(k in _FILLERS for k in keys[:i] + keys[i + n :])
                    capital = tokens[i].capitalised and i > 0
                    if variant in _CUE_WORDS and not whole:  # "Vers", "Ville": cue words themselves
                        continue
                    if variant in self._ambiguous and not (cue == 2 or whole or (cue == 1 and capital)):
                        continue
                    spots.append(_Spot(communes[0], i, i + n, 2 if whole else cue))
        return spots

    def _fuzzy_spots(self, keys: list[str]) -> list[_Spot]:
        """Small typos right after a strong cue: "j'habite a bethunes", "je vis a hersin coupigni"."""
        spots: list[_Spot] = []
        for i in range(1, len(keys)):
            if _cue_strength(keys, i) < 2 or keys[i] in _FILLERS or keys[i] in _EXTRA_COMMON:
                continue
            for n in range(1, min(3, len(keys) - i) + 1):
                window = " ".join(keys[i : i + n])
                if len(window) < 5 or window in self._by_key:
                    continue
                cutoff = 85.0 if len(window) >= 9 else 88.0
                best = process.extractOne(window, self._keys, scorer=fuzz.ratio, score_cutoff=cutoff)
                if best is not None and best[0] not in self._ambiguous:
                    spots.append(_Spot(self._by_key[best[0]][0], i, i + n, 2, fuzzy=True))
        return spots

    def _postal_codes_in(self, text: str) -> Iterator[tuple[Commune, str]]:
        for m in _POSTAL_IN_TEXT.finditer(text):
            if _NOT_A_POSTAL_CODE.match(text[m.end() :]):
                continue
            communes = self.by_postal_code(m.group(1))
            if communes:
                yield communes[0], m.group(1)

    def _is_ambiguous(self, key: str, rank: int | None) -> bool:
        communes = self._by_key[key]
        if any(c.is_arrondissement for c in communes):
            return False
        if key in _EXTRA_COMMON or key in _CUE_WORDS:
            return True
        if key == "paris" or any(w.startswith("saint") for w in key.split()):
            return False
        population = max(c.population or 0 for c in communes)
        if rank is not None:
            return not (rank >= 10_000 and population >= 20_000)
        return len(key.replace(" ", "")) < 4 and population < 15_000

    def is_ambiguous_name(self, name: str) -> bool:
        """Whether `find_in_text` needs a location cue before this name."""
        return place_key(name) in self._ambiguous

    # ------------------------------------------------------------------ geography
    def _cell(self, lat: float, lon: float) -> tuple[int, int]:
        return math.floor(lat / self.GRID_DEG), math.floor(lon / self.GRID_DEG)

    def nearest(self, lat: float, lon: float, max_rings: int = 30) -> Commune:
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
        if best is not None:
            return best
        return min(
            (c for cell in self._grid.values() for c in cell),
            key=lambda c: (
                haversine_km(lat, lon, c.latitude, c.longitude),
                PRECISION_ORDER.get(c.precision, 9),
            ),
        )


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


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@functools.lru_cache(maxsize=4)
def _load_cached(folder: Path) -> Gazetteer:
    return Gazetteer.from_folder(folder)

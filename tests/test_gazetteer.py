"""Gazetteer and place helpers, on the real data built by scripts/build_gazetteer.py."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from knowledge.gazetteer import Commune, Gazetteer, haversine_km
from knowledge.places import resolve_service_commune, valid_zone_code, zone_contains
from knowledge.schema import Service, Source

HERSIN = "62443"
HERSIN_LAT, HERSIN_LON = 50.44796, 2.6494  # GeoNames position in the built data ("exact")
CA_BETHUNE_BRUAY = "200072460"  # CA de Béthune-Bruay, Artois-Lys Romane


@pytest.fixture(scope="module")
def gaz() -> Gazetteer:
    return Gazetteer.load()


def names(communes: list[Commune]) -> list[str]:
    return [c.nom for c in communes]


def found(gaz: Gazetteer, text: str) -> list[tuple[str, str]]:
    return [(c.nom, c.departement) for c, _ in gaz.find_in_text(text)]


# ---------------------------------------------------------------------------- data


def test_data_covers_france(gaz: Gazetteer) -> None:
    communes = [c for c in gaz if not c.is_arrondissement]
    assert 34_000 < len(communes) < 36_000
    assert sum(c.is_arrondissement for c in gaz) == 45  # Paris 20 + Lyon 9 + Marseille 16
    assert all(-90 <= c.latitude <= 90 and -180 <= c.longitude <= 180 for c in gaz)
    assert {c.precision for c in communes} >= {"exact", "mairie", "approx-postal", "approx-epci"}
    exact = sum(c.exact_position for c in communes)
    assert 0.35 < exact / len(communes) < 0.5
    # GeoNames lacks most villages: they are at their mairie, not at the mean of their neighbours
    located = sum(c.precision in ("exact", "mairie") for c in communes)
    assert located / len(communes) > 0.99


def test_a_village_geonames_lacks_is_at_its_mairie(gaz: Gazetteer) -> None:
    # Montigny-en-Arrouaise (317 inhabitants) shares the postcode 02110 with Bohain-en-Vermandois:
    # at the mean of the 02110 communes, it was 3 km from Bohain's France Services (sc-018, round 26)
    montigny, bohain = gaz.get("02511"), gaz.get("02095")
    assert montigny is not None and bohain is not None
    assert montigny.precision == "mairie"
    assert haversine_km(montigny.latitude, montigny.longitude, 49.876718, 3.410658) < 0.01  # the mairies file
    assert 12 < haversine_km(montigny.latitude, montigny.longitude, bohain.latitude, bohain.longitude) < 13.5


def test_hersin_coupigny_record(gaz: Gazetteer) -> None:
    hersin = gaz.get(HERSIN)
    assert hersin is not None
    assert hersin.nom == "Hersin-Coupigny"
    assert hersin.codes_postaux == ("62530",)
    assert (hersin.departement, hersin.region, hersin.epci) == ("62", "32", CA_BETHUNE_BRUAY)
    assert hersin.precision == "exact"
    assert hersin.population is not None and 5_000 < hersin.population < 7_000
    assert haversine_km(hersin.latitude, hersin.longitude, 50.447, 2.648) < 1


def test_names_of_codes(gaz: Gazetteer) -> None:
    assert gaz.departement_name("62") == "Pas-de-Calais"
    assert gaz.departement_name("2A") == "Corse-du-Sud"
    assert gaz.region_name("32") == "Hauts-de-France"
    assert gaz.region_of_departement("62") == "32"
    assert gaz.region_of_departement("974") == "04"
    assert gaz.epci_name(CA_BETHUNE_BRUAY) == "CA de Béthune-Bruay, Artois-Lys Romane"
    assert gaz.departement_name("00") is None


def test_load_is_cached_and_fast_enough() -> None:
    started = time.perf_counter()
    again = Gazetteer.load()
    assert time.perf_counter() - started < 0.01
    assert again is Gazetteer.load()


# ---------------------------------------------------------------------------- search / resolve


@pytest.mark.parametrize("text", ["Hersin-Coupigny", "hersin coupigny", "HERSIN-COUPIGNY", "62530", "hersin"])
def test_resolve_hersin(gaz: Gazetteer, text: str) -> None:
    commune = gaz.resolve(text)
    assert commune is not None and commune.code_insee == HERSIN and commune.departement == "62"


def test_nearest_hersin(gaz: Gazetteer) -> None:
    assert gaz.nearest(50.447, 2.648).code_insee == HERSIN
    assert gaz.nearest(HERSIN_LAT, HERSIN_LON).code_insee == HERSIN


def test_nearest_overseas_and_open_sea(gaz: Gazetteer) -> None:
    assert gaz.nearest(-20.8789, 55.4481).nom == "Saint-Denis"  # La Réunion
    assert gaz.nearest(-20.8789, 55.4481).departement == "974"
    assert gaz.nearest(45.0, -10.0).departement in {"29", "56", "17", "85", "64", "40", "33", "44"}


@pytest.mark.parametrize(
    ("text", "nom", "dep"),
    [
        ("st omer", "Saint-Omer", "62"),
        ("St-Omer", "Saint-Omer", "62"),
        ("bethune", "Béthune", "62"),
        ("BETHUNE", "Béthune", "62"),
        ("Bethunes", "Béthune", "62"),  # typo
        ("hersin coupignie", "Hersin-Coupigny", "62"),  # typo
        ("lievin", "Liévin", "62"),
        ("vilneuve dascq", "Villeneuve-d'Ascq", "59"),
        ("lhay les roses", "L'Haÿ-les-Roses", "94"),
        ("Saint-Denis 93", "Saint-Denis", "93"),
        ("lens 62", "Lens", "62"),
        ("paris 11e", "Paris 11e Arrondissement", "75"),
        ("75011", "Paris", "75"),
        ("13007", "Marseille", "13"),
    ],
)
def test_resolve(gaz: Gazetteer, text: str, nom: str, dep: str) -> None:
    commune = gaz.resolve(text)
    assert commune is not None
    assert (commune.nom, commune.departement) == (nom, dep)


@pytest.mark.parametrize("text", ["xyzzy", "", "Boulogne", "bonjour je voudrais des infos"])
def test_resolve_uncertain(gaz: Gazetteer, text: str) -> None:
    assert gaz.resolve(text) is None


def test_homonyms_most_populated_first(gaz: Gazetteer) -> None:
    results = [c for c in gaz.search("Saint-Denis", limit=10) if c.nom == "Saint-Denis"]
    assert len(results) >= 4
    assert {c.departement for c in results} >= {"93", "974", "11", "30"}
    populations = [c.population or 0 for c in results]
    assert populations == sorted(populations, reverse=True)
    assert results[0].population is not None and results[0].population > 100_000


def test_search_filters_by_departement(gaz: Gazetteer) -> None:
    assert [(c.nom, c.departement) for c in gaz.search("Saint-Denis", departement="93", limit=1)] == [
        ("Saint-Denis", "93")
    ]
    assert gaz.resolve("saint denis", departement="11").code_insee == "11339"  # type: ignore[union-attr]


def test_shared_postal_code(gaz: Gazetteer) -> None:
    assert names(gaz.by_postal_code("62530")) == ["Hersin-Coupigny", "Servins", "Gouy-Servins"]
    assert names(gaz.by_postal_code("62160")) == ["Bully-les-Mines", "Grenay", "Aix-Noulette"]
    assert gaz.by_postal_code("00000") == []


def test_postal_code_and_insee_code_differ(gaz: Gazetteer) -> None:
    # 62530 is Hersin-Coupigny's postal code and Lottinghen's INSEE code.
    assert gaz.get("62530").nom == "Lottinghen"  # type: ignore[union-attr]
    assert names(gaz.search("62530", limit=10))[-1] == "Lottinghen"


def test_arrondissements(gaz: Gazetteer) -> None:
    assert names(gaz.by_postal_code("75011")) == ["Paris", "Paris 11e Arrondissement"]
    eleventh = gaz.get("75111")
    assert eleventh is not None and eleventh.arrondissement_de == "75056"
    assert gaz.commune_of(eleventh).nom == "Paris"
    marseille7 = gaz.get("13207")
    assert marseille7 is not None and marseille7.precision == "exact"


# ---------------------------------------------------------------------------- free text


@pytest.mark.parametrize(
    ("text", "expected", "span"),
    [
        ("j'habite a bethune avec mes 2 enfants", ("Béthune", "62"), "bethune"),
        ("jsuis sur lens", ("Lens", "62"), "lens"),
        ("je vis à St-Omer", ("Saint-Omer", "62"), "St-Omer"),
        ("62530", ("Hersin-Coupigny", "62"), "62530"),
        ("on est à hersin coupigny depuis 2 ans", ("Hersin-Coupigny", "62"), "hersin coupigny"),
        ("j'habite à Arras", ("Arras", "62"), "Arras"),
        ("je suis à Eu depuis mars", ("Eu", "76"), "Eu"),
        ("je vis à Bois", ("Bois", "17"), "Bois"),
        ("je suis de Tours", ("Tours", "37"), "Tours"),
        ("on est au Mans", ("Le Mans", "72"), "Mans"),
        ("j'habite à bethunes", ("Béthune", "62"), "bethunes"),
        ("c'est Le Touquet", ("Le Touquet-Paris-Plage", "62"), "Le Touquet"),
        ("près d'Hénin", ("Hénin-Beaumont", "62"), "Hénin"),
        ("Montreuil dans le 62", ("Montreuil-sur-Mer", "62"), "Montreuil"),
        ("62170 Montreuil", ("Montreuil-sur-Mer", "62"), "Montreuil"),
        ("93200 saint denis", ("Saint-Denis", "93"), "saint denis"),
        ("La personne réside à Saint-Denis (93).", ("Saint-Denis", "93"), "Saint-Denis"),
        ("j'habite paris 11e", ("Paris 11e Arrondissement", "75"), "paris 11e"),
        # a first name that is a commune, with its département: the département is no other content
        # (simulated users, round 44, sc-097: « Albert, dans la Somme » was « Je ne trouve pas cette commune »)
        ("Albert, dans la Somme", ("Albert", "80"), "Albert"),
        ("Albert (Somme)", ("Albert", "80"), "Albert"),
    ],
)
def test_find_in_text(gaz: Gazetteer, text: str, expected: tuple[str, str], span: str) -> None:
    result = gaz.find_in_text(text)
    assert result, text
    commune, matched = result[0]
    assert (commune.nom, commune.departement) == expected
    assert matched == span


def test_find_in_text_several_places(gaz: Gazetteer) -> None:
    assert found(gaz, "j'habite pas loin de Lens, à Loos-en-Gohelle") == [
        ("Loos-en-Gohelle", "62"),
        ("Lens", "62"),
    ]
    assert found(gaz, "j'habite vers arras") == [("Arras", "62")]  # "Vers" (74) is a cue here
    # After "près de" / "à côté de" comes a landmark: it is listed after the person's place.
    assert found(gaz, "Rimboval, c'est près de Fruges") == [("Rimboval", "62"), ("Fruges", "62")]
    assert found(gaz, "Ste Catherine à côté d'Arras") == [("Sainte-Catherine", "62"), ("Arras", "62")]


def test_former_communes(gaz: Gazetteer) -> None:
    # Bermeries merged into L'Orée de Mormal; Hesdin into Hesdin-la-Forêt.
    assert gaz.resolve("bermeries").code_insee == "59006"  # type: ignore[union-attr]
    assert found(gaz, "à Bermeries près de Bavay") == [("L'Orée de Mormal", "59"), ("Bavay", "59")]
    assert found(gaz, "à côté de Hesdin") == [("Hesdin-la-Forêt", "62")]
    # A former name that current names start with stays theirs ("Boulogne", once a Vendée village).
    assert all(c.nom.startswith("Boulogne") for c in gaz.search("Boulogne"))


@pytest.mark.parametrize(
    "text",
    [
        "je cherche du travail et j'ai plus d'argent",
        "bonjour je voudrais des infos",
        "il a eu un bébé",
        "j'ai besoin de bois pour l'hiver",
        "je fais plusieurs tours de manège",
        "qu'il vienne demain",
        "je suis à la rue",
        "je suis à l'hôpital",
        "pour aller au boulot",
        "il a plus de 60 ans",
        "je suis au chômage depuis mars",
        "j'ai un forfait orange",
        "on est 4 à la maison",
        "je trouve pas de mode de garde",
        "j'ai 10000 euros de dettes",
        "revenu fiscal de référence 14000",
        "usagère victime de VIF",
        "point conseil budget en Seine-Saint-Denis",
        "dans le Pas-de-Calais",
        "je vis en Bretagne",
        "grand merci",
        "ça marche",
        "les restos du coeur",
    ],
)
def test_find_in_text_no_false_positive(gaz: Gazetteer, text: str) -> None:
    assert gaz.find_in_text(text) == []


def test_ambiguous_names(gaz: Gazetteer) -> None:
    for name in ["Y", "Eu", "Bar", "Mars", "Bois", "Faux", "Fay", "Pont", "Vers", "Tours", "L'Hôpital"]:
        assert gaz.is_ambiguous_name(name), name
    for name in ["Arras", "Lens", "Béthune", "Hersin-Coupigny", "Paris", "Lyon", "Saint-Denis"]:
        assert not gaz.is_ambiguous_name(name), name


# ---------------------------------------------------------------------------- places


def test_zone_contains(gaz: Gazetteer) -> None:
    hersin = gaz.get(HERSIN)
    assert hersin is not None
    assert zone_contains(["62"], hersin)
    assert zone_contains(["59", "62"], hersin)
    assert not zone_contains(["59", "80"], hersin)
    assert zone_contains([CA_BETHUNE_BRUAY], hersin)
    assert not zone_contains(["200033579"], hersin)  # another EPCI of the Pas-de-Calais
    assert zone_contains([HERSIN], hersin)
    assert zone_contains(["france"], hersin) and zone_contains(["99100"], hersin)
    assert zone_contains(["region:32"], hersin) and not zone_contains(["region:11"], hersin)
    assert not zone_contains([], hersin)


def test_zone_contains_arrondissement(gaz: Gazetteer) -> None:
    eleventh, paris = gaz.get("75111"), gaz.get("75056")
    assert eleventh is not None and paris is not None
    assert zone_contains(["75056"], eleventh)
    assert zone_contains(["75"], eleventh)
    assert zone_contains(["200054781"], eleventh)  # Métropole du Grand Paris
    assert not zone_contains(["75111"], paris)


@pytest.mark.parametrize(
    ("code", "valid"),
    [
        (HERSIN, True),
        ("75111", True),
        ("2A004", True),
        ("62", True),
        ("2B", True),
        ("974", True),
        (CA_BETHUNE_BRUAY, True),
        ("region:32", True),
        ("reg:11", True),
        ("france", True),
        ("99100", True),
        ("99999", False),
        ("00", False),
        ("123456789", False),
        ("region:99", False),
        ("lens", False),
    ],
)
def test_valid_zone_code(gaz: Gazetteer, code: str, valid: bool) -> None:
    assert valid_zone_code(code, gaz) is valid


def _service(**fields: object) -> Service:
    base: dict[str, object] = {
        "id": "test-service",
        "structure_id": "test-structure",
        "structure_nom": "Structure",
        "nom": "Service de test",
        "description": "Un service.",
        "date_maj": dt.date(2025, 1, 1),
        "thematiques": ["famille"],
        "zone_eligibilite": ["62"],
        "telephone": "0300000000",
        "sources": [Source(url="https://example.org")],
    }
    return Service(**(base | fields))  # type: ignore[arg-type]


def test_resolve_service_commune(gaz: Gazetteer) -> None:
    by_code = resolve_service_commune(_service(code_insee=HERSIN), gaz)
    assert by_code is not None and by_code.nom == "Hersin-Coupigny"
    by_postal = resolve_service_commune(_service(code_postal="62530", commune="Servins"), gaz)
    assert by_postal is not None and by_postal.code_insee == "62793"
    by_name = resolve_service_commune(_service(commune="Saint-Denis", departement="93"), gaz)
    assert by_name is not None and by_name.code_insee == "93066"
    assert resolve_service_commune(_service(commune="Nulle-Part-sur-Rien"), gaz) is None
    assert resolve_service_commune(_service(), gaz) is None


def test_a_towns_english_name_finds_it(gaz: Gazetteer) -> None:
    """Simulated users, rounds 10-13 (sc-042): « Dunkirk » was not found, and asked again five times."""
    assert [c.code_insee for c in gaz.by_name("Dunkirk")] == ["59183"]
    found = gaz.resolve("Dunkirk")
    assert found is not None and found.code_insee == "59183"


@pytest.mark.parametrize("name", ["Saint-Denis", "Montreuil-sur-Mer", "Lens", "Avion", "Fruges"])
def test_an_exact_name_gives_its_homonyms_without_the_fuzzy_search(gaz: Gazetteer, name: str) -> None:
    """`exact_enough` (what `resolve` uses) keeps the exact names of the full search, and only them."""
    full = gaz.search_scored(name, limit=5)
    exact = gaz.search_scored(name, limit=5, exact_enough=True)
    assert exact and all(score == 100.0 for _, score in exact)
    assert [c.code_insee for c, _ in exact] == [c.code_insee for c, s in full if s == 100.0]


def test_an_exact_name_outside_the_departement_said_is_still_searched(gaz: Gazetteer) -> None:
    """« montreuil 62 »: Montreuil (93) is an exact name, but not in the Pas-de-Calais; the search goes on."""
    commune = gaz.resolve("montreuil 62")
    assert commune is not None and commune.departement == "62"

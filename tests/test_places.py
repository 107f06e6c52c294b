"""Real places: opening hours, the directory import (France Services, mairies), the data·inclusion
round trip, the place index, and what a person is shown (Liévin: the actual nearest France Services).

The session knowledge base (`kb` fixture) imports the shipped directories on its first start; the
import tests use small extracts of the shipped files, written to a temporary folder.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from knowledge.datainclusion import export_data_inclusion, import_data_inclusion
from knowledge.db import make_engine, session_scope, upgrade
from knowledge.hours import (
    HoursError,
    france_services_to_osm,
    french_date,
    hours_on,
    mairie_json_to_osm,
    parse_day_text,
    today_text,
)
from knowledge.kb import KnowledgeBase
from knowledge.models import MetaRow
from knowledge.placedata import (
    INDEX_KEY,
    PLACE_ORIGIN,
    PlaceFileError,
    directories,
    import_places,
    imported_meta,
    parse_places,
)

try:
    from conftest import PG_ADMIN_URL, require
except ImportError:  # pragma: no cover - another import mode
    from tests.conftest import PG_ADMIN_URL, require  # type: ignore[no-redef]

MONDAY = dt.date(2026, 11, 30)
SATURDAY = dt.date(2026, 12, 5)
SUNDAY = dt.date(2026, 11, 29)
CHRISTMAS = dt.date(2026, 12, 25)  # a Friday, public holiday
LIEVIN = "62510"  # INSEE code of Liévin (postal code 62800)
FS_SOURCE = directories()["france-services"].source
MAIRIE_SOURCE = directories()["mairies"].source


# ---------------------------------------------------------------------------- opening hours
@pytest.mark.parametrize(
    ("cell", "slots"),
    [
        ("09:00 - 12:00 / 13:30 - 17:00", ["09:00-12:00", "13:30-17:00"]),
        ("13:30 - 17:00", ["13:30-17:00"]),
        ("8:45 - 12:00", ["08:45-12:00"]),
        ("00:00 - 00:00", []),  # an empty cell written as a range
        ("", []),
    ],
)
def test_france_services_day_cells(cell: str, slots: list[str]) -> None:
    assert parse_day_text(cell) == slots


@pytest.mark.parametrize("cell", ["9h à 12h", "12:00 - 09:00", "25:00 - 26:00", "matin"])
def test_unreadable_day_cells_are_errors(cell: str) -> None:
    with pytest.raises(HoursError):
        parse_day_text(cell)


@pytest.mark.parametrize(
    ("cells", "osm"),
    [
        # Valserhône (first row of the file): Monday afternoon only, Friday closes earlier
        ({"h_lundi": "13:30 - 17:00", "h_mardi": "09:00 - 12:00 / 13:30 - 17:00",
          "h_mercredi": "09:00 - 12:00 / 13:30 - 17:00", "h_jeudi": "09:00 - 12:00 / 13:30 - 17:00",
          "h_vendredi": "09:00 - 12:00 / 13:30 - 16:00"},
         "Mo 13:30-17:00; Tu-Th 09:00-12:00,13:30-17:00; Fr 09:00-12:00,13:30-16:00; PH off"),
        ({"h_mardi": "09:00 - 12:00", "h_mercredi": "09:00 - 12:00", "h_samedi": "09:00 - 12:00"},
         "Tu,We 09:00-12:00; Sa 09:00-12:00; PH off"),
        ({"h_lundi": ""}, None),
    ],
)  # fmt: skip
def test_france_services_week_to_osm(cells: dict[str, str], osm: str | None) -> None:
    assert france_services_to_osm(cells) == osm


@pytest.mark.parametrize(
    ("raw", "osm"),
    [
        ('[["lundi","vendredi",[["08:00:00","12:00:00"],["14:00:00","18:00:00"]]]]',
         "Mo-Fr 08:00-12:00,14:00-18:00; PH off"),
        ('[["mardi","mardi",[["09:00:00","12:00:00"],["14:00:00","17:00:00"]]],'
         '["vendredi","vendredi",[["09:00:00","12:00:00"],["14:00:00","18:30:00"]]]]',
         "Tu 09:00-12:00,14:00-17:00; Fr 09:00-12:00,14:00-18:30; PH off"),
        ('[["lundi","lundi",[["16:00:00","19:00:00"]]],["mercredi","jeudi",[["16:00:00","19:00:00"]]]]',
         "Mo 16:00-19:00; We,Th 16:00-19:00; PH off"),
        ('[["","",[["09:00:00","12:00:00"]]]]', None),
        ("[]", None),
        ("", None),
    ],
)  # fmt: skip
def test_mairie_hours_to_osm(raw: str, osm: str | None) -> None:
    assert mairie_json_to_osm(raw) == osm


@pytest.mark.parametrize(
    ("osm", "day", "expected"),
    [
        ("Mo-Fr 09:00-12:00,14:00-17:00; PH off", MONDAY, "ouvert aujourd'hui 9 h–12 h, 14 h–17 h"),
        ("Mo 13:30-17:00; Tu-Fr 08:45-12:00; PH off", MONDAY, "ouvert aujourd'hui 13 h 30–17 h"),
        ("Mo-Fr 09:00-12:00; PH off", SUNDAY, "fermé aujourd'hui"),
        ("Mo-Fr 09:00-12:00; Sa 09:00-11:30; PH off", SATURDAY, "ouvert aujourd'hui 9 h–11 h 30"),
        ("Mo-Fr 09:00-12:00; PH off", CHRISTMAS, "fermé aujourd'hui"),  # public holiday
        (None, MONDAY, None),
        ("n'importe quoi", MONDAY, None),
    ],
)
def test_today_text(osm: str | None, day: dt.date, expected: str | None) -> None:
    assert today_text(osm, day) == expected


def test_hours_on_gives_the_slots() -> None:
    hours = hours_on("Mo-Fr 08:00-12:00,14:00-18:00; PH off", MONDAY)
    assert hours is not None and hours.open
    assert hours.slots == ((dt.time(8), dt.time(12)), (dt.time(14), dt.time(18)))


def test_french_dates() -> None:
    assert french_date(dt.date(2024, 8, 1)) == "1er août 2024"
    assert french_date(dt.date(2025, 3, 15)) == "15 mars 2025"
    assert french_date(dt.date(2026, 10, 1), "month") == "octobre 2026"


# ---------------------------------------------------------------------------- reading the files
def _extract(directory_id: str, folder: Path, keep: Callable[[dict[str, str]], bool], limit: int = 40) -> Path:
    """A small gzip CSV made of rows of the shipped file (same columns)."""
    directory = directories()[directory_id]
    with gzip.open(directory.shipped_file, "rt", encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        rows = [row for row in reader if keep(row)][:limit]
        columns = reader.fieldnames or []
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    path = folder / f"{directory_id}.csv.gz"
    path.write_bytes(gzip.compress(out.getvalue().encode("utf-8")))
    return path


@pytest.fixture
def extracts(tmp_path: Path) -> dict[str, Path]:
    return {
        "france-services": _extract("france-services", tmp_path, lambda r: r["insee_dep"] == "62"),
        "mairies": _extract("mairies", tmp_path, lambda r: r["code_insee"] in {LIEVIN, "62498", "75056", "75111"}
                            or "02001" <= r["code_insee"] < "02040", limit=100),
    }  # fmt: skip


def test_the_shipped_files_read_completely() -> None:
    fs_items, fs = parse_places(directories()["france-services"].shipped_file, directories()["france-services"])
    assert fs.rows == 2845 and fs.imported == 2845 and fs.errors == []
    assert fs.counts["telephone"] >= 2840 and fs.counts["adresse"] == 2845 and fs.counts["horaires"] >= 2790
    mairies_items, mairies = parse_places(directories()["mairies"].shipped_file, directories()["mairies"])
    assert mairies.rows == 34920 and mairies.errors == []
    assert mairies.imported + mairies.skipped == 34920 and mairies.imported > 34800
    lievin = next(i for i in mairies_items if i["code_insee"] == LIEVIN)
    assert lievin["nom"] == "Mairie de Liévin" and lievin["telephone"] == "03 21 44 89 89"
    assert lievin["adresse"] == "45 rue Édouard-Vaillant" and lievin["code_postal"] == "62801"
    assert lievin["horaires_accueil"] == "Mo-Fr 08:00-12:00,14:00-18:00; PH off"
    assert lievin["reseaux_porteurs"] == ["communes"] and lievin["zone_eligibilite"] == [LIEVIN]
    first = next(i for i in fs_items if i["id"] == "fs-1")
    assert first["nom"] == "France services de Valserhône" and first["code_insee"] == "01033"
    assert first["reseaux_porteurs"] == ["france-service"] and first["date_maj"] == "2024-08-01"


def test_the_2019_directory_gives_each_kind_of_place_its_own_directory() -> None:
    """One file, five kinds of places (mission locale, CIDFF, MDPH, information jeunesse, points justice):
    each directory keeps its rows, placed at its commune (the INSEE code of the directory's identifier),
    with the network the schemes' `where_to_go` names."""
    counts = {}
    for directory_id in ("missions-locales-2019", "cidff-2019", "mdph-2019", "information-jeunesse-2019",
                         "points-justice-2019"):
        directory = directories()[directory_id]
        items, report = parse_places(directory.shipped_file, directory)
        assert report.errors == [] and report.imported == report.rows and directory.to_confirm
        assert {i["reseaux_porteurs"][0] for i in items} == {directory.reseau}
        assert all(i["latitude"] is not None and i["zone_eligibilite"] for i in items)
        counts[directory_id] = report.imported
    assert counts == {"missions-locales-2019": 620, "cidff-2019": 116, "mdph-2019": 93,
                      "information-jeunesse-2019": 1017, "points-justice-2019": 208}
    directory = directories()["missions-locales-2019"]
    arras = next(i for i in parse_places(directory.shipped_file, directory)[0] if i["code_insee"] == "62041")
    # the source's words: « Mission locale … - Arras », « 03 21 71 83 93 », « mlpa@mlpa.fr »
    assert arras["nom"] == "Mission locale pour l'insertion professionnelle et sociale des jeunes (16-25 ans) - Arras"
    assert (arras["telephone"], arras["courriel"], arras["zone_eligibilite"]) == ("03 21 71 83 93", "mlpa@mlpa.fr", ["62"])
    assert arras["publics"] == ["jeunes"] and arras["coord_precision"].startswith("centre-commune-")
    # a phone number followed by words (« 08 00 89 44 21 / Numéro vert : … ») is kept
    mdph = directories()["mdph-2019"]
    oise = next(i for i in parse_places(mdph.shipped_file, mdph)[0] if i["nom"].endswith("- Oise"))
    assert oise["telephone"] == "08 00 89 44 21"


def test_bad_files_give_clear_errors(tmp_path: Path) -> None:
    directory = directories()["france-services"]
    with pytest.raises(PlaceFileError, match="introuvable"):
        parse_places(tmp_path / "absent.csv", directory)
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(PlaceFileError, match="vide"):
        parse_places(empty, directory)
    # the mairies file given as France Services: the missing columns are named
    with pytest.raises(PlaceFileError, match="colonnes manquantes.*id_fs"):
        parse_places(directories()["mairies"].shipped_file, directory)
    broken = tmp_path / "broken.csv.gz"
    broken.write_bytes(gzip.compress(b"id_fs,lib_fs\n1,x\n")[:15])
    with pytest.raises(PlaceFileError, match="gzip"):
        parse_places(broken, directory)
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes("id_fs,lib_fs\n1,Préfecture\n".encode("latin-1"))
    with pytest.raises(PlaceFileError, match="UTF-8"):
        parse_places(latin1, directory)


def test_a_bad_row_is_reported_and_the_others_imported(tmp_path: Path) -> None:
    directory = directories()["france-services"]
    header = ",".join(f'"{c}"' for c in ("id_fs", "lib_fs", "adresse", "insee_com", "code_postal", "lib_com",
                                          "latitude", "longitude", "mail", "telephone", "h_lundi", "h_mardi",
                                          "h_mercredi", "h_jeudi", "h_vendredi", "h_samedi"))  # fmt: skip
    good = '"1","FS A","1 rue A","62510","62800","Liévin",50.42,2.78,"a@b.fr","03 21 00 00 00","09:00 - 12:00",,,,,'
    bad_coord = '"2","FS B","1 rue B","62510","62800","Liévin",950.0,2.78,"a@b.fr","03 21 00 00 01",,,,,,'
    bad_hours = '"3","FS C","1 rue C","62510","62800","Liévin",50.4,2.7,"a@b.fr","0321000002","9h-12h",,,,,'
    path = tmp_path / "fs.csv"
    path.write_text("\n".join([header, good, bad_coord, bad_hours]) + "\n", encoding="utf-8")
    items, report = parse_places(path, directory)
    assert [i["id"] for i in items] == ["fs-1", "fs-3"]
    assert len(report.errors) == 1 and "ligne 3" in report.errors[0]
    assert items[1]["horaires_accueil"] is None and "horaires ignorés" in report.warnings[0]
    assert items[1]["telephone"] == "03 21 00 00 02"


# ---------------------------------------------------------------------------- import and round trip
@pytest.fixture
def new_database(pg_admin, tmp_path: Path) -> Iterator[Callable[[str], Engine]]:  # type: ignore[no-untyped-def]
    engines: list[Engine] = []
    pg_names: list[str] = []

    def make(kind: str) -> Engine:
        if kind == "sqlite":
            engine = make_engine(f"sqlite:///{tmp_path / f'places{len(engines)}.sqlite3'}")
        else:
            require(pg_admin is not None, f"PostgreSQL ({PG_ADMIN_URL.split('@')[-1]})")
            name = f"aiguillage_test_{os.getpid()}_{uuid.uuid4().hex[:10]}"
            with pg_admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            pg_names.append(name)
            engine = make_engine(PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}")
        upgrade(engine)
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.dispose()
    for name in pg_names:
        with pg_admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


KINDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.mark.parametrize("kind", KINDS)
def test_import_places_round_trip(new_database, extracts: dict[str, Path], kind: str) -> None:  # type: ignore[no-untyped-def]
    source = new_database(kind)
    fs_report = import_places(source, directories()["france-services"], extracts["france-services"])
    mairie_report = import_places(source, directories()["mairies"], extracts["mairies"])
    assert fs_report.imported == 40 and mairie_report.errors == []
    meta = imported_meta(source)
    assert meta["france-services"]["places"] == 40 and len(meta["mairies"]["sha256"]) == 64
    # re-importing replaces (a place gone from the newer file is gone), never duplicates
    again = import_places(source, directories()["france-services"], extracts["france-services"])
    assert again.imported == 40
    first = export_data_inclusion(source)
    places = [s for s in first["services"] if s["source"] in (FS_SOURCE, MAIRIE_SOURCE)]
    assert len(places) == 40 + mairie_report.imported
    mairie = next(s for s in first["services"] if s["id"] == f"mairie-{LIEVIN}")
    for name in ("nom", "adresse", "code_postal", "code_insee", "commune", "latitude", "longitude", "telephone",
                 "courriel", "horaires_accueil", "date_maj", "thematiques", "zone_eligibilite"):  # fmt: skip
        assert mairie.get(name), name
    structure = next(s for s in first["structures"] if s["id"] == f"mairie-{LIEVIN}")
    assert structure["reseaux_porteurs"] == ["communes"] and structure["site_web"] == "https://www.lievin.fr/"
    assert structure["horaires_accueil"] == mairie["horaires_accueil"]

    target = new_database(kind)
    report = import_data_inclusion(target, first["structures"], first["services"])
    assert report.errors == [] and report.services == len(first["services"])
    assert export_data_inclusion(target) == first

    # both databases give the assistant the same places, kept out of the in-memory service list; the
    # first load stores the compact index (an import drops it), the next ones read it back
    for engine, load in ((source, 1), (target, 1), (target, 2)):
        with session_scope(engine) as session:
            assert (session.get(MetaRow, INDEX_KEY) is not None) == (load == 2)
        kb = KnowledgeBase.from_database(engine)
        assert not any(s.source in (FS_SOURCE, MAIRIE_SOURCE) for s in kb.services)
        assert kb.places.count(FS_SOURCE) == 40
        (record,) = kb.places.in_commune(MAIRIE_SOURCE, LIEVIN)
        assert record.origin == PLACE_ORIGIN and record.reseaux_porteurs == ["communes"]
        assert record.telephone == "03 21 44 89 89" and record.site_web == "https://www.lievin.fr/"
        nearest = kb.places.nearest(FS_SOURCE, 50.4198, 2.78068, limit=2)
        assert len(nearest) == 2 and nearest[0][1] <= nearest[1][1] < 30


def test_cli_import_places(tmp_path: Path, extracts: dict[str, Path], monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    from bot.cli import main

    monkeypatch.setenv("AIGUILLAGE_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    # another file than the shipped one needs the date of its data
    assert main(["kb", "import-places", "france-services", str(extracts["france-services"])]) == 2
    assert "--date" in capsys.readouterr().err
    args = ["kb", "import-places", "france-services", str(extracts["france-services"]), "--date", "2025-03-20"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "40 lieux importés sur 40 lignes" in out and "telephone 40" in out
    kb = KnowledgeBase.from_database(make_engine(f"sqlite:///{tmp_path / 'cli.sqlite3'}"))
    record = kb.places.nearest(FS_SOURCE, 50.4198, 2.78068, limit=1)[0][0]
    assert record.date_maj == "2025-03-20"
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n", encoding="utf-8")
    assert main(["kb", "import-places", "mairies", str(bad), "--date", "2025-01-01"]) == 2
    assert "colonnes manquantes" in capsys.readouterr().err
    assert main(["kb", "import-places", "mairies", str(extracts["mairies"]), "--dry-run", "--date", "2025-01-01"]) == 0
    assert "rien écrit" in capsys.readouterr().out


# ---------------------------------------------------------------------------- the session knowledge base
def test_the_knowledge_base_has_every_place(kb) -> None:  # type: ignore[no-untyped-def]
    assert kb.places.count(FS_SOURCE) == 2845
    assert kb.places.count(MAIRIE_SOURCE) > 34800
    assert len(kb.services) < 1000  # the directories are not scanned service by service


def test_lievin_gets_the_actual_nearest_france_services(kb) -> None:  # type: ignore[no-untyped-def]
    from actions.common import door_reply, service_line, set_kb
    from actions.places import door_places, nearest_france_services

    set_kb(kb)
    lievin = kb.gazetteer.get(LIEVIN)
    assert lievin.nom == "Liévin"
    (nearest,) = nearest_france_services(kb, (lievin.latitude, lievin.longitude), limit=1)
    assert nearest.service.nom == "France services Pimms Médiation de Lens"  # 49 place du Général de Gaulle
    assert 2 < nearest.distance_km < 6
    line = service_line(nearest, "62", lievin, today=MONDAY)
    assert "49 Place du Général de Gaulle, 62300 Lens" in line and "à environ 4 km" in line
    assert "Tél. 03 21 28 78 17" in line and "lens@pimmsmediation.fr" in line
    assert "Ouvert aujourd'hui 13 h–17 h" in line and "Données du 1er août 2024" in line
    doors = door_places(kb, {"commune": LIEVIN}, lievin)
    assert [d.service.nom for d in doors] == ["Mairie de Liévin", "France services Pimms Médiation de Lens"]
    reply = door_reply({"commune": LIEVIN}, lievin)
    assert reply is not None and "Mairie de Liévin (45 rue Édouard-Vaillant, 62801 Liévin" in reply[0]
    assert "Données d'octobre 2026" in reply[0]


def test_a_curated_door_names_the_actual_mairie(kb) -> None:  # type: ignore[no-untyped-def]
    from actions.common import contact_text, set_kb

    set_kb(kb)
    door_only = next(s for s in kb.services if not s.has_contact and "CCAS de votre commune" in (s.no_contact_door or ""))
    text = contact_text(door_only, kb.gazetteer.get(LIEVIN))
    assert "CCAS de votre commune" in text and "(Mairie de Liévin : Tél. 03 21 44 89 89" in text
    assert "Mairie" not in contact_text(door_only, None)
    both = next(s for s in kb.services
                if not s.has_contact and "CCAS de votre commune ou France Services la plus proche" in (s.no_contact_door or ""))  # fmt: skip
    text = contact_text(both, kb.gazetteer.get(LIEVIN))
    assert "(Mairie de Liévin : Tél. 03 21 44 89 89" in text
    assert "France services Pimms Médiation de Lens : Tél. 03 21 28 78 17" in text


def test_human_handoff_in_lievin_through_the_engine(engine, kb) -> None:  # type: ignore[no-untyped-def]
    from bot.dialogue.api import Incoming

    state = engine.new_state()
    texts = []
    for message in ("je voudrais parler à quelqu'un", "Liévin"):
        turn = engine.handle(state, Incoming(text=message))
        state = turn.state
        texts = [r.text for r in turn.replies]
    joined = "\n".join(texts)
    assert "France services Pimms Médiation de Lens (49 Place du Général de Gaulle, 62300 Lens" in joined
    assert "Tél. 03 21 28 78 17" in joined and "aujourd'hui" in joined and "Données du 1er août 2024" in joined


def test_search_near_a_commune_named_in_the_query(kb) -> None:  # type: ignore[no-untyped-def]
    from knowledge.search import ServiceSearch

    search = ServiceSearch(kb)
    rest, commune = search.place_in_query("surendettement Amiens")
    assert rest == "surendettement" and commune is not None and commune.code_insee == "80021"
    hits = search.search("surendettement Amiens")
    assert hits[0].id == "point-conseil-budget"
    assert any(h.kind == "service" and h.distance_km is not None and h.distance_km < 10 for h in hits)


def test_synonyms_meet_and_vacance_alone_is_not_an_empty_dwelling(kb) -> None:  # type: ignore[no-untyped-def]
    from knowledge.search import ServiceSearch, search_words

    search = ServiceSearch(kb)
    atypical = {h.id for h in search.search("horaires atypiques")}
    shifted = {h.id for h in search.search("horaires décalés")}
    assert "pacte-modes-accueil-innovants-nord" in atypical & shifted
    empty_dwelling = "nord-aide-creation-logements-milieu-rural"
    assert empty_dwelling not in {h.id for h in search.search("vacance", limit=50)}
    assert empty_dwelling in {h.id for h in search.search("prime de sortie de vacance", limit=50)}
    assert "horaires atypiques" in search_words().variants("horaires decales")


def test_telegram_phones_are_tappable() -> None:
    from bot.channels.telegram_format import render_replies, tappable_phones
    from bot.dialogue.api import Reply

    assert tappable_phones("Tél. 03 21 44 89 89 · contact@lievin.fr") == "Tél. +33 3 21 44 89 89 · contact@lievin.fr"
    assert tappable_phones("appelez le 115 ou le 3919") == "appelez le 115 ou le 3919"
    assert tappable_phones("SIRET 21620510500014") == "SIRET 21620510500014"
    rendered = render_replies([Reply(text="📍 Mairie de Liévin. Tél. 03 21 44 89 89.")])
    assert rendered.messages[0].text == "📍 Mairie de Liévin. Tél. +33 3 21 44 89 89."


def test_export_json_is_serialisable(kb) -> None:  # type: ignore[no-untyped-def]
    from knowledge.cli import service_json

    record = kb.places.in_commune(MAIRIE_SOURCE, LIEVIN)[0]
    data = json.loads(json.dumps(service_json(record, 1.0)))
    assert data["horaires_accueil"] and data["telephone"] and data["origin"] == PLACE_ORIGIN


def test_the_widget_makes_place_phones_tap_to_call(kb) -> None:  # type: ignore[no-untyped-def]
    """The widget turns the phone numbers of a text into tel: links with its PHONE pattern (the
    JavaScript regular expression is also valid Python): a place line's number is one."""
    import re

    from actions.common import service_line, set_kb
    from actions.places import nearest_france_services

    script = (Path(__file__).resolve().parent.parent / "bot" / "channels" / "widget" / "aiguillage-widget.js")
    pattern = re.search(r"var PHONE = /(.+)/g;", script.read_text(encoding="utf-8"))
    assert pattern is not None
    set_kb(kb)
    lievin = kb.gazetteer.get(LIEVIN)
    line = service_line(nearest_france_services(kb, (lievin.latitude, lievin.longitude))[0], "62", lievin)
    found = re.findall(pattern.group(1), line)
    assert found == ["03 21 28 78 17"]
    assert "tel:" + re.sub(r"[\s.-]", "", found[0]) == "tel:0321287817"


def test_a_zone_of_towns_far_apart_has_no_centre(kb) -> None:  # type: ignore[no-untyped-def]
    """Lille, Amiens and Senlis (HopHopFood): their mean position is near none of them, and the programme
    was never shown in Lille (sc-041); an intercommunalité and nearby towns keep their centre."""
    from knowledge.kb import zone_centre

    assert zone_centre(["59350", "80021", "60612"], kb.gazetteer) is None
    centre = zone_centre(["200033579"], kb.gazetteer)  # the Communauté urbaine d'Arras
    assert centre is not None and 50.2 < centre[0] < 50.4 and 2.6 < centre[1] < 2.9
    lens_lievin = zone_centre(["62498", "62510"], kb.gazetteer)  # Lens, Liévin
    assert lens_lievin is not None
    hophopfood = next(s for s in kb.services if s.id == "hophopfood-paniers-anti-gaspi")
    assert hophopfood.latitude is None

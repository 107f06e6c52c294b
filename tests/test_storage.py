"""Storage: Alembic migrations, data·inclusion import/export round trip, content validation.

Each storage test runs on a real SQLite file and on the local PostgreSQL server, in a database
created for this run (named `aiguillage_test_<pid>_<random>`) and dropped at the end. Without
PostgreSQL the PostgreSQL cases are skipped, or fail when CI=true (`require`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text

import bot.channels.store_models  # noqa: F401  (registers the conversations table)
import knowledge.models  # noqa: F401
from knowledge.content import CONTENT_DIR, load_content
from knowledge.datainclusion import (
    SERVICE_FIELDS,
    STRUCTURE_FIELDS,
    export_data_inclusion,
    import_data_inclusion,
    read_data_inclusion_file,
)
from knowledge.db import MIGRATIONS_DIR, Base, make_engine, upgrade
from knowledge.kb import KnowledgeBase, sync_content
from knowledge.validate import contact_in_sources, validate

try:
    from conftest import PG_ADMIN_URL, require
except ImportError:  # pragma: no cover - another import mode
    from tests.conftest import PG_ADMIN_URL, require  # type: ignore[no-redef]

REPO = Path(__file__).resolve().parent.parent
AVIP_SERVICE = "hersin-coupigny-creche-avip"
TABLES = {"kb_meta", "schemes", "structures", "services", "conversations"}


# ---------------------------------------------------------------------------- databases
@pytest.fixture
def new_database(pg_admin, tmp_path: Path) -> Iterator[Callable[[str], Engine]]:  # type: ignore[no-untyped-def]
    """Factory: a fresh empty database of the given kind ("sqlite" or "postgresql")."""
    engines: list[Engine] = []
    pg_names: list[str] = []

    def make(kind: str) -> Engine:
        if kind == "sqlite":
            engine = make_engine(f"sqlite:///{tmp_path / f'db{len(engines)}.sqlite3'}")
        else:
            require(pg_admin is not None, f"PostgreSQL ({PG_ADMIN_URL.split('@')[-1]})")
            name = f"aiguillage_test_{os.getpid()}_{uuid.uuid4().hex[:10]}"
            with pg_admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            pg_names.append(name)
            engine = make_engine(PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}")
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.dispose()
    for name in pg_names:
        with pg_admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


KINDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def _alembic_config(connection) -> Config:  # type: ignore[no-untyped-def]
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


# ---------------------------------------------------------------------------- migrations
@pytest.mark.parametrize("kind", KINDS)
def test_migrations_build_the_models_schema(new_database, kind: str) -> None:  # type: ignore[no-untyped-def]
    engine = new_database(kind)
    upgrade(engine)
    upgrade(engine)  # idempotent
    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    with engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == head
        # the migrations create exactly what the SQLAlchemy models describe
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    assert set(inspect(engine).get_table_names()) >= TABLES
    # and they can be undone and redone
    with engine.begin() as conn:
        command.downgrade(_alembic_config(conn), "base")
    assert not TABLES & set(inspect(engine).get_table_names())
    upgrade(engine)
    assert set(inspect(engine).get_table_names()) >= TABLES


@pytest.mark.parametrize("kind", KINDS)
def test_cli_db_upgrade(new_database, kind: str, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    from bot.cli import main

    engine = new_database(kind)
    monkeypatch.setenv("AIGUILLAGE_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    assert main(["db", "upgrade"]) == 0
    assert "Base à jour" in capsys.readouterr().out
    assert set(inspect(engine).get_table_names()) >= TABLES


# ---------------------------------------------------------------------------- round trip
@pytest.mark.parametrize(
    ("source_kind", "target_kind"),
    [
        ("sqlite", "sqlite"),
        pytest.param("postgresql", "postgresql", marks=pytest.mark.postgres),
        pytest.param("sqlite", "postgresql", marks=pytest.mark.postgres),
    ],
)
def test_data_inclusion_round_trip(new_database, source_kind: str, target_kind: str) -> None:  # type: ignore[no-untyped-def]
    content = load_content()
    source = new_database(source_kind)
    upgrade(source)
    assert sync_content(source, content) is True
    assert sync_content(source, content) is False  # unchanged content: nothing rewritten
    first = export_data_inclusion(source)
    assert len(first["services"]) == len(content.services)
    for service in first["services"]:
        assert set(service) <= set(SERVICE_FIELDS)
    for structure in first["structures"]:
        assert set(structure) <= set(STRUCTURE_FIELDS)
    avip = next(s for s in first["services"] if s["id"] == AVIP_SERVICE)
    assert avip["courriel"] == "avip@ville-hersin-coupigny.fr" and avip["code_insee"] == "62443"
    assert avip["latitude"] and avip["longitude"]

    target = new_database(target_kind)
    upgrade(target)
    report = import_data_inclusion(target, first["structures"], first["services"])
    assert report.errors == []
    assert report.services == len(first["services"])
    assert report.structures == len(first["structures"])
    second = export_data_inclusion(target)
    assert json.dumps(second, sort_keys=True) == json.dumps(first, sort_keys=True)

    # importing again is an update, not a duplication
    again = import_data_inclusion(target, first["structures"], first["services"])
    assert again.errors == [] and again.services == report.services
    assert export_data_inclusion(target) == first

    # the imported services are usable by the assistant
    kb = KnowledgeBase.from_database(target, content)
    record = kb.services_by_id[AVIP_SERVICE]
    assert record.origin == "import" and record.courriel == "avip@ville-hersin-coupigny.fr"
    assert record.latitude == pytest.approx(avip["latitude"])

    # the curated content can then be loaded over its imported copy (same keys)
    assert sync_content(target, content) is True
    kb = KnowledgeBase.from_database(target, content)
    assert kb.services_by_id[AVIP_SERVICE].origin == "curated"
    assert len(kb.services) == len(content.services)


@pytest.mark.parametrize("kind", KINDS)
def test_reimporting_an_export_keeps_the_curated_services(new_database, kind: str) -> None:  # type: ignore[no-untyped-def]
    content = load_content()
    engine = new_database(kind)
    upgrade(engine)
    sync_content(engine, content)
    exported = export_data_inclusion(engine)
    report = import_data_inclusion(engine, exported["structures"], exported["services"])
    assert report.services == 0 and len(report.errors) == len(exported["services"])
    assert "YAML" in report.errors[0]
    record = KnowledgeBase.from_database(engine, content).services_by_id[AVIP_SERVICE]
    assert record.origin == "curated" and "avip-creches" in record.schemes and record.sources


# ---------------------------------------------------------------------------- malformed imports
GOOD = {"source": "test", "id": "bon-service", "structure_id": "structure-test", "nom": "Un bon service",
        "code_insee": "62443", "thematiques": ["famille--garde-denfants"]}  # fmt: skip
BAD_ITEMS = [
    "pas un objet",
    {"source": "test", "id": "sans-nom", "structure_id": "s"},
    {**GOOD, "id": "latitude-texte", "latitude": "nord", "longitude": 2.6},
    {**GOOD, "id": "latitude-hors-bornes", "latitude": 123.0, "longitude": 2.6},
    {**GOOD, "id": "insee-trop-long", "code_insee": "624430"},
    {**GOOD, "id": "code-postal-espace", "code_postal": "62 530"},
    {**GOOD, "id": "nom-trop-long", "nom": "x" * 400},
    {**GOOD, "id": "thematiques-texte", "thematiques": "famille"},
    {**GOOD, "id": 42},
]


@pytest.mark.parametrize("kind", KINDS)
def test_malformed_import_reports_errors_without_crashing(new_database, kind: str) -> None:  # type: ignore[no-untyped-def]
    engine = new_database(kind)
    upgrade(engine)
    structures = [{"source": "test", "nom": "sans id"}, {"source": "test", "id": "s2", "nom": "n" * 400}]
    report = import_data_inclusion(engine, structures, [GOOD, *BAD_ITEMS])
    assert report.services == 1  # the good one
    assert len(report.errors) == len(BAD_ITEMS) + len(structures)
    joined = "\n".join(report.errors)
    for expected in ("service n°2", "champs obligatoires", "latitude", "code_insee", "code_postal", "nom",
                     "thematiques", "structure n°1", "structure n°2"):  # fmt: skip
        assert expected in joined
    services = export_data_inclusion(engine)["services"]
    assert [s["id"] for s in services] == ["bon-service"]
    assert services[0]["latitude"]  # placed at its commune's centre


def test_malformed_files(tmp_path: Path) -> None:
    cases = {
        "absent.json": None,
        "invalide.json": '{"services": [',
        "format.json": '{"autre": 1}',
        "binaire.json": b"\xff\xfe\x00",
    }
    for name, payload in cases.items():
        path = tmp_path / name
        if isinstance(payload, bytes):
            path.write_bytes(payload)
        elif payload is not None:
            path.write_text(payload, encoding="utf-8")
        with pytest.raises(ValueError) as info:
            read_data_inclusion_file(path)
        assert name in str(info.value) or "format attendu" in str(info.value)
    with pytest.raises(ValueError):
        read_data_inclusion_file(tmp_path)  # a folder
    (tmp_path / "liste.json").write_text(json.dumps([GOOD]), encoding="utf-8")
    assert read_data_inclusion_file(tmp_path / "liste.json") == ([], [GOOD])


def test_cli_import_of_a_malformed_file(tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    from bot.cli import main

    monkeypatch.setenv("AIGUILLAGE_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    path = tmp_path / "services.json"
    path.write_text(json.dumps({"services": [GOOD, *BAD_ITEMS[1:4]]}), encoding="utf-8")
    assert main(["kb", "import", str(path)]) == 1
    out, err = capsys.readouterr()
    assert "1 services importés" in out
    assert err.count("  - service n°") == 3
    (tmp_path / "cassé.json").write_text("{", encoding="utf-8")
    assert main(["kb", "import", str(tmp_path / "cassé.json")]) == 2
    assert "Import impossible" in capsys.readouterr().err


# ---------------------------------------------------------------------------- content validation
def test_kb_validate_passes_on_the_real_content(tmp_path: Path) -> None:
    script = REPO / ".venv" / "bin" / "aiguillage"
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "bot.cli"]
    env = {**os.environ, "AIGUILLAGE_DATA_DIR": str(tmp_path)}
    result = subprocess.run([*cmd, "kb", "validate"], capture_output=True, text=True, env=env, timeout=240)
    assert result.returncode == 0, result.stderr
    assert "Contenu valide" in result.stdout


@pytest.fixture
def tampered_content(tmp_path: Path) -> Path:
    """A copy of the content where a contact and a quote are no longer in their sources."""
    folder = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, folder)
    path = folder / "services" / "seed-002-hauts-de-france-rural.yml"
    text_ = path.read_text(encoding="utf-8")
    assert "courriel: avip@ville-hersin-coupigny.fr" in text_
    text_ = text_.replace(
        "courriel: avip@ville-hersin-coupigny.fr", "courriel: creche@ville-hersin-coupigny.fr"
    )
    text_ = text_.replace("créer 3 places supplémentaires", "créer 30 places supplémentaires")
    path.write_text(text_, encoding="utf-8")
    return folder


def test_validate_reports_a_contact_not_in_its_source(tampered_content: Path) -> None:
    baseline = set(validate(load_content(CONTENT_DIR)).problems)
    report = validate(load_content(tampered_content))
    assert not report.ok
    new = [p for p in report.problems if p not in baseline]
    assert len(new) == 2, new
    assert any(AVIP_SERVICE in p and "creche@ville-hersin-coupigny.fr" in p and "courriel" in p for p in new)
    assert any(AVIP_SERVICE in p and "citation absente" in p for p in new)


def test_cli_validate_fails_with_a_readable_report(tampered_content: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    import knowledge.validate
    from bot.cli import main

    monkeypatch.setattr(knowledge.validate, "load_content", lambda: load_content(tampered_content))
    assert main(["kb", "validate"]) == 1
    err = capsys.readouterr().err
    assert "problème(s)" in err and f"service {AVIP_SERVICE}: courriel" in err
    assert "Traceback" not in err


def test_contact_matching_rules() -> None:
    from knowledge.schema import Source

    quote = [Source(seed="x.txt", quote="Contact : 03.21.00.00.00 - accueil@mairie.fr")]
    assert contact_in_sources("03 21 00 00 00", quote, "telephone")  # spacing may differ
    assert contact_in_sources("accueil@mairie.fr", quote, "courriel")
    assert not contact_in_sources("autre@mairie.fr", quote, "courriel")
    assert not contact_in_sources("03 21 00 00 01", quote, "telephone")
    page = [Source(url="https://www.exemple.fr/aide/")]
    assert contact_in_sources("https://www.exemple.fr/aide", page, "site_web")

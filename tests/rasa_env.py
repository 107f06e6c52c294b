"""A separate virtual environment with the [rasa] extra, for the action-server test.

rasa-sdk pins its dependencies exactly (rasa-sdk 3.21: pydantic>=2.13.4,<2.14,
websockets<16, typing-extensions 4.16.x, protobuf 7.36.x, sanic 25.12.x, grpcio 1.84.x,
opentelemetry 1.45.x). pip resolves `aiguillage[rasa]` without conflict, but to versions that
differ from the main environment's (pydantic 2.14, websockets 17): installing the extra into
`.venv` would downgrade them under the running assistant. So it gets its own environment,
`.venv-rasa/` at the repository root (or `$AIGUILLAGE_RASA_VENV`), built as a user would:

    python -m venv .venv-rasa
    .venv-rasa/bin/python -m pip install -e '.[rasa]'

`--no-compile` is added here: writing the .pyc files of the whole stack (spaCy, SciPy...) took
about a minute of the two; the modules the action server imports are compiled on first use.
A stamp file written after a successful install (and `pip check`) marks the environment
complete; it records pyproject.toml's hash, the repository and the Python version, so the
environment is rebuilt when the dependencies change and reused otherwise (the install is
editable: code changes need no reinstall). A lock serialises concurrent test sessions.

Run `python tests/rasa_env.py` to build it by hand; it prints where it is and how long it took.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STAMP = "aiguillage-rasa-env.json"
INSTALL_TIMEOUT = 900  # seconds; a normal install takes well under two minutes


class RasaEnvError(RuntimeError):
    """The separate environment could not be built (the message says which step failed)."""


@dataclass(frozen=True)
class RasaEnv:
    path: Path
    python: Path
    rasa_sdk_version: str
    install_seconds: float | None  # None when an existing complete environment was reused


def venv_path(repo: Path = REPO) -> Path:
    env = os.environ.get("AIGUILLAGE_RASA_VENV", "").strip()
    return Path(env).resolve() if env else repo / ".venv-rasa"


def _fingerprint(repo: Path) -> dict[str, str]:
    pyproject = (repo / "pyproject.toml").read_bytes()
    return {
        "pyproject_sha256": hashlib.sha256(pyproject).hexdigest(),
        "repo": str(repo.resolve()),
        "python": ".".join(map(str, sys.version_info[:3])),
    }


def _python_of(path: Path) -> Path:
    return path / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _run(cmd: list[str], step: str, timeout: float) -> str:
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"}}
    try:
        done = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=REPO, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise RasaEnvError(f"{step}: plus de {timeout:.0f} s ({' '.join(cmd)})") from exc
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-25:])
        raise RasaEnvError(f"{step} a échoué (code {done.returncode}) :\n{tail}")
    return done.stdout


def _rasa_sdk_version(python: Path) -> str:
    out = _run(
        [str(python), "-c", "import actions, rasa_sdk; print(rasa_sdk.__version__)"],
        "import de rasa_sdk et actions",
        timeout=120,
    )
    return out.strip().splitlines()[-1]


def _complete(path: Path, repo: Path) -> bool:
    stamp = path / STAMP
    if not stamp.is_file() or not _python_of(path).exists():
        return False
    try:
        recorded = json.loads(stamp.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return all(recorded.get(k) == v for k, v in _fingerprint(repo).items())


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock per environment path, kept outside the work tree."""
    key = hashlib.sha256(str(path).encode()).hexdigest()[:16]
    with open(Path(tempfile.gettempdir()) / f"aiguillage-rasa-env-{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def ensure_rasa_env(repo: Path = REPO, path: Path | None = None) -> RasaEnv:
    """The environment with `aiguillage[rasa]` installed: reused if complete, (re)built otherwise."""
    path = (path or venv_path(repo)).resolve()
    if path in {Path(sys.prefix).resolve(), (repo / ".venv").resolve()}:
        raise RasaEnvError(f"{path} est l'environnement principal : il faut un environnement séparé")
    python = _python_of(path)
    with _locked(path):
        if _complete(path, repo):
            try:
                return RasaEnv(path, python, _rasa_sdk_version(python), None)
            except RasaEnvError:
                pass  # broken since it was stamped: rebuild it
        started = time.monotonic()
        if path.exists():
            shutil.rmtree(path)
        _run([sys.executable, "-m", "venv", str(path)], "python -m venv", timeout=300)
        _run(
            [
                str(python), "-m", "pip", "install", "--quiet", "--no-compile", "--progress-bar", "off",
                "--disable-pip-version-check", "-e", f"{repo}[rasa]",
            ],
            "pip install -e '.[rasa]'",
            timeout=INSTALL_TIMEOUT,
        )  # fmt: skip
        _run([str(python), "-m", "pip", "check"], "pip check", timeout=120)
        version = _rasa_sdk_version(python)
        seconds = time.monotonic() - started
        stamp = {**_fingerprint(repo), "rasa_sdk": version, "install_seconds": round(seconds, 1)}
        (path / STAMP).write_text(json.dumps(stamp, indent=2) + "\n", encoding="utf-8")
        return RasaEnv(path, python, version, seconds)


if __name__ == "__main__":
    try:
        built = ensure_rasa_env()
    except RasaEnvError as exc:
        sys.exit(str(exc))
    how = "réutilisé" if built.install_seconds is None else f"installé en {built.install_seconds:.0f} s"
    print(f"{built.path} : rasa-sdk {built.rasa_sdk_version}, {how}")

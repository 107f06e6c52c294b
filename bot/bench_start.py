"""Start-up figures for `aiguillage bench`: time from launching `aiguillage chat --json` to its
first answer (a new database, then the same database again), and the NLU training time."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
FIRST_MESSAGE = '{"text": "bonjour"}\n'


def time_to_first_answer(env: dict[str, str]) -> float:
    """Seconds from launching `aiguillage chat --json` to its first answer line."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "chat", "--json"], cwd=REPO, env=env, text=True,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(FIRST_MESSAGE)
        process.stdin.flush()
        line = process.stdout.readline()
        seconds = time.perf_counter() - started
        process.stdin.close()
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    if '"replies"' not in line:
        raise RuntimeError(f"aiguillage chat --json n'a pas répondu : {line[:200]!r}")
    return seconds


def start_rows(row: Callable[..., Any], progress: Callable[[str], None]) -> list[Any]:
    from bot.nlu.interpreter import default_model_path, train_and_save

    rows = []
    model = default_model_path()
    with tempfile.TemporaryDirectory(prefix="aiguillage-bench-start-") as folder:
        env = {**os.environ, "AIGUILLAGE_DATA_DIR": folder, "AIGUILLAGE_NLU_MODEL": str(model),
               "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}  # fmt: skip
        progress("démarrage à froid, base neuve")
        first = time_to_first_answer(env)
        rows.append(row("Premier démarrage sur une base neuve, jusqu'à la 1re réponse", f"{first:.1f} s",
                        "migrations, contenu, import des annuaires (39 759 lieux), caches écrits ; modèle NLU déjà entraîné",
                        "echo '{\"text\": \"bonjour\"}' | aiguillage chat --json"))  # fmt: skip
        progress("démarrage à froid, base à jour")
        again = [time_to_first_answer(env) for _ in range(2)]
        rows.append(row("Démarrage à froid jusqu'à la 1re réponse (base à jour)", f"{min(again):.1f} s",
                        f"meilleur de 2 lancements ({', '.join(f'{s:.1f}' for s in again)} s) : imports, base, "
                        "vecteurs de mots, classifieur, lecteur, 1er tour", "echo '{\"text\": \"bonjour\"}' | aiguillage chat --json"))  # fmt: skip
        progress("entraînement du modèle de langue")
        started = time.perf_counter()
        train_and_save(out=Path(folder) / "nlu.joblib")
        rows.append(row("Entraînement du modèle de langue", f"{time.perf_counter() - started:.1f} s",
                        "classifieur d'intentions (data/nlu/) et lecteur de situations, vecteurs déjà exportés", "aiguillage nlu train --out …"))  # fmt: skip
    return rows

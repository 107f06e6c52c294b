"""Saving and loading a compiled model: plain pickle (protocol 5), written atomically.

The compiled models hold dicts (vocabularies) and numpy arrays only. joblib's loader unpickles
with Python's pure-Python unpickler (~1.6 s for the two models); the C unpickler takes ~0.2 s.
The files keep their historical names (`nlu.joblib`, `situation.joblib`, `situation_en.joblib`, see the settings).
"""

from __future__ import annotations

import pickle
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

Model = TypeVar("Model")


class OutdatedModel(ValueError):
    """A model file saved by an older version of the code (or unreadable): to be retrained."""


def save_model(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with partial.open("wb") as handle:
        pickle.dump(data, handle, protocol=5)
    partial.replace(path)


def load_model(path: Path, required: str) -> dict[str, Any]:
    """The saved dict; OutdatedModel when it is not one of ours or lacks `required`."""
    try:
        with path.open("rb") as handle:
            data = pickle.load(handle)
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, ModuleNotFoundError) as exc:
        raise OutdatedModel(f"modèle illisible ou d'un ancien format : {path} ({type(exc).__name__})") from exc
    if not isinstance(data, dict) or required not in data:
        raise OutdatedModel(f"modèle d'un ancien format : {path}")
    return data


def load_or_train(
    path: Path,
    load: Callable[[Path], Model],
    fingerprint: str,
    train: Callable[[], Model],
    auto_train: bool,
    absent: str,
    training: str,
) -> Model:
    """The saved model if it was trained on the data `fingerprint` stands for; else, with
    `auto_train`, a new one (`training` said on stderr). Without `auto_train` an outdated file is
    still returned (OutdatedModel for an unreadable one) and a missing one is FileNotFoundError."""
    if path.exists():
        try:
            model = load(path)
        except OutdatedModel:
            if not auto_train:
                raise
        else:
            if model.meta.get("fingerprint") == fingerprint or not auto_train:  # type: ignore[attr-defined]
                return model
    if not auto_train:
        raise FileNotFoundError(f"{absent} absent : {path} (lancez `aiguillage nlu train`)")
    print(training, file=sys.stderr)
    return train()

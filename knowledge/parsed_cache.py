"""Parsed files kept as a pickle, keyed by the bytes of their sources: a start reads one file
instead of parsing YAML (the content, ~2 s) or CSV (the communes, ~2 s) again.

The key is the SHA-256 of every source file's relative path and bytes, of the bytes of the
modules that parse them and define what they become (`code`), with the Python version and a
version string: a changed, added or removed file, or changed parsing code, gives a new key, so a
stale cache is never read. The pickles live in the local data folder (the same
trust as the SQLite file there); one that cannot be read is parsed again and rewritten. Writes
are atomic (temporary file + rename), so processes starting together never read half a file.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)
#: set to "0" to parse every time (no cache read nor written)
ENV_SWITCH = "AIGUILLAGE_PARSE_CACHE"


def sources_digest(root: Path, files: Iterable[Path], version: str, code: Iterable[Path] = ()) -> str:
    digest = hashlib.sha256(f"{sys.version_info[:3]}|{version}".encode())
    for path in sorted(files):
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    for path in sorted(code):
        digest.update(b"code:" + path.name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def cache_folder() -> Path:
    from knowledge.db import data_dir

    folder = data_dir() / "cache"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def cached_parse(name: str, root: Path, files: Iterable[Path], version: str, parse: Callable[[], T],
                 folder: Path | None = None, code: Iterable[Path] = ()) -> T:  # fmt: skip
    """`parse()`, or its pickled result from a previous start with the very same source bytes."""
    if os.environ.get(ENV_SWITCH, "1") == "0":
        return parse()
    folder = folder or cache_folder()
    key = sources_digest(root, files, version, code)
    path = folder / f"{name}-{key[:32]}.pickle"
    try:
        with path.open("rb") as fh:
            return pickle.load(fh)  # noqa: S301 - our own file in the local data folder, keyed by content
    except FileNotFoundError:
        pass
    except Exception as exc:  # noqa: BLE001 - an unreadable cache is parsed again
        log.warning("cache %s illisible (%s) : nouvelle lecture des sources", path.name, type(exc).__name__)
    value = parse()
    _write(path, value)
    for old in folder.glob(f"{name}-*.pickle"):
        if old != path:
            old.unlink(missing_ok=True)
    return value


def _write(path: Path, value: object) -> None:
    try:
        with tempfile.NamedTemporaryFile("wb", dir=path.parent, delete=False, suffix=".tmp") as fh:
            pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(fh.name, path)
    except OSError as exc:  # a read-only data folder: parse at each start
        log.warning("cache %s non écrit (%s)", path.name, exc.strerror or exc)

"""YAML reading with libyaml's C parser when PyYAML has it (about ten times faster than the pure
Python one, same safe semantics): the content, the NLU data and the responses are read at start."""

from __future__ import annotations

from typing import IO, Any

import yaml

_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(source: str | bytes | IO[str] | IO[bytes]) -> Any:
    """What `yaml.safe_load` reads, with the C parser when available."""
    return yaml.load(source, Loader=_LOADER)  # noqa: S506 - a safe loader (CSafeLoader or SafeLoader)

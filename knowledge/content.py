"""Load the curated YAML content (schemes, services, emergency numbers, questions)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from knowledge.schema import EmergencyNumber, Question, Scheme, Service
from knowledge.yamlio import load_yaml

CONTENT_DIR = Path(__file__).parent / "content"
REPO_ROOT = Path(__file__).resolve().parent.parent


def seeds_dir() -> Path:
    """Folder of the source documents: $AIGUILLAGE_SEEDS_DIR or ../shared/seeds beside the repo."""
    env = os.environ.get("AIGUILLAGE_SEEDS_DIR")
    if env:
        return Path(env)
    return REPO_ROOT.parent / "shared" / "seeds"


@dataclass
class ContentError:
    file: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.message}"


@dataclass
class Content:
    schemes: list[Scheme] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)
    emergency: list[EmergencyNumber] = field(default_factory=list)
    questions: list[Question] = field(default_factory=list)
    errors: list[ContentError] = field(default_factory=list)


def _read_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as fh:
        return load_yaml(fh)


def _parse_items(path: Path, data: Any, model: type[BaseModel], errors: list[ContentError]) -> list[Any]:
    items = data if isinstance(data, list) else [data]
    parsed = []
    for index, item in enumerate(items):
        try:
            parsed.append(model.model_validate(item))
        except ValidationError as exc:
            label = item.get("id", f"#{index}") if isinstance(item, dict) else f"#{index}"
            for err in exc.errors():
                loc = ".".join(str(p) for p in err["loc"])
                errors.append(ContentError(path.name, f"{label}: {loc}: {err['msg']}"))
    return parsed


def _load_dir(folder: Path, model: type[BaseModel], errors: list[ContentError]) -> list[Any]:
    out: list[Any] = []
    for path in sorted(folder.glob("*.yml")):
        try:
            data = _read_yaml(path)
        except yaml.YAMLError as exc:
            errors.append(ContentError(path.name, f"YAML invalide : {exc}"))
            continue
        if data is None:
            continue
        out.extend(_parse_items(path, data, model, errors))
    return out


def load_content(content_dir: Path = CONTENT_DIR) -> Content:
    """Parse every YAML file; schema problems are collected in `errors`, never raised."""
    errors: list[ContentError] = []
    content = Content(errors=errors)
    content.schemes = _load_dir(content_dir / "schemes", Scheme, errors)
    content.services = _load_dir(content_dir / "services", Service, errors)
    for name, model, attr in (
        ("emergency.yml", EmergencyNumber, "emergency"),
        ("questions.yml", Question, "questions"),
    ):
        path = content_dir / name
        if path.exists():
            setattr(content, attr, _parse_items(path, _read_yaml(path) or [], model, errors))
    return content


#: bump when the parsing code or the models change shape (the cached pickle is then read no more)
CONTENT_CACHE_VERSION = "1"


@lru_cache(maxsize=1)
def default_content() -> Content:
    from knowledge.parsed_cache import cached_parse

    files = [p for p in CONTENT_DIR.rglob("*") if p.is_file() and p.suffix in {".yml", ".yaml"}]
    here = Path(__file__).parent
    content = cached_parse("content", CONTENT_DIR, files, CONTENT_CACHE_VERSION, load_content,
                           code=[here / "content.py", here / "schema.py"])
    if content.errors:
        details = "\n".join(str(e) for e in content.errors[:20])
        raise RuntimeError(f"Le contenu YAML est invalide (lancez `aiguillage kb validate`):\n{details}")
    return content

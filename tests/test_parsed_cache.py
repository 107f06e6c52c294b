"""The parsed-files cache (knowledge/parsed_cache.py): read back only for the very same source bytes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from knowledge import parsed_cache
from knowledge.gazetteer import DATA_DIR, Gazetteer, _load_cached
from knowledge.parsed_cache import cached_parse


class Parser:
    """Counts its calls and returns what the files say."""

    def __init__(self, root: Path) -> None:
        self.root, self.calls = root, 0

    def __call__(self) -> dict[str, str]:
        self.calls += 1
        return {p.name: p.read_text() for p in sorted(self.root.glob("*.yml"))}


def _parse(root: Path, parser: Parser, cache: Path, version: str = "1") -> dict[str, str]:
    return cached_parse("essai", root, list(root.glob("*.yml")), version, parser, folder=cache)


@pytest.fixture
def sources(tmp_path: Path) -> tuple[Path, Path]:
    root, cache = tmp_path / "sources", tmp_path / "cache"
    root.mkdir()
    cache.mkdir()
    (root / "a.yml").write_text("a: 1\n")
    (root / "b.yml").write_text("b: 2\n")
    return root, cache


def test_same_bytes_are_read_back_without_parsing(sources: tuple[Path, Path]) -> None:
    root, cache = sources
    parser = Parser(root)
    first = _parse(root, parser, cache)
    assert _parse(root, parser, cache) == first and parser.calls == 1
    (root / "a.yml").touch()  # a new date alone changes nothing
    assert _parse(root, parser, cache) == first and parser.calls == 1


def test_a_changed_added_or_removed_file_is_parsed_again(sources: tuple[Path, Path]) -> None:
    root, cache = sources
    parser = Parser(root)
    _parse(root, parser, cache)
    (root / "a.yml").write_text("a: 3\n")  # same length, other bytes
    assert _parse(root, parser, cache)["a.yml"] == "a: 3\n" and parser.calls == 2
    (root / "c.yml").write_text("c: 4\n")
    assert "c.yml" in _parse(root, parser, cache) and parser.calls == 3
    (root / "b.yml").unlink()
    assert "b.yml" not in _parse(root, parser, cache) and parser.calls == 4
    assert len(list(cache.glob("essai-*.pickle"))) == 1  # older pickles are removed


def test_new_parsing_code_is_not_served_an_old_pickle(sources: tuple[Path, Path]) -> None:
    root, cache = sources
    parser = Parser(root)
    _parse(root, parser, cache, version="1")
    _parse(root, parser, cache, version="2")
    assert parser.calls == 2


def test_an_unreadable_cache_is_parsed_again(sources: tuple[Path, Path], caplog: pytest.LogCaptureFixture) -> None:
    root, cache = sources
    parser = Parser(root)
    expected = _parse(root, parser, cache)
    (pickled,) = cache.glob("essai-*.pickle")
    pickled.write_bytes(b"\x80\x05 tronque")
    assert _parse(root, parser, cache) == expected and parser.calls == 2
    assert "illisible" in caplog.text
    assert _parse(root, parser, cache) == expected and parser.calls == 2  # rewritten whole


def test_the_switch_turns_the_cache_off(sources: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    root, cache = sources
    monkeypatch.setenv(parsed_cache.ENV_SWITCH, "0")
    parser = Parser(root)
    _parse(root, parser, cache)
    _parse(root, parser, cache)
    assert parser.calls == 2 and not list(cache.iterdir())


def test_the_gazetteer_from_its_pickle_is_the_parsed_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIGUILLAGE_DATA_DIR", str(tmp_path / "data"))
    folder = tmp_path / "gazetteer"
    shutil.copytree(DATA_DIR, folder, ignore=shutil.ignore_patterns("places"))
    parsed = Gazetteer.from_folder(folder)
    _load_cached.cache_clear()
    written = Gazetteer.load(folder)  # parses, writes the pickle
    _load_cached.cache_clear()
    read_back = Gazetteer.load(folder)
    assert len(list((tmp_path / "data" / "cache").glob("gazetteer-*.pickle"))) == 1
    for gazetteer in (written, read_back):
        assert len(gazetteer) == len(parsed)
        assert gazetteer.get("62443") == parsed.get("62443")
        assert gazetteer.nearest(50.447, 2.648) == parsed.nearest(50.447, 2.648)
        assert gazetteer.resolve("Liévin") == parsed.resolve("Liévin")
    _load_cached.cache_clear()


def test_changed_parsing_code_is_parsed_again(sources: tuple[Path, Path], tmp_path: Path) -> None:
    root, cache = sources
    module = tmp_path / "lecteur.py"
    module.write_text("VERSION = 1\n")
    parser = Parser(root)
    for _ in range(2):
        cached_parse("essai", root, list(root.glob("*.yml")), "1", parser, folder=cache, code=[module])
    assert parser.calls == 1
    module.write_text("VERSION = 2\n")
    cached_parse("essai", root, list(root.glob("*.yml")), "1", parser, folder=cache, code=[module])
    assert parser.calls == 2

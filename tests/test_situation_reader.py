"""The situation reader: multi-label needs and schemes, speaker role, question asked.

Scores are measured on the held-out set in tests/situations/ (never trained on); the floors
below sit a little under the figures recorded in docs/situations.md, so a regression fails.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.nlu.situation_data import (
    ASKS,
    ROLES,
    content_examples,
    load_situations,
    read_situation_file,
    vocabulary,
)
from bot.nlu.situation_eval import load_cases, score_reading

DATA = Path(__file__).resolve().parents[1] / "data" / "situations"
ENGLISH = DATA.with_name("situations_en")


def test_every_situation_file_parses_with_known_labels() -> None:
    vocab = vocabulary()
    total = 0
    for path in sorted([*DATA.glob("*.yml"), *ENGLISH.glob("*.yml")]):
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        items = raw["situations"]
        examples = read_situation_file(path, vocab)
        assert len(examples) == len(items), path.name
        for item in items:
            assert item.get("role", "self") in ROLES, (path.name, item)
            assert item.get("asks", "orientation") in ASKS, (path.name, item)
        total += len(examples)
    assert total >= 2000


def test_unknown_labels_are_dropped_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "x.yml"
    path.write_text(
        'version: "1"\nsituations:\n  - {text: "ma maison est vide", needs: [logement_vacant, pas-un-besoin],'
        " schemes: [prime-sortie-vacance, inconnu-xyz]}\n",
        encoding="utf-8",
    )
    vocab = vocabulary()
    [example] = read_situation_file(path, vocab)
    assert example.needs == ("logement_vacant",)
    assert example.schemes == ("prime-sortie-vacance",)
    assert vocab.dropped == {"pas-un-besoin": 1, "inconnu-xyz": 1}


def test_every_scheme_and_need_is_taught_by_the_content_itself() -> None:
    vocab = vocabulary()
    taught = content_examples(vocab)
    assert {s for e in taught for s in e.schemes} == vocab.schemes
    assert {n for e in taught for n in e.needs} == vocab.needs


def test_examples_are_unique_texts() -> None:
    examples = load_situations()
    texts = [e.text.lower() for e in examples]
    assert len(texts) == len(set(texts))


@pytest.fixture(scope="module")
def reading(interpreter):  # type: ignore[no-untyped-def]
    return score_reading(interpreter.reader, load_cases())


def test_heldout_set_is_large_and_never_trained_on() -> None:
    cases = load_cases()
    assert len(cases) >= 400
    trained = {e.text.strip().lower() for e in load_situations()}
    assert not [c.id for c in cases if c.text.strip().lower() in trained]


def test_reading_scores_on_the_heldout_set(reading) -> None:  # type: ignore[no-untyped-def]
    summary = reading.summary()
    assert summary["needs_f1"] >= 0.70, summary
    assert summary["role_accuracy"] >= 0.80, summary
    assert summary["asks_accuracy"] >= 0.70, summary
    assert summary["schemes_irrelevant"] <= 0.25, summary


def test_several_needs_in_one_message(interpreter) -> None:  # type: ignore[no-untyped-def]
    read = interpreter.parse("impayés de cantine et retard EDF, je suis seul avec mes deux filles").situation
    assert {"cantine", "energie"} <= set(read.need_ids), read


def test_a_scheme_described_without_its_name(interpreter) -> None:  # type: ignore[no-untyped-def]
    read = interpreter.parse(
        "j'ai hérité d'une maison vide depuis des années, je voudrais la rénover pour la louer"
    ).situation
    assert "prime-sortie-vacance" in read.scheme_ids, read
    assert "fonds-solidarite-logement" not in read.scheme_ids, read


def test_the_speaker_is_read(interpreter) -> None:  # type: ignore[no-untyped-def]
    agent = interpreter.parse("je reçois au guichet une usagère de 52 ans qui a 3 enfants").situation
    assert agent.role == "agent", agent
    person = interpreter.parse("j'ai 52 ans et 3 enfants, je cherche du travail").situation
    assert person.role == "self", person


def test_a_proper_name_is_read_for_sure(interpreter) -> None:  # type: ignore[no-untyped-def]
    read = interpreter.parse("c koi le PCB").situation
    assert read.schemes[0] == ("point-conseil-budget", 1.0)


def test_a_communes_name_is_not_read_as_what_the_message_is_about(interpreter) -> None:  # type: ignore[no-untyped-def]
    """« montreuil » pulled the reading towards the examples written in Montreuil (93): « pas de
    taf » fell from 0.78 to 0.63. The reader reads the message without the communes found in it."""
    from bot.nlu.entities import Entity
    from bot.nlu.interpreter import without_places

    text = "jhabite montreuil dans le 62, jai pas de logement a moi et pas de taf"
    parsed = interpreter.parse(text)
    assert [e.value for e in parsed.entities if e.entity == "commune"] == ["62588"]
    masked = without_places(text, parsed.entities)
    assert masked == "jhabite  dans le 62, jai pas de logement a moi et pas de taf"
    assert parsed.situation.needs == interpreter.reader.read(masked).needs
    # overlapping readings of one name are cut once; the rest of the text stays
    both = [Entity("commune", "1", 2, 6), Entity("commune", "2", 2, 6), Entity("commune", "3", 10, 16)]
    assert without_places("a Lens et Liévin ok", both) == "a  et  ok"


def test_each_message_is_read_by_the_reader_of_its_language(interpreter) -> None:  # type: ignore[no-untyped-def]
    """The English reader learns from data/situations_en/ too; a French message is read by the
    French reader, whose readings the English situations do not move (docs/situations.md)."""
    english = "we are a family of five and we need food, my husband is sick and cannot work"
    french = "on est cinq a la maison et il reste plus rien pour manger, mon mari est malade"
    parsed_en, parsed_fr = interpreter.parse_many([english, french])
    assert (parsed_en.language, parsed_fr.language) == ("en", "fr")
    english_reader, french_reader = interpreter.readers["en"], interpreter.readers["fr"]
    assert french_reader is interpreter.reader and english_reader is not french_reader
    assert english_reader.meta["examples"] > french_reader.meta["examples"]
    assert parsed_en.situation.needs == english_reader.read(english).needs
    assert parsed_fr.situation.needs == french_reader.read(french).needs
    # the two readers read the English message differently: the routing is what gives the reading
    assert english_reader.scores(english, "needs") != french_reader.scores(english, "needs")
    assert "alimentation" in dict(parsed_en.situation.needs)


def test_a_need_said_in_a_sentence_of_its_own_is_not_drowned(interpreter) -> None:  # type: ignore[no-untyped-def]
    """Read as one text, « je ne sais pas lire très bien » after a long sentence about a daughter's
    holidays had the basic skills need at 0.17 (1.00 alone): the needs are read sentence by sentence too."""
    reader = interpreter.reader
    holidays = ("Ma fille de 16 ans voudrait partir en vacances avec ses copines cet été, elle a trouvé un séjour "
                "en camping au bord de la mer mais c'est cher pour nous.")
    reading = "Par contre je ne sais pas lire très bien."
    whole = dict(zip(reader.heads["needs"].classes, reader.heads["needs"].proba(
        reader.features.encode(f"{holidays} {reading}")), strict=True))
    assert whole["savoirs_de_base"] < reader.thresholds["needs"]  # what the sentences are read for
    read = reader.read(f"{holidays} {reading}")
    assert {"vacances", "savoirs_de_base"} <= set(read.need_ids), read

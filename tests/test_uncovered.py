"""Aids named that the knowledge base does not cover (knowledge/content/uncovered.yml)."""

from __future__ import annotations

import re

from actions.common import needs_catalogue
from knowledge.uncovered import load_topics, named_topics


def test_every_topic_leads_to_a_known_need_and_says_no_fact(kb) -> None:  # type: ignore[no-untyped-def]
    topics = load_topics()
    assert len(topics) >= 5
    needs = set(needs_catalogue())
    for topic in topics:
        assert topic.need in needs, topic.id
        assert set(topic.doors) <= set(kb.schemes), topic.id
        assert topic.aliases and all(a == a.lower() for a in topic.aliases), topic.id
        assert not any(ch.isdigit() for ch in topic.name), topic.id  # a name, never an amount or a number


def test_topics_are_named_as_whole_phrases() -> None:
    assert named_topics("mon mari est décédé, comment toucher sa pension de réversion?") == ["pension-reversion"]
    assert named_topics("Je voudrais un avocat gratuit pour mon divorce") == ["aide-juridictionnelle"]
    assert named_topics("elle a une PCH") == ["prestation-compensation-handicap"]
    assert named_topics("j'ai pas de chauffage") == []
    assert named_topics("une papaye") == []  # « apa » inside a word is not the APA


def test_where_to_ask_is_an_official_quote() -> None:
    """`where` is said as a quote of an official page: its sentence, its address, its check date."""
    with_where = [t for t in load_topics() if t.where]
    assert with_where, "at least the PCH says where to ask"
    for topic in with_where:
        where = topic.where or {}
        assert where["url"].startswith("https://") and ".gouv.fr/" in where["url"], topic.id
        assert where["site"] in where["url"], topic.id
        assert len(where["quote"]) > 30 and where["quote"].endswith("."), topic.id
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", where["verified"]), topic.id

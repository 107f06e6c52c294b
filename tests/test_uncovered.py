"""Aids named that the knowledge base does not cover (knowledge/content/uncovered.yml)."""

from __future__ import annotations

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

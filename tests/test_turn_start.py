"""Typed button titles count as pressing them; the reply language is chosen per turn and kept."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.dialogue.api import Button, Incoming, Reply
from bot.dialogue.responses import label, say, set_language
from bot.dialogue.turn_start import (
    begin_turn,
    choose_language,
    remember_buttons,
    typed_button,
    without_repeated_numbers,
)


@pytest.fixture(autouse=True)
def french_after() -> None:  # type: ignore[misc]
    yield
    set_language("fr")


def test_typed_title_becomes_the_payload() -> None:
    state: dict = {}
    remember_buttons(state, [Reply("?", [Button("Autre besoin", "/ask_help"), Button("Pas d'enfant", "Pas d'enfant")])])
    assert typed_button(state, "autre besoin") == "/ask_help"
    assert typed_button(state, "  AUTRE BESOIN !") == "/ask_help"
    assert typed_button(state, "pas d enfant") == "Pas d'enfant"
    assert typed_button(state, "un autre besoin urgent") is None
    _, incoming = begin_turn(state, Incoming(text="Autre besoin"))
    assert incoming.text == "/ask_help"


def test_stored_buttons_are_validated() -> None:
    state = {"buttons": {"autre besoin": 3, "x" * 500: "/a", "ok": "/affirm"}}
    assert typed_button(state, "autre besoin") is None
    assert typed_button(state, "ok") == "/affirm"
    assert typed_button({"buttons": ["not", "a", "dict"]}, "ok") is None


def test_only_the_last_replys_buttons_count() -> None:
    state: dict = {}
    remember_buttons(state, [Reply("?", [Button("Autre besoin", "/ask_help")])])
    state, _ = begin_turn(state, Incoming(text="bonjour"))
    remember_buttons(state, [Reply("ok")])
    assert typed_button(state, "autre besoin") is None


@pytest.mark.parametrize(
    ("current", "text", "lang"),
    [
        (None, "Hello, I need help to find food for my kids", "en"),
        (None, "bonjour j'ai besoin d'aide", "fr"),
        ("en", "Lens", "en"),  # short answers keep the language
        ("en", "3", "en"),
        ("en", "je cherche une aide pour la cantine", "fr"),  # French again switches back
        ("fr", "ok", "fr"),
        (None, "/express_need{\"need\": \"logement\"}", "fr"),
    ],
)
def test_language_is_sticky(current: str | None, text: str, lang: str) -> None:
    assert choose_language(current, text) == lang


def test_say_and_label_follow_the_language() -> None:
    state, _ = begin_turn({}, Incoming(text="Hello, where can I find help with my rent?"))
    assert state["lang"] == "en"
    assert say("ask_need", variant=0).startswith("Tell me")
    assert label("buttons", "other_need") == "Another need"
    set_language("fr")
    assert say("ask_need", variant=0).startswith("Dites-moi")
    assert label("buttons", "other_need") == "Autre besoin"


@pytest.mark.parametrize(
    "text",
    ["bonjour, la dame de la mairie m'a dit d'écrire ici", "d'accord merci bien", "ok d'accord", "re bjr",
     "je suis d'accord", "yes c'est ça", "Hello, bonjour", "bon je m'en vais", "hello", "ok", "Lens"],
)
def test_french_or_short_messages_do_not_switch_to_english(text: str) -> None:
    assert choose_language(None, text) == "fr"


@pytest.mark.parametrize(
    "text", ["I don't know", "thanks a lot", "no idea sorry", "my rent is too high", "we need food", "I live in Amiens"]
)
def test_english_messages_switch(text: str) -> None:
    assert choose_language("fr", text) == "en"


def test_end_turn_gives_the_language_back() -> None:
    from bot.dialogue.responses import current_language
    from bot.dialogue.turn_start import end_turn

    state, _ = begin_turn({}, Incoming(text="Hello, I need help with my rent please"))
    assert current_language() == "en"
    end_turn(state, [Reply("ok", [Button("Why?", "/ask_why")])])
    assert current_language() == "fr"
    assert typed_button(state, "why") == "/ask_why"
    assert state["lang"] == "en"  # kept for the next turn


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(state=st.dictionaries(st.sampled_from(["buttons", "lang", "slots", "x"]), _json), text=st.text(max_size=200))
def test_begin_turn_never_raises(state: dict, text: str) -> None:
    new_state, incoming = begin_turn(state, Incoming(text=text))
    assert new_state.get("lang", "fr") in ("fr", "en")
    assert isinstance(incoming.text, str)
    set_language("fr")


def test_a_number_line_is_said_once_a_turn() -> None:
    """The need's numbers before the places do not repeat the emergency numbers just given (sc-099)."""
    emergency = Reply("Si la personne est en danger, appelez tout de suite :\n☎ 115 — SAMU social\n☎ 112 — Urgence",
                      [], {"emergency": True})
    again = Reply("☎ 115 — SAMU social")
    places = Reply("📍 Mairie\n☎ 112 — Urgence", [Button("Autre besoin", "/other")])
    out = without_repeated_numbers([emergency, again, places])
    assert [r.text for r in out] == [emergency.text, "📍 Mairie"]
    assert out[0].custom == {"emergency": True} and out[1].buttons == places.buttons
    # nothing repeated: the replies are kept as they are
    assert without_repeated_numbers([again]) == [again]

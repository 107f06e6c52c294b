"""The console's orientation sheet without HTTP: the SMS limit, the email, the PDF (both fonts),
the situation form's reading, what an extra answer settles, the desk filters."""

from __future__ import annotations

import re
import zlib
from typing import Any

import pytest

from actions.common import set_kb
from bot.console import pdf as sheet_pdf_module
from bot.console.desk import DeskQuery, run, scheme_publics
from bot.console.orientation import SMS_MAX_CHARS, build_sheet, email_text, sms_text
from bot.console.situation import evaluate_situation, read_form


@pytest.fixture(autouse=True)
def _kb(kb: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIGUILLAGE_OPENFISCA", "off")
    set_kb(kb)


def _inflated_text(pdf: bytes) -> bytes:
    streams = re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S)
    out = b""
    for stream in streams:
        try:
            out += zlib.decompress(stream)
        except zlib.error:
            out += stream
    return out


def test_sms_is_cut_at_480_characters_and_keeps_the_names(kb: Any) -> None:
    every = sorted(kb.schemes)[:8]
    sheet = build_sheet({"commune": "Lens"}, every, "France Services de Lens")
    text = sms_text(sheet)
    assert len(text) <= SMS_MAX_CHARS
    assert text.startswith("À faire valoir : ")
    short = build_sheet({"commune": "Lens"}, ["avip-creches"], "France Services de Lens")
    full = sms_text(short)
    assert "Crèches AVIP" in full and "Mairie de Lens : 03 21 69 86 86" in full  # the directory's phone
    assert len(sms_text(short, limit=40)) <= 40


def test_email_lists_steps_and_places(kb: Any) -> None:
    sheet = build_sheet({"commune": "Lens", "age": "29"}, ["avip-creches", "inconnu"], "France Services de Lens")
    assert [s["id"] for s in sheet.schemes] == ["avip-creches"]  # an unknown id is ignored
    subject, body = email_text(sheet)
    assert subject.startswith("Vos démarches du ")
    for step in kb.schemes["avip-creches"].steps:
        assert step in body
    assert "Mairie de Lens" in body


@pytest.mark.parametrize("unicode_font", [True, False])
def test_pdf_is_one_a4_page_with_the_scheme_names(kb: Any, monkeypatch: pytest.MonkeyPatch, unicode_font: bool) -> None:
    if not unicode_font:
        monkeypatch.setattr(sheet_pdf_module, "unicode_font", lambda: None)
    elif sheet_pdf_module.unicode_font() is None:
        pytest.skip("no DejaVu or Liberation font on this machine")
    sheet = build_sheet({"commune": "Lens"}, ["avip-creches", "cantine-a-1-euro"], "France Services de Lens")
    data = sheet_pdf_module.sheet_pdf(sheet)
    assert data.startswith(b"%PDF") and b"/Count 1" in data and b"/MediaBox [0 0 595.28 841.89]" in data
    name = kb.schemes["cantine-a-1-euro"].name
    assert name.encode("utf-16-be").hex().encode() in data  # title metadata
    if not unicode_font:  # core font: the text itself is in the page, in Latin-1, € written EUR
        text = _inflated_text(data)
        assert "Cantine à 1 EUR".encode("latin-1") in text


def test_situation_form_any_order_and_what_settles(kb: Any) -> None:
    facts, errors = read_form({"children_ages": "0,5 ; 4 ans", "commune": "62300", "age": "abc"})
    assert facts["children_ages"] == [0.5, 4.0] and facts["children_count"] == 2
    assert facts["commune"] == "62498" and len(errors) == 1 and "age" in errors[0]
    outcome = evaluate_situation({"commune": "Lens"})
    settled = {fact: names for fact, _label, names in outcome.settles}
    assert kb.schemes["avip-creches"].name in settled["situation"] or kb.schemes["avip-creches"].name in settled.get(
        "children_count", []
    )
    status = {r.scheme_id: r.status.value for r in outcome.results}
    assert status["cantine-a-1-euro"] == "not_eligible"  # Lens has more than 10 000 inhabitants


def test_desk_filters(kb: Any) -> None:
    assert scheme_publics(kb.schemes["ancv-depart-18-25"].conditions) == {"jeunes"}
    assert scheme_publics(kb.schemes["avip-creches"].conditions) == {"familles"}
    young = run(DeskQuery(public="jeunes"))
    ids = {s["id"] for s in young["schemes"]}
    # a scheme for young people and one open to everyone stay; one for families only goes
    assert "ancv-depart-18-25" in ids and "point-conseil-budget" in ids and "avip-creches" not in ids
    lens = kb.gazetteer.resolve("Lens")
    near = run(DeskQuery(commune=lens, max_km=3))
    assert near["places"] and all(p["distance_km"] <= 3 for p in near["places"])


AAH_FACTS = {"age": "40", "household_adults": "1", "children_count": "0", "situation": "sans_activite",
             "monthly_income": "0", "housing": "heberge", "disability": "oui"}  # fmt: skip


def test_openfisca_not_started_says_to_check(kb: Any) -> None:
    from bot.console.situation import result_row
    from knowledge.benefits.engines import current_benefits

    assert current_benefits() is None
    rows = {r["id"]: r for r in map(result_row, evaluate_situation(AAH_FACTS).results)}
    assert rows["aah"]["status"] == "to_check" and rows["aah"]["amount_text"] is None
    assert any("à vérifier" in reason for reason in rows["aah"]["reasons"])


@pytest.mark.slow
def test_openfisca_amount_in_the_situation_form(kb: Any) -> None:
    from bot.console.situation import result_row
    from knowledge.benefits.engines import LocalEngine, set_benefits

    set_benefits(LocalEngine())
    try:
        rows = {r["id"]: r for r in map(result_row, evaluate_situation(AAH_FACTS).results)}
    finally:
        set_benefits(None)
    assert rows["aah"]["status"] == "eligible" and "par mois" in rows["aah"]["amount_text"]
    assert rows["rsa"]["status"] == "not_eligible"

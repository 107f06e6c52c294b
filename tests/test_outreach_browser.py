"""The ambassadeurs' outreach page in a real browser: headless Chromium (Playwright) against
`aiguillage serve`, on a 360x740 phone.

Loaded once with the network, then the network is cut (`context.set_offline(True)`): the page
reloads from the service worker's cache, says it is offline, runs a whole screening on the pack
(at most 8 questions, the first one the same as the Python chooser's) and shows the result card,
whose statuses agree with the Python eligibility. « Nouvelle personne » leaves localStorage,
sessionStorage and IndexedDB empty. Screenshots: docs/screenshots/outreach-*.png.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest

from actions.question import SCREENING_SKIP
from bot.dialogue.api import Incoming
from bot.outreach.pack import NOT_ASKED
from knowledge.eligibility import EligibilityEngine, Status
from knowledge.questions import QuestionCatalogue

try:
    from tests.conftest import require
    from tests.live_server import LiveServer
except ImportError:  # pragma: no cover - rootdir-relative imports
    from conftest import require  # type: ignore[no-redef]
    from live_server import LiveServer  # type: ignore[no-redef]

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parent.parent
SCREENSHOTS = REPO / "docs" / "screenshots"
CHROMIUM = os.environ.get("AIGUILLAGE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
LENS = "62498"
PHONE = {"width": 360, "height": 740}
#: how the test person answers each question: typed text, or a button's title
TYPED = {"age": "34", "children_count": "2", "children_ages": "2 et 7", "quotient_familial": "450",
         "monthly_income": "900"}  # fmt: skip
CLICKED = {"situation": "Je touche le RSA", "single_parent": "Oui", "household_adults": "Seul·e",
           "housing": "Locataire", "pregnant": "Non", "disability": "Non"}  # fmt: skip
#: the same answers as facts, for the Python eligibility
FACTS = {"age": 34, "children_count": 2, "children_ages": [2.0, 7.0], "quotient_familial": 450.0,
         "monthly_income": 900.0, "situation": "beneficiaire_rsa", "single_parent": True, "household_adults": 1,
         "housing": "locataire", "pregnant": False, "disability": False}  # fmt: skip
QUEUE = "() => JSON.parse(localStorage.getItem('aiguillage-referral-queue') || '[]').length"
STORAGE = """async () => ({
  local: localStorage.length, session: sessionStorage.length,
  idb: indexedDB.databases ? (await indexedDB.databases()).length : 0,
})"""


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The server's database, with one structure at Lens that receives referrals."""
    from bot.console.accounts import add_structure
    from knowledge.db import make_engine, upgrade

    url = f"sqlite:///{tmp_path_factory.mktemp('outreach') / 'outreach.sqlite3'}"
    db = make_engine(url)
    upgrade(db)
    add_structure(db, "CCAS de Lens", LENS)
    db.dispose()
    return url


@pytest.fixture(scope="module")
def server(engine: Any, session_data_dir: Path, database: str) -> Iterator[LiveServer]:
    env = {"AIGUILLAGE_RATE_LIMIT_PER_MINUTE": "6000", "AIGUILLAGE_RATE_LIMIT_BURST": "1000",
           "AIGUILLAGE_OPENFISCA": "off"}  # fmt: skip
    with LiveServer(session_data_dir, database, env=env, log_name="outreach-server.log") as live:
        yield live


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    require(sync_playwright is not None, "playwright (Python)")
    require(Path(CHROMIUM).exists(), f"Chromium ({CHROMIUM})")
    assert sync_playwright is not None
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def pack(server: LiveServer) -> dict[str, Any]:
    return httpx.get(f"{server.url}/ambassadeur/pack.json", params={"commune": LENS}, timeout=60).json()


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def new_context(browser: Any, server: LiveServer, **options: Any) -> tuple[Any, Any]:
    options.setdefault("viewport", PHONE)
    context = browser.new_context(base_url=server.url, locale="fr-FR", service_workers="allow", **options)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors
    return context, page


def python_next_question(
    pack: dict[str, Any], kb: Any, facts: dict[str, Any], declined: set[str]
) -> str | None:
    """The Python chooser on the pack's rules schemes (the commune is not asked on the page)."""
    engine = EligibilityEngine(kb.gazetteer)
    rules = [kb.schemes[s["id"]] for s in pack["schemes"] if s["engine"] != "openfisca"]
    results = engine.evaluate_all(rules, facts)
    catalogue = QuestionCatalogue(kb.questions, kb.gazetteer)
    question = catalogue.next_question(results, facts, NOT_ASKED | SCREENING_SKIP | declined)
    return question.fact if question else None


def answer(page: Any, fact: str, knows: bool) -> None:
    answers = page.locator("#answers")
    if knows and fact in TYPED:
        answers.locator("input").fill(TYPED[fact])
        answers.get_by_role("button", name="Valider").click()
    elif knows and fact in CLICKED:
        answers.get_by_role("button", name=CLICKED[fact], exact=True).click()
    else:
        answers.locator("button.secondary").first.click()  # « Je ne sais pas »


def screen(page: Any, pack: dict[str, Any], kb: Any, knows: bool = True) -> dict[str, Any]:
    """Answer until the result card, checking each question against the Python chooser; returns
    the facts given (None: « je ne sais pas »)."""
    answered: dict[str, Any] = {}
    for _ in range(pack["max_questions"] + 1):
        if page.locator("#result").is_visible():
            break
        fact = page.locator("#answers").get_attribute("data-fact")
        assert fact and fact not in answered
        known = {k: v for k, v in answered.items() if v is not None}
        declined = {k for k, v in answered.items() if v is None}
        assert fact == python_next_question(pack, kb, known, declined), (
            fact,
            known,
            declined,
        )  # same chooser
        answer(page, fact, knows)
        answered[fact] = FACTS.get(fact) if knows else None
        if knows and fact == "children_ages" and "children_count" not in answered:
            answered["children_count"] = len(FACTS["children_ages"])
    expect(page.locator("#result")).to_be_visible()
    assert 1 <= len(answered) <= pack["max_questions"]
    return answered


def test_offline_screening_result_card_and_new_person(browser: Any, server: LiveServer, pack: dict[str, Any],
                                                      kb: Any, engine: Any) -> None:  # fmt: skip
    context, page = new_context(browser, server)
    page.goto(f"/ambassadeur?commune={LENS}")
    expect(page.locator("#question")).to_be_visible()
    expect(page.locator("#app")).to_have_attribute("data-offline-ready", "1", timeout=20_000)
    assert page.locator("#answers").get_attribute("data-fact") == python_next_question(pack, kb, {}, set())
    page.screenshot(path=str(SCREENSHOTS / "outreach-question.png"))

    context.set_offline(True)
    reached = server.log().count("GET /ambassadeur")
    page.reload()  # from the service worker's cache: the server is not reached
    expect(page.locator("#network")).to_contain_text("Hors ligne")
    expect(page.locator("#question")).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "outreach-offline.png"))

    answered = screen(page, pack, kb)

    cards = page.locator("#schemes li[data-scheme]")
    assert cards.count() >= 1
    eligibility = EligibilityEngine(kb.gazetteer)
    facts = {k: v for k, v in answered.items() if v is not None}
    for i in range(cards.count()):
        card = cards.nth(i)
        scheme = kb.schemes[card.get_attribute("data-scheme")]
        python = eligibility.evaluate(scheme, {**facts, "commune": LENS})
        # the page leaves the commune-level conditions « à vérifier » (the person may live elsewhere in
        # the département): nothing the person answered rules the scheme out, and one that the commune
        # alone rules out (the cantine à 1 € in Lens, over 10 000 inhabitants) is never ✅
        answered_only = eligibility.evaluate(scheme, facts)
        assert answered_only.status is not Status.not_eligible, scheme.id
        if "eligible" in (card.get_attribute("class") or "").split():
            assert python.status is Status.eligible, scheme.id
    assert page.locator("#places li").count() >= 1
    sms = page.locator("#sms").input_value()
    assert 40 <= len(sms) <= 480
    assert page.locator("#schemes li h3").first.inner_text() in sms
    assert "Où : " in sms  # a place to go, with its contact from the pack
    page.screenshot(path=str(SCREENSHOTS / "outreach-result.png"), full_page=True)
    print(
        f"\noutreach: {len(answered)} questions, {cards.count()} schemes on the card, SMS {len(sms)} chars:\n{sms}"
    )
    assert server.log().count("GET /ambassadeur") == reached  # nothing asked of the server while offline

    # the QR code: without the person's agreement it carries nothing; offline, it says it needs the network
    page.get_by_role("button", name="Afficher le QR code").click()
    expect(page.locator("#qr-note")).to_contain_text("demande du réseau")
    context.set_offline(False)
    page.get_by_role("button", name="Afficher le QR code").click()
    expect(page.locator("#qr")).to_be_visible()
    assert page.locator("#qr").get_attribute("src") == "/ambassadeur/qr.svg"
    page.get_by_label("La personne accepte que ses réponses soient dans le QR code").check()
    src = page.locator("#qr").get_attribute("src") or ""
    assert src.startswith("/ambassadeur/qr.svg?texte=") and "34%20ans" in src
    page.wait_for_function("() => document.getElementById('qr').naturalWidth > 0")
    # the carried text is understood by the chat: the same facts, read by its situation reader
    carried = unquote(src.split("texte=", 1)[1])
    turn = engine.handle(engine.new_state(), Incoming(text=carried, channel="web"))
    slots = turn.state["slots"]
    assert {k: slots.get(k) for k in facts} == facts, carried
    page.locator("#result").screenshot(path=str(SCREENSHOTS / "outreach-qr.png"))

    assert page.evaluate(STORAGE)["session"] >= 1  # the answers were kept while screening
    page.get_by_role("button", name="Nouvelle personne").click()
    assert page.evaluate(STORAGE) == {"local": 0, "session": 0, "idb": 0}
    expect(page.locator("#question")).to_be_visible()
    expect(page.locator("#progress")).to_contain_text("Question 1 ")
    assert page.locator("#schemes li").count() == 0 and page.locator("#sms").input_value() == ""
    assert not page.locator("#qr-consent").is_checked() and page.locator("#qr").get_attribute("src") is None
    assert page.errors == []
    context.close()


def test_referral_made_offline_is_queued_then_sent_when_the_network_is_back(
    browser: Any, server: LiveServer, pack: dict[str, Any], kb: Any, database: str
) -> None:
    from sqlalchemy import select

    from bot.console.models import Referral
    from knowledge.db import make_engine, session_scope

    def referrals() -> list[tuple[int, str, str]]:
        db = make_engine(database)
        with session_scope(db) as session:
            rows = [(r.to_structure_id, r.contact, r.wish) for r in session.scalars(select(Referral))]
        db.dispose()
        return rows

    assert pack["structures"] == [{"id": 1, "name": "CCAS de Lens"}]
    before = referrals()
    context, page = new_context(browser, server)
    page.goto(f"/ambassadeur?commune={LENS}")
    expect(page.locator("#app")).to_have_attribute("data-offline-ready", "1", timeout=20_000)
    context.set_offline(True)
    expect(page.locator("#network")).to_contain_text("Hors ligne")
    screen(page, pack, kb)
    expect(page.locator("#referral")).to_be_visible()
    assert not page.locator("#referral-consent").is_checked()  # unticked by default
    page.get_by_label("Structure", exact=True).select_option(label="CCAS de Lens")
    page.get_by_label("Téléphone ou courriel de la personne (facultatif)").fill("06 00 00 00 42")
    page.get_by_role("button", name="Envoyer l'orientation").click()
    expect(page.locator("#referral-note")).to_contain_text("accord de la personne")
    assert page.evaluate(QUEUE) == 0  # nothing kept without consent
    page.get_by_label("La personne accepte que sa présélection et ce contact soient transmis à la structure").check()
    page.get_by_role("button", name="Envoyer l'orientation").click()
    expect(page.locator("#referral-note")).to_contain_text("en attente d'envoi")
    assert page.evaluate(QUEUE) == 1 and referrals() == before
    page.locator("#result").screenshot(path=str(SCREENSHOTS / "outreach-referral-queued.png"))
    first_scheme = page.locator("#schemes li h3").first.inner_text()

    # « Nouvelle personne »: the owed referral stays queued, but is not shown to the next person
    page.get_by_role("button", name="Nouvelle personne").click()
    expect(page.locator("#question")).to_be_visible()
    assert page.evaluate(QUEUE) == 1 and page.locator("#referral-note").inner_text() == ""

    context.set_offline(False)  # the `online` event sends the queue
    page.wait_for_function(QUEUE + " === 0", timeout=20_000)
    assert page.evaluate("() => localStorage.length") == 0
    sent = [r for r in referrals() if r not in before]
    assert len(sent) == 1
    to_structure, contact, need = sent[0]
    assert (to_structure, contact) == (1, "06 00 00 00 42") and first_scheme in need
    assert "06 00 00 00 42" not in server.log() and "POST /ambassadeur/referrals" in server.log()
    assert page.errors == []
    context.close()


def test_a_person_who_knows_nothing_gets_schemes_to_check(browser: Any, server: LiveServer, pack: dict[str, Any],
                                                           kb: Any) -> None:  # fmt: skip
    """« Je ne sais pas » everywhere: the chooser moves on (a quotient familial not known makes it
    ask income and household, as in Python) and the card still has schemes « à vérifier »."""
    context, page = new_context(browser, server)
    page.goto(f"/ambassadeur?commune={LENS}")
    expect(page.locator("#question")).to_be_visible()
    answered = screen(page, pack, kb, knows=False)
    assert all(v is None for v in answered.values())
    expect(page.locator("#schemes li.to_check").first).to_contain_text("À vérifier")
    assert len(page.locator("#sms").input_value()) <= 480
    assert page.errors == []
    context.close()


def test_phone_at_200_percent_zoom_does_not_scroll_sideways(browser: Any, server: LiveServer) -> None:
    """360 px at 200 %: 180 CSS pixels wide; the big buttons stay inside and tall enough to tap."""
    context, page = new_context(
        browser, server, viewport={"width": 180, "height": 370}, device_scale_factor=2
    )
    page.goto(f"/ambassadeur?commune={LENS}")
    expect(page.locator("#question")).to_be_visible()
    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], width
    heights = page.locator("#answers button").evaluate_all(
        "(bs) => bs.map((b) => b.getBoundingClientRect().height)"
    )
    assert heights and min(heights) >= 44, heights
    page.screenshot(path=str(SCREENSHOTS / "outreach-zoom200.png"), full_page=True)
    context.close()


def test_widget_takes_the_carried_answers_into_its_message_box(browser: Any, server: LiveServer) -> None:
    """The QR code's address: the widget in full page, the answers in its box (not sent), the
    fragment gone from the address."""
    context, page = new_context(browser, server)
    page.goto("/?mode=page#texte=J%27ai%2034%20ans.%20Je%20touche%20le%20RSA.")
    expect(page.locator("#agw-input")).to_have_value("J'ai 34 ans. Je touche le RSA.")
    assert page.evaluate("() => location.hash") == ""
    context.close()


def test_setup_page_sends_to_the_commune(browser: Any, server: LiveServer) -> None:
    context, page = new_context(browser, server)
    page.goto("/ambassadeur")
    page.get_by_label("Commune (nom ou code postal)").fill("Lens")
    page.get_by_role("button", name="Commencer").click()
    expect(page).to_have_url(f"{server.url}/ambassadeur?commune={LENS}")
    expect(page.locator("h1")).to_contain_text("Lens")
    context.close()

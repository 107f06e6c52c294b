"""The agents' console in a real browser: headless Chromium (Playwright) against `aiguillage serve`.

login → desk search (instant, typo-tolerant) → scheme sheet → situation form (results as the
facts are typed, in any order) → orientation sheet → print view (print stylesheet) and PDF.
Also: keyboard focus, 200 % zoom (640x400 CSS pixels, scale 2). Screenshots go to
docs/screenshots/console-*.png. The time from opening /pro to the printed sheet for a typed
situation is printed (measured, not asserted).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

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
EMAIL, PASSWORD = "agent@exemple.fr", "mot de passe de la console"
CCAS_EMAIL = "ccas@exemple.fr"
#: window.print() is recorded instead of opening a dialog
RECORD_PRINT = "window.__printed = 0; window.print = function () { window.__printed += 1; };"


@pytest.fixture(scope="module")
def server(engine: Any, session_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    from bot.console.accounts import add_agent, add_structure
    from knowledge.db import make_engine, upgrade

    database = f"sqlite:///{tmp_path_factory.mktemp('console') / 'console.sqlite3'}"
    db = make_engine(database)
    upgrade(db)
    add_agent(db, EMAIL, PASSWORD, add_structure(db, "France Services de Lens", "62498"), "agent")
    add_agent(db, CCAS_EMAIL, PASSWORD, add_structure(db, "CCAS d'Arras", "62041"), "agent")
    db.dispose()
    env = {"AIGUILLAGE_RATE_LIMIT_PER_MINUTE": "6000", "AIGUILLAGE_RATE_LIMIT_BURST": "1000",
           "AIGUILLAGE_OPENFISCA": "off"}  # fmt: skip
    with LiveServer(session_data_dir, database, env=env, log_name="console-server.log") as live:
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


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def new_page(browser: Any, server: LiveServer, **options: Any) -> Any:
    options.setdefault("viewport", {"width": 1280, "height": 800})
    context = browser.new_context(base_url=server.url, locale="fr-FR", accept_downloads=True, **options)
    context.add_init_script(RECORD_PRINT)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("response", lambda response: errors.append(f"{response.status} {response.url}") if response.status >= 400 else None)
    page.errors = errors
    return page


def log_in(page: Any, email: str = EMAIL) -> None:
    page.goto("/pro")
    assert page.url.endswith("/pro/connexion")
    page.get_by_label("Adresse électronique").fill(email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url("**/pro")


def test_login_search_sheet_situation_orientation_print_and_pdf(browser: Any, server: LiveServer, kb: Any) -> None:
    page = new_page(browser, server)
    log_in(page)
    started = time.perf_counter()
    page.goto("/pro")  # the measure starts when the agent opens /pro

    # desk: instant results as the agent types (a typo in the words)
    page.get_by_label("Mots-clés (fautes tolérées)").fill("creche avip")
    first = page.locator("#schemes li a").first
    expect(first).to_contain_text("Crèches AVIP")
    expect(page.locator("#status")).to_contain_text("autour de Lens")  # the structure's commune
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "console-desk.png"))

    # scheme sheet
    first.click()
    page.wait_for_url("**/pro/dispositifs/avip-creches*")
    assert page.get_by_role("heading", name="Conditions").is_visible()
    assert "Mairie de Lens" in page.locator("main").inner_text()
    assert "Fiche vérifiée le" in page.locator("main").inner_text()

    # situation form: facts in any order, results refreshed without a submit
    page.get_by_role("link", name="Situation d'une personne").click()
    page.get_by_label("Âge des enfants (en années, séparés par « ; »)").fill("1 ; 4")
    page.get_by_label("Situation", exact=True).select_option("demandeur_emploi")
    page.get_by_label("Commune", exact=True).fill("Lens")
    page.get_by_label("Âge", exact=True).fill("29")
    avip = page.locator("#d-avip-creches")
    # the four facts are read: AVIP (children under 3, job seeker) is « peut y avoir droit »
    expect(page.locator("li.result", has=avip)).to_have_class(re.compile(r"\beligible\b"))
    assert page.get_by_role("heading", name="Ce qu'une réponse de plus permettrait de trancher").is_visible()
    avip.check()
    page.locator("#d-relais-petite-enfance").check()
    assert "Son logement" in page.locator(".settles").inner_text()
    page.locator("h1").evaluate("element => element.scrollIntoView()")
    page.screenshot(path=str(SCREENSHOTS / "console-situation.png"))
    page.get_by_label("Logement", exact=True).select_option("locataire")  # one more fact: the choices stay checked
    expect(page.locator(".settles")).not_to_contain_text("Son logement")
    assert page.locator("#d-avip-creches").is_checked()
    page.get_by_role("button", name="Préparer la fiche d'orientation").click()
    page.wait_for_url("**/pro/fiche")

    # orientation sheet: print
    assert page.get_by_role("heading", name="Vos démarches").is_visible()
    assert page.locator("article.sheet").get_by_text("Peut y avoir droit").count() == 2
    page.get_by_role("button", name="Imprimer la fiche").click()
    assert page.evaluate("window.__printed") == 1
    elapsed = time.perf_counter() - started
    print(f"\nconsole: /pro opened -> sheet printed in {elapsed:.1f} s (automated typing)")
    sms = page.locator("#sms").input_value()
    assert 0 < len(sms) <= 480 and "Crèches AVIP" in sms
    page.screenshot(path=str(SCREENSHOTS / "console-sheet.png"), full_page=True)
    page.emulate_media(media="print")
    assert not page.locator("header.top").is_visible() and not page.locator("#sms").is_visible()
    assert page.locator("article.sheet").is_visible()
    page.screenshot(path=str(SCREENSHOTS / "console-print.png"), full_page=True)
    printed = page.pdf(format="A4")
    assert printed.startswith(b"%PDF")
    page.emulate_media(media="screen")

    # the PDF of the sheet (fpdf2)
    with page.expect_download() as download:
        page.get_by_role("button", name="Télécharger le PDF").click()
    data = Path(download.value.path()).read_bytes()
    assert data.startswith(b"%PDF")
    for scheme_id in ("avip-creches", "relais-petite-enfance"):
        assert kb.schemes[scheme_id].name.encode("utf-16-be").hex().encode() in data
    assert page.errors == []


def test_keyboard_and_200_percent_zoom(browser: Any, server: LiveServer) -> None:
    # 200 % zoom on a 1280x800 laptop: 640x400 CSS pixels, two device pixels each
    page = new_page(browser, server, viewport={"width": 640, "height": 400}, device_scale_factor=2)
    log_in(page)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Aller au contenu"
    page.get_by_label("Mots-clés (fautes tolérées)").fill("surendetement")
    expect(page.locator("#schemes li").first).to_contain_text("Point conseil budget")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 640, f"horizontal scroll at 200 %: {width}px"
    page.locator("#status").evaluate("element => element.scrollIntoView()")  # the results in view
    page.screenshot(path=str(SCREENSHOTS / "console-zoom200.png"))
    page.goto("/pro/situation")
    page.get_by_label("Commune", exact=True).fill("Arras")
    page.locator("#resultats li").first.wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 640
    page.screenshot(path=str(SCREENSHOTS / "console-situation-zoom200.png"))
    assert page.errors == []


def test_referral_from_consent_to_done_seen_by_the_structure(browser: Any, server: LiveServer) -> None:
    agent = new_page(browser, server)
    log_in(agent)
    agent.goto("/pro/situation")
    agent.get_by_label("Commune", exact=True).fill("Lens")
    agent.get_by_label("Âge", exact=True).fill("29")
    agent.locator("#d-point-conseil-budget").check()
    agent.get_by_role("button", name="Préparer la fiche d'orientation").click()
    agent.wait_for_url("**/pro/fiche")
    agent.get_by_label("Structure", exact=True).select_option(label="CCAS d'Arras")
    agent.get_by_label("Comment s'adresser à la personne (prénom ou nom)").fill("M. Durand")
    agent.get_by_label("Comment la joindre (téléphone ou courriel)").fill("06 00 00 00 02")
    agent.get_by_label("Ce que la personne souhaite").fill("Faire le point sur ses dettes")
    agent.get_by_role("button", name="Envoyer l'orientation").click()
    # the browser itself refuses without the consent box (required), and nothing is sent
    assert agent.url.endswith("/pro/fiche")
    agent.get_by_label("La personne est d'accord pour que ces informations soient transmises à cette structure.").check()
    agent.get_by_role("button", name="Envoyer l'orientation").click()
    agent.wait_for_url("**/pro/orientations")
    tracking = agent.get_by_label("Lien de suivi à donner à la personne (il ne montre que le statut)").input_value()
    assert "/suivi/" in tracking

    ccas = new_page(browser, server)
    log_in(ccas, CCAS_EMAIL)
    ccas.get_by_role("link", name="Orientations").click()
    expect(ccas.locator("tbody tr")).to_have_count(1)
    ccas.locator("tbody tr a").click()
    expect(ccas.locator("#referral-status")).to_have_text("Vue par la structure")
    assert "M. Durand" in ccas.locator("main").inner_text()
    ccas.get_by_label("Nouveau statut").select_option("done")
    ccas.get_by_role("button", name="Mettre à jour").click()
    expect(ccas.locator("#referral-status")).to_have_text("Terminée")
    ccas.screenshot(path=str(SCREENSHOTS / "console-referral.png"), full_page=True)

    person = new_page(browser, server)
    person.goto(tracking)
    expect(person.locator("#status")).to_have_text("Terminée")
    assert "Durand" not in person.locator("body").inner_text()
    for page in (agent, ccas, person):
        assert page.errors == []

"""The web widget in a real browser: headless Chromium (Playwright) against a real server.

The server is `aiguillage serve` (uvicorn) in a subprocess with the real engine, on a temporary
SQLite database; the page is the demo page at `/`, which embeds the widget with its one
<script> tag. Screenshots go to docs/screenshots/ (desktop 1280x800, phone 360x740).
Chromium: /usr/bin/chromium (scripts/install.sh --dev), never downloaded by Playwright.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
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
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HERSIN = {"latitude": 50.448, "longitude": 2.649}
FIRST = "je cherche une crèche pour mon bébé de 10 mois, je suis au chômage"
AVIP_EMAIL = "avip@ville-hersin-coupigny.fr"
XSS = '<img src=x onerror="window.__xss=1">'
#: quick replies the generic driver never presses
AVOID = re.compile(r"effacer|parler à quelqu|je ne sais pas|autre besoin|pourquoi", re.IGNORECASE)
PREFER = re.compile(r"crèche|garde|oui|avip", re.IGNORECASE)


# ------------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def server(
    engine: Any, session_data_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """The real server; `engine` first, so the NLU model is trained in the session data dir."""
    database = f"sqlite:///{tmp_path_factory.mktemp('widget') / 'widget.sqlite3'}"
    limits = {"AIGUILLAGE_RATE_LIMIT_PER_MINUTE": "6000", "AIGUILLAGE_RATE_LIMIT_BURST": "1000"}
    with LiveServer(session_data_dir, database, env=limits, log_name="widget-server.log") as live:
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


def _page(browser: Any, server: LiveServer, phone: bool = False, **options: Any) -> Any:
    if phone:
        options.update(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    else:
        options.setdefault("viewport", {"width": 1280, "height": 800})
    context = browser.new_context(base_url=server.url, locale="fr-FR", **options)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors
    page.goto("/")
    return page


@pytest.fixture
def desktop(browser: Any, server: LiveServer) -> Iterator[Any]:
    page = _page(browser, server, geolocation=HERSIN, permissions=["geolocation"])
    yield page
    assert page.errors == [], "no JavaScript error"
    page.context.close()


@pytest.fixture
def phone(browser: Any, server: LiveServer) -> Iterator[Any]:
    page = _page(browser, server, phone=True, geolocation=HERSIN, permissions=["geolocation"])
    yield page
    assert page.errors == []
    page.context.close()


# ------------------------------------------------------------------------------------- helpers
def bot_count(page: Any) -> int:
    return int(page.locator(".agw-bot").count())


def poll(page: Any, expression: str, arg: Any = None, timeout: float = 30.0) -> None:
    """Wait until `expression` (a JS function) is true. (Playwright's wait_for_function evaluates
    strings with eval, which the demo page's Content-Security-Policy rightly forbids.)"""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression, arg):
        if time.monotonic() > deadline:
            raise AssertionError(f"timeout waiting for {expression}:\n{log_text(page)}")
        time.sleep(0.05)


def wait_reply(page: Any, before: int) -> None:
    """Until a new assistant message is shown and the widget is idle again."""
    poll(
        page,
        """n => document.querySelectorAll('.agw-bot').length > n
             && !document.querySelector('.agw-log').hasAttribute('aria-busy')""",
        before,
    )


def open_widget(page: Any) -> None:
    before = bot_count(page)
    page.click(".agw-launcher")
    wait_reply(page, before)  # the greeting (data-start="Bonjour")


def type_message(page: Any, text: str) -> None:
    before = bot_count(page)
    page.fill("#agw-input", text)
    page.press("#agw-input", "Enter")
    wait_reply(page, before)


def log_text(page: Any) -> str:
    return str(page.locator(".agw-log").inner_text())


def drive_to_orientation(page: Any) -> list[str]:
    """A full conversation, whatever the questions: location, quick replies or the commune's name."""
    open_widget(page)
    type_message(page, FIRST)
    steps: list[str] = []
    for _ in range(10):
        if AVIP_EMAIL in log_text(page):
            return steps
        before = bot_count(page)
        buttons = [b for b in page.locator(".agw-qr").all() if not AVOID.search(b.inner_text())]
        if page.locator(".agw-loc.agw-hl").count():
            steps.append("location")
            page.click(".agw-loc")
        elif buttons:
            choice = next((b for b in buttons if PREFER.search(b.inner_text())), buttons[0])
            steps.append(f"button:{choice.inner_text()}")
            choice.click()
        else:
            steps.append("commune")
            page.fill("#agw-input", "Hersin-Coupigny")
            page.press("#agw-input", "Enter")
        wait_reply(page, before)
    raise AssertionError(f"no orientation after {steps}:\n{log_text(page)}")


def conversation_id(page: Any) -> str:
    return str(page.evaluate("sessionStorage.getItem('aiguillage.conversation')"))


def assert_orientation(page: Any) -> None:
    text = log_text(page)
    assert "AVIP" in text and AVIP_EMAIL in text
    mail = page.locator(f'.agw-bot a[href="mailto:{AVIP_EMAIL}"]')
    assert mail.count() >= 1 and mail.first.inner_text() == AVIP_EMAIL
    assert page.locator(".agw-copy").is_visible(), "the summary can be copied"


# ------------------------------------------------------------------------------------- tests
def test_full_conversation_with_geolocation_desktop(desktop: Any, server: LiveServer) -> None:
    page = desktop
    page.context.grant_permissions(["geolocation", "clipboard-read", "clipboard-write"])
    steps = drive_to_orientation(page)
    assert "location" in steps, f"the location button was used: {steps}"
    assert page.locator(".agw-user", has_text="Ma position").count() >= 1
    assert_orientation(page)
    # the server got the position: the commune is known
    summary = httpx.get(f"{server.url}/api/v1/conversations/{conversation_id(page)}/summary").json()
    assert summary["summary"]["commune"]["nom"] == "Hersin-Coupigny"
    # copy the final summary
    page.click(".agw-copy")
    poll(page, "() => document.querySelector('.agw-status').textContent.includes('copié')")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert "Hersin-Coupigny" in copied and AVIP_EMAIL in copied and "AVIP" in copied
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "widget-desktop.png"))


def test_phone_screen(phone: Any) -> None:
    page = phone
    drive_to_orientation(page)
    assert_orientation(page)
    box = page.locator(".agw-panel").bounding_box()
    assert box == {"x": 0, "y": 0, "width": 360, "height": 740}, "the panel fills the phone screen"
    assert page.evaluate("document.documentElement.scrollWidth") <= 360, "no horizontal scrolling"
    assert page.evaluate(
        "(() => { const l = document.querySelector('.agw-log'); return l.scrollWidth <= l.clientWidth; })()"
    )
    for selector in (".agw-qr", ".agw-send", ".agw-close", ".agw-loc"):
        height = page.locator(selector).first.bounding_box()["height"]
        assert height >= 40, f"{selector} is big enough to tap ({height}px)"
    assert (
        page.locator("#agw-input").evaluate("e => getComputedStyle(e).fontSize") == "16px"
    )  # no zoom on iOS
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "widget-phone.png"))


def test_quick_replies(desktop: Any) -> None:
    page = desktop
    open_widget(page)
    buttons = page.locator(".agw-qrs .agw-qr")
    assert buttons.count() >= 3
    childcare = page.locator(".agw-qr", has_text=re.compile("crèche|garde", re.IGNORECASE)).first
    title = childcare.inner_text()
    before = bot_count(page)
    childcare.click()
    wait_reply(page, before)
    assert page.locator(".agw-user").last.inner_text().endswith(title), "the choice is shown as the person's"
    assert title not in [b.inner_text() for b in page.locator(".agw-qr").all()], "old choices are removed"
    assert page.evaluate("document.activeElement.id") == "agw-input"


def test_keyboard_only(desktop: Any) -> None:
    page = desktop
    for _ in range(10):  # Tab through the page to the launcher
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.className") == "agw-launcher":
            break
    else:
        raise AssertionError("the launcher is not reachable with Tab")
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none", (
        "focus is visible"
    )
    before = bot_count(page)
    page.keyboard.press("Enter")
    wait_reply(page, before)
    assert page.locator(".agw-launcher").get_attribute("aria-expanded") == "true"
    assert page.evaluate("document.activeElement.id") == "agw-input", "focus goes to the message field"

    page.keyboard.type("bonjour")
    before = bot_count(page)
    page.keyboard.press("Enter")
    wait_reply(page, before)
    assert page.locator(".agw-user").last.inner_text().endswith("bonjour")
    assert page.evaluate("document.activeElement.id") == "agw-input"

    for _ in range(6):  # back from the field to a quick reply
        page.keyboard.press("Shift+Tab")
        if page.evaluate("document.activeElement.className") == "agw-qr":
            break
    else:
        raise AssertionError("no quick reply reachable with Shift+Tab")
    title = page.evaluate("document.activeElement.textContent")
    before = bot_count(page)
    page.keyboard.press("Enter")
    wait_reply(page, before)
    assert page.locator(".agw-user").last.inner_text().endswith(title)
    assert page.evaluate("document.activeElement.id") == "agw-input", "focus is not lost with the buttons"

    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "agw-send"
    page.keyboard.press("Escape")
    assert page.locator(".agw-panel").is_hidden()
    assert page.evaluate("document.activeElement.className") == "agw-launcher", (
        "focus returns to the launcher"
    )
    assert page.locator(".agw-launcher").get_attribute("aria-expanded") == "false"
    shown = bot_count(page)
    page.keyboard.press("Enter")
    assert page.locator(".agw-panel").is_visible()
    assert page.evaluate("document.activeElement.id") == "agw-input"
    assert bot_count(page) == shown, "reopening keeps the conversation and sends nothing"


def test_xss_payload_is_shown_as_text(desktop: Any) -> None:
    page = desktop
    open_widget(page)
    type_message(page, XSS)
    mine = page.locator(".agw-user").last
    assert mine.inner_text().endswith(XSS)
    assert mine.evaluate("e => e.children.length") == 1, (
        "only the screen-reader label, no element from the text"
    )
    page.wait_for_timeout(300)  # an injected image would have failed to load by now
    assert page.locator(".agw img").count() == 0
    assert page.evaluate("typeof window.__xss") == "undefined"
    # and after a reload, from the tab's saved transcript
    page.reload()
    page.click(".agw-launcher")
    assert page.locator(".agw-user", has_text=XSS).count() == 1
    assert page.evaluate("typeof window.__xss") == "undefined"


def test_reply_rendering_rules(desktop: Any) -> None:
    """What the server sends is text: links only from custom.links (http/https), tel:/mailto: from
    phone numbers and emails, emergency numbers as call links; nothing else becomes markup."""
    page = desktop
    reply = {
        "text": (
            '<b>gras</b> <a href="javascript:alert(1)">x</a> https://pas-dans-les-liens.example/ '
            "Appelez le 03 21 00 00 00 ou écrivez à contact@exemple.fr. Site : https://ok.example/aide"
        ),
        "buttons": [{"title": "<i>Oui</i>", "payload": "/affirm"}],
        "custom": {
            "links": [
                {"title": "Site officiel", "url": "https://ok.example/aide"},
                {"title": "piège", "url": "javascript:window.__xss=2"},
                {"title": "Autre page", "url": "https://autre.example/"},
            ],
            "emergency": True,
            "numbers": ["17", "114", "<img>"],
        },
    }
    page.route(
        "**/api/v1/conversations",
        lambda route: route.fulfill(
            status=201, json={"conversation_id": "fake-conversation-1", "replies": [reply], "erased": False}
        ),
    )
    open_widget(page)
    bot = page.locator(".agw-bot").last
    assert "<b>gras</b>" in bot.inner_text() and bot.locator("b").count() == 0
    hrefs = bot.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert hrefs == [
        "tel:0321000000",
        "mailto:contact@exemple.fr",
        "https://ok.example/aide",
        "https://autre.example/",
        "tel:17",
        "sms:114",
    ]
    external = bot.locator('a[href="https://ok.example/aide"]')
    assert (
        external.get_attribute("rel") == "noopener noreferrer"
        and external.get_attribute("target") == "_blank"
    )
    assert page.locator(".agw-qr").inner_text() == "<i>Oui</i>"
    assert page.evaluate("typeof window.__xss") == "undefined"


def test_accessibility(desktop: Any) -> None:
    page = desktop
    open_widget(page)
    type_message(page, "bonjour")
    log = page.locator(".agw-log")
    assert log.get_attribute("role") == "log" and log.get_attribute("aria-live") == "polite"
    assert page.get_by_label("Votre message").count() == 1, "the field has a label"
    panel = page.get_by_role("dialog", name="Trouver une aide")
    assert panel.is_visible()
    assert page.get_by_role("button", name="Fermer l'assistant").is_visible()
    assert page.get_by_role("group", name="Réponses proposées").is_visible()
    assert page.locator(".agw-status").get_attribute("role") == "status"
    assert (
        page.locator("html").get_attribute("lang") == "fr"
        and page.locator(".agw").get_attribute("lang") == "fr"
    )
    unnamed = page.evaluate(
        """[...document.querySelectorAll('.agw button, .agw input')]
             .filter(e => e.offsetParent !== null)
             .filter(e => !(e.getAttribute('aria-label') || e.textContent.trim() || (e.labels && e.labels.length)))
             .map(e => e.outerHTML)"""
    )
    assert unnamed == []
    ratios = page.evaluate(
        """(() => {
          const rgb = s => s.match(/[\\d.]+/g).slice(0, 4).map(Number);
          const lum = ([r, g, b]) => [r, g, b].map(v => { v /= 255;
              return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); })
            .reduce((acc, v, i) => acc + v * [0.2126, 0.7152, 0.0722][i], 0);
          const background = e => { for (; e; e = e.parentElement) {
              const c = rgb(getComputedStyle(e).backgroundColor);
              if (c.length < 4 || c[3] > 0) return c; } return [255, 255, 255]; };
          const out = {};
          for (const s of ['.agw-launcher', '.agw-head h2', '.agw-privacy', '.agw-erase', '.agw-bot',
                           '.agw-user', '.agw-qr', '.agw-tool', '.agw-send', '#agw-input']) {
            const e = document.querySelector(s);
            const a = lum(rgb(getComputedStyle(e).color)), b = lum(background(e));
            out[s] = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
          }
          return out; })()"""
    )
    low = {selector: round(ratio, 2) for selector, ratio in ratios.items() if ratio < 4.5}
    assert low == {}, f"text contrast below 4.5:1 (WCAG AA): {low}"


def test_erase_button_and_erase_by_message(desktop: Any, server: LiveServer) -> None:
    page = desktop
    page.on("dialog", lambda dialog: dialog.accept())  # "Effacer cette conversation… ?"
    open_widget(page)
    type_message(page, FIRST)
    cid = conversation_id(page)
    assert httpx.get(f"{server.url}/api/v1/conversations/{cid}/summary").status_code == 200
    page.click(".agw-erase")
    page.wait_for_selector(".agw-note >> text=Vos données ont été effacées")
    assert httpx.get(f"{server.url}/api/v1/conversations/{cid}/summary").status_code == 404
    assert page.evaluate("sessionStorage.length") == 0
    assert page.locator(".agw-user").count() == 0, "the transcript is gone from the screen too"
    assert page.evaluate("document.activeElement.id") == "agw-input"

    type_message(page, "bonjour")  # a new conversation
    second = conversation_id(page)
    assert second not in {cid, "None"}
    page.fill("#agw-input", "effacer mes données")
    page.press("#agw-input", "Enter")
    poll(page, "() => !document.querySelector('.agw-log').hasAttribute('aria-busy')")
    assert page.locator(".agw-user").count() == 0, "the screen is cleared"
    assert page.locator(".agw-bot").count() == 1 and "effacé" in page.locator(".agw-bot").inner_text()
    assert page.evaluate("sessionStorage.getItem('aiguillage.conversation')") is None
    assert httpx.get(f"{server.url}/api/v1/conversations/{second}/summary").status_code == 404

"""The widget for everyone, in a real browser: 200 % zoom, phone, focus trap, full-page mode,
"Nouvelle conversation" that starts clean, and the feedback after an orientation.

Headless Chromium (Playwright, /usr/bin/chromium) against `aiguillage serve` in a subprocess with the
real engine on a temporary SQLite file, an operator token set so that the statistics can be read
back through the API. Screenshots go to docs/screenshots/.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

try:
    from tests.live_server import LiveServer
    from tests.test_widget_browser import (
        FIRST,
        HERSIN,
        SCREENSHOTS,
        bot_count,
        browser,  # noqa: F401  (fixture)
        conversation_id,
        drive_to_orientation,
        log_text,
        open_widget,
        poll,
        type_message,
        wait_reply,
    )
except ImportError:  # pragma: no cover - rootdir-relative imports
    from live_server import LiveServer  # type: ignore[no-redef]
    from test_widget_browser import (  # type: ignore[no-redef]
        FIRST,
        HERSIN,
        SCREENSHOTS,
        bot_count,
        browser,  # noqa: F401
        conversation_id,
        drive_to_orientation,
        log_text,
        open_widget,
        poll,
        type_message,
        wait_reply,
    )

pytestmark = pytest.mark.browser

TOKEN = "widget-test-operator-token"
API = "/api/v1/conversations"


@pytest.fixture(scope="module")
def server(
    engine: Any, session_data_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    database = f"sqlite:///{tmp_path_factory.mktemp('everyone') / 'everyone.sqlite3'}"
    env = {
        "AIGUILLAGE_RATE_LIMIT_PER_MINUTE": "6000",
        "AIGUILLAGE_RATE_LIMIT_BURST": "1000",
        "AIGUILLAGE_OPERATOR_TOKEN": TOKEN,
    }
    with LiveServer(session_data_dir, database, env=env, log_name="everyone-server.log") as live:
        yield live


def _new_page(browser: Any, server: LiveServer, path: str = "/", **options: Any) -> Any:  # noqa: F811
    options.setdefault("viewport", {"width": 1280, "height": 800})
    context = browser.new_context(
        base_url=server.url, locale="fr-FR", geolocation=HERSIN, permissions=["geolocation"], **options
    )
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.goto(path)
    return page


@pytest.fixture
def pages(browser: Any, server: LiveServer) -> Iterator[Any]:  # noqa: F811
    made: list[Any] = []

    def make(path: str = "/", **options: Any) -> Any:
        page = _new_page(browser, server, path, **options)
        made.append(page)
        return page

    yield make
    for page in made:
        assert page.errors == [], "no JavaScript error"
        page.context.close()


def log_height(page: Any) -> float:
    return float(page.evaluate("document.querySelector('.agw-log').clientHeight"))


def in_viewport(page: Any, selector: str) -> bool:
    return bool(
        page.evaluate(
            """s => { const r = document.querySelector(s).getBoundingClientRect();
                 return r.top >= 0 && r.left >= 0 && r.bottom <= innerHeight && r.right <= innerWidth; }""",
            selector,
        )
    )


def _db(server: LiveServer) -> Any:
    return create_engine(server.database_url)


# ------------------------------------------------------------------------------------ layouts
def test_desktop_is_wider(pages: Any) -> None:
    page = pages()
    open_widget(page)
    box = page.locator(".agw-panel").bounding_box()
    assert box["width"] >= 460 and box["height"] >= 600, box
    assert log_height(page) >= 400
    assert page.locator(".agw-panel").get_attribute("aria-modal") == "false"


def test_200_percent_zoom_keeps_the_conversation_readable(pages: Any) -> None:
    # 200 % zoom on a 1280x800 laptop: 640x400 CSS pixels, two device pixels each
    page = pages(viewport={"width": 640, "height": 400}, device_scale_factor=2)
    open_widget(page)
    type_message(page, FIRST)
    height = log_height(page)
    assert height >= 250, f"conversation area {height}px tall at 200 %"
    for selector in ("#agw-input", ".agw-send", ".agw-new", ".agw-close", ".agw-loc"):
        assert in_viewport(page, selector), f"{selector} is on screen"
    assert page.evaluate("document.querySelector('.agw-panel').scrollWidth <= 640")
    assert page.locator(".agw-panel").get_attribute("aria-modal") == "true"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "widget-zoom200.png"))
    # CSS zoom on the host page gives the same result
    page.evaluate("document.documentElement.style.zoom = '2'")
    page.set_viewport_size({"width": 1280, "height": 800})
    assert log_height(page) * 2 >= 250 * 2 - 1


def test_phone_focus_trap_and_escape(pages: Any) -> None:
    page = pages(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    open_widget(page)
    type_message(page, "bonjour")
    assert page.locator(".agw-panel").get_attribute("aria-modal") == "true"
    inside = "document.querySelector('.agw-panel').contains(document.activeElement)"
    assert page.evaluate(inside)
    seen = set()
    for _ in range(25):
        page.keyboard.press("Tab")
        assert page.evaluate(inside), "Tab stays in the dialog"
        seen.add(page.evaluate("document.activeElement.className || document.activeElement.id"))
    assert {"agw-new", "agw-close", "agw-send"} <= seen, seen
    for _ in range(25):
        page.keyboard.press("Shift+Tab")
        assert page.evaluate(inside), "Shift+Tab stays in the dialog"
    assert log_height(page) >= 400
    page.keyboard.press("Escape")
    assert page.locator(".agw-panel").is_hidden()
    assert page.evaluate("document.activeElement.className") == "agw-launcher"


def test_full_page_mode(pages: Any) -> None:
    page = pages("/?mode=page")
    wait_reply(page, 0)  # opens by itself and greets
    box = page.locator(".agw-panel").bounding_box()
    assert box == {"x": 0, "y": 0, "width": 1280, "height": 800}
    assert page.locator(".agw-launcher").count() == 0 and page.locator(".agw-close").count() == 0
    assert page.get_by_role("dialog").count() == 1
    assert log_height(page) >= 500
    page.keyboard.press("Escape")
    assert page.locator(".agw-panel").is_visible(), "nothing to close in page mode"
    page.screenshot(path=str(SCREENSHOTS / "widget-page.png"))


# ------------------------------------------------------------------------------------ new conversation
def test_new_conversation_starts_clean(pages: Any, server: LiveServer) -> None:
    page = pages()
    open_widget(page)
    welcome = bot_count(page)
    type_message(page, FIRST)
    type_message(page, "j'habite à Hersin-Coupigny")
    first = conversation_id(page)
    summary = httpx.get(f"{server.url}{API}/{first}/summary").json()["summary"]
    assert summary["commune"]["nom"] == "Hersin-Coupigny"

    page.get_by_role("button", name="Nouvelle conversation").click()
    poll(
        page,
        """old => { const id = sessionStorage.getItem('aiguillage.conversation');
                   return id && id !== old && document.querySelectorAll('.agw-bot').length >= 1
                     && !document.querySelector('.agw-log').hasAttribute('aria-busy'); }""",
        first,
    )
    second = conversation_id(page)
    assert second not in {first, "None"}, "a new id"
    assert httpx.get(f"{server.url}{API}/{first}/summary").status_code == 404, "erased on the server"
    fresh = httpx.get(f"{server.url}{API}/{second}/summary").json()["summary"]
    assert fresh["commune"] is None and fresh["facts"] == {} and fresh["need"] is None

    shown = log_text(page)
    assert "10 mois" not in shown and "Hersin" not in shown and page.locator(".agw-user").count() == 0
    assert bot_count(page) == welcome, "only the welcome"
    assert page.locator(".agw-privacy").is_visible()
    stored = page.evaluate("JSON.stringify(Object.assign({}, sessionStorage))")
    assert "10 mois" not in stored and "Hersin" not in stored and first not in stored
    assert "la précédente est effacée" in page.locator(".agw-status").inner_text()
    assert page.evaluate("document.activeElement.id") == "agw-input"


# ------------------------------------------------------------------------------------ feedback
def test_feedback_after_orientation_stored_without_identifiers(pages: Any, server: LiveServer) -> None:
    page = pages(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    drive_to_orientation(page)
    cid = conversation_id(page)
    box = page.get_by_role("group", name="Cela vous a-t-il aidé ?")
    assert box.is_visible()
    box.get_by_role("button", name="Non").click()
    comment = page.get_by_label("Ce qui manquait", exact=False)
    assert page.evaluate("document.activeElement.id") == "agw-fb-text"
    comment.fill("Les horaires du RAM. Rappelez-moi au 06 12 34 56 78 ou lea.martin@exemple.fr")
    assert comment.get_attribute("maxlength") == "300"
    page.locator(".agw-fb").scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "widget-feedback.png"))
    page.get_by_role("button", name="Envoyer mon avis").click()
    page.wait_for_selector(".agw-fb >> text=Merci pour votre retour.")
    assert page.evaluate("document.activeElement.id") == "agw-input"
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    db = _db(server)
    with db.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(text("SELECT * FROM feedback"))]
        counts = conn.execute(text("SELECT dimension, key, count FROM usage_counts")).all()
    db.dispose()
    assert len(rows) == 1
    row = rows[0]
    assert set(row) == {"id", "day", "channel", "helpful", "need", "schemes", "comment"}
    assert row["helpful"] in (0, False) and row["channel"] == "web"
    assert row["need"] == "garde_enfant" and "avip-creches" in json.loads(row["schemes"])
    assert "06 12" not in row["comment"] and "@" not in row["comment"] and "RAM" in row["comment"]
    assert cid not in json.dumps(rows, default=str) and cid not in json.dumps([tuple(c) for c in counts])
    assert ("orientation", "total") in {(d, k) for d, k, _ in counts}

    auth = {"Authorization": f"Bearer {TOKEN}"}
    data = httpx.get(f"{server.url}/api/v1/stats", headers=auth).json()
    assert data["totals"]["feedback"]["non"] >= 1 and data["totals"]["orientation"]["total"] >= 1
    assert data["totals"]["need"]["garde_enfant"] >= 1
    assert "62" in data["totals"].get("departement", {}), "Hersin-Coupigny under 10: département 62"
    assert httpx.get(f"{server.url}/api/v1/stats").status_code == 401

    # answered once: not asked again in this conversation
    before = bot_count(page)
    page.get_by_role("button", name="Pourquoi ?").first.click() if page.get_by_role(
        "button", name="Pourquoi ?"
    ).count() else type_message(page, "pourquoi ?")
    wait_reply(page, before)
    assert page.locator(".agw-fb-row").count() == 0

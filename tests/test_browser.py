"""The web chat in a real browser: Debian's chromium, headless, driven by Playwright.

A person's path through the page: see example questions, type a question, wait
for the streamed answer, click its [1] marker and check that the quoted sentence
is shown highlighted inside its passage with its location; a question the
sources don't answer is shown as such, with no citation cards; "New conversation"
brings the examples back and clicking one answers it. Every request the page
makes must stay on the machine. Screenshots go to the test's tmp folder and are
copied to test-output/ for people to look at.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import urlparse

import pytest
from _webapp_fixtures import running_chat

pytestmark = pytest.mark.browser

FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-dev-shm-usage"]
OUTPUT = Path(__file__).resolve().parents[1] / "test-output"
TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def chat_server(bot):
    """The web chat over the shared read-only ``bot`` (no uploads on this one)."""
    with running_chat(bot) as server:
        yield server


@pytest.fixture(scope="module")
def browser(chromium):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(chromium), headless=True, args=FLAGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, chat_server):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = ctx.new_page()
    pg.set_default_timeout(TIMEOUT_MS)
    pg.offsite = []  # requests that would leave the machine: recorded and blocked

    def guard(route):
        host = urlparse(route.request.url).hostname
        if route.request.url.startswith(("data:", "blob:")) or host in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            pg.offsite.append(route.request.url)
            route.abort()

    pg.route("**/*", guard)
    pg.goto(chat_server.url + "/", wait_until="domcontentloaded")
    pg.wait_for_selector("#question textarea")
    yield pg
    ctx.close()


def save_screenshot(pg, tmp_path: Path, name: str) -> Path:
    shot = tmp_path / name
    pg.screenshot(path=str(shot), full_page=True)
    OUTPUT.mkdir(exist_ok=True)
    shutil.copy(shot, OUTPUT / name)
    return shot


def ask(pg, question: str, turn: int) -> None:
    pg.fill("#question textarea", question)
    pg.press("#question textarea", "Enter")
    # the answer is final when this turn's section appears in the sources panel
    pg.wait_for_selector(f"#sources #turn-{turn}")


def test_ask_then_check_a_citation_in_one_click(page, bot, tmp_path):
    from assistant.webapp import EXAMPLES

    # a first-time user sees example questions on the empty chat
    for q in EXAMPLES:
        assert page.get_by_text(q, exact=True).is_visible()

    question = "How many Ukrainians has Japan taken in?"
    expected = bot.ask(question)
    c = expected.citations[0]
    ask(page, question, 1)
    answer = page.locator("#chat .bot").last
    assert "2,000 Ukrainians" in answer.inner_text()

    card = page.locator("#cite-1-1")
    assert card.get_attribute("open") is None  # closed until asked for
    answer.locator("a.cite", has_text="[1]").click()  # click 1: the marker in the answer
    page.wait_for_selector("#cite-1-1[open]")
    mark = card.locator("mark.quote")
    assert mark.is_visible()
    assert mark.inner_text() == c.quote
    assert bot.source_text(c.path)[c.start:c.end] == mark.inner_text()
    passage = card.locator(".passage").inner_text()
    assert passage.strip() == c.passage.strip()  # the quote is shown inside its whole passage
    loc = card.locator(".loc").inner_text()
    assert c.passage_id in loc and f"{c.start}–{c.end}" in loc and c.path in loc
    assert c.source in card.locator("summary").inner_text()
    shot = save_screenshot(page, tmp_path, "browser-chat-citation.png")
    assert shot.stat().st_size > 10_000
    assert page.offsite == []


def test_refusal_follow_up_and_new_conversation(page, tmp_path):
    ask(page, "How much financial aid did Japan announce in February?", 1)
    ask(page, "Who announced it?", 2)
    assert "Kishida" in page.locator("#chat .bot").last.inner_text()

    ask(page, "What is the capital of Australia?", 3)
    last = page.locator("#chat .bot").last
    assert last.locator(".refusal").is_visible()
    assert "Not in the sources" in last.inner_text()
    assert last.locator("a.cite").count() == 0
    assert page.locator("#turn-3 details.cite").count() == 0  # no citation cards for a refusal
    save_screenshot(page, tmp_path, "browser-chat-refusal.png")

    page.click("#new-conversation")
    page.wait_for_selector("#sources .sources-empty")
    # the chat and the sources panel are separate components: wait for both to clear
    page.wait_for_function("document.querySelectorAll('#chat .bot').length === 0", timeout=10_000)
    page.get_by_text("What equipment has Japan supplied to Ukraine?", exact=True).click()
    page.wait_for_selector("#sources #turn-1")
    assert "drones" in page.locator("#chat .bot").last.inner_text()
    card = page.locator("#turn-1 details.cite").first
    card.locator("summary").click()  # the cards open on their own too
    assert card.locator("mark.quote").is_visible()
    assert page.offsite == []

"""The web chat walked as a reader would, in Debian's chromium (headless, Playwright), at desktop and phone size.

One walk per viewport over a real Gradio server, a real Assistant (real model,
real store with its own data folder, since the walk uploads and removes
documents): first load, five questions timed in the page (click → question shown
→ first word → final answer), [n] of the first answer opened after five answers
with its card inside the window, a follow-up, a refusal, feedback with a note
saved, good and bad uploads (the drop zone recovers), removing a document,
reload and reopen the conversation, the dark theme. Each step asserts what a
person would check, computed colour contrast (WCAG AA) and accessible names
included. Screenshots go to evals/out/screens/ for people to look at; the
perceived times to evals/out/screens/perceived-<viewport>.json.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest
from _webapp_fixtures import running_chat

pytestmark = pytest.mark.browser

FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-dev-shm-usage"]
SCREENS = Path(__file__).resolve().parents[1] / "evals" / "out" / "screens"
TIMEOUT_MS = 60_000
VIEWPORTS = {"desktop": (1440, 900), "phone": (390, 844)}

Q_REFUGEES = "How many Ukrainians has Japan taken in?"
QUESTIONS = [  # (question, text the answer must hold, or None for a refusal)
    (Q_REFUGEES, "2,000"),
    ("How much financial aid did Japan announce in February?", "$5.5 billion"),
    ("Who announced it?", "Kishida"),  # a follow-up
    ("What is the capital of Australia?", None),  # a refusal
    ("What equipment has Japan supplied to Ukraine?", "drones"),
]
POLICY = ("# 日本の政策\n\nThe Kestrel programme pays farmers in Hokkaido 300 yen per planted sapling. "
          "It started in April 2030.\n")

# WCAG 2.x contrast of every visible text (4.5:1, 3:1 when large) and of every control's
# fill or border against what is behind it (3:1); placeholders count as text.
CONTRAST_JS = """
() => {
  const parse = c => { const m = c && c.match(/rgba?\\(([^)]+)\\)/); if (!m) return null;
    const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number); return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1}; };
  const lum = c => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
  const ratio = (a, b) => { const x = lum(a), y = lum(b); return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05); };
  const over = (top, bottom) => ({r: top.r * top.a + bottom.r * (1 - top.a), g: top.g * top.a + bottom.g * (1 - top.a),
    b: top.b * top.a + bottom.b * (1 - top.a), a: 1});
  const bgOf = el => { const layers = []; for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor); if (c && c.a > 0) { layers.push(c); if (c.a >= 1) break; } }
    let base = {r: 255, g: 255, b: 255, a: 1}; for (let i = layers.length - 1; i >= 0; i--) base = over(layers[i], base); return base; };
  const shown = el => { if (el.closest('[aria-hidden=true], [hidden], svg')) return false;
    const r = el.getBoundingClientRect(); if (r.width < 2 || r.height < 2) return false;
    for (let e = el; e; e = e.parentElement) { const s = getComputedStyle(e);
      if (s.display === 'none' || s.visibility === 'hidden' || parseFloat(s.opacity) === 0) return false; } return true; };
  const label = el => (el.id ? '#' + el.id : el.tagName.toLowerCase() + (el.className && el.className.baseVal === undefined ? '.' + String(el.className).split(' ')[0] : ''));
  const bad = [];
  for (const el of document.querySelectorAll('body *')) {
    if (['SCRIPT', 'STYLE', 'NOSCRIPT', 'TEMPLATE'].includes(el.tagName) || el.closest('[disabled]')) continue;
    const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    if (own && shown(el)) {
      const s = getComputedStyle(el), bg = bgOf(el), fg = over(parse(s.color), bg);
      const size = parseFloat(s.fontSize), large = size >= 24 || (size >= 18.66 && parseInt(s.fontWeight) >= 700);
      const r = ratio(fg, bg);
      if (r < (large ? 3 : 4.5)) bad.push({kind: 'text', el: label(el), text: el.textContent.trim().slice(0, 40), ratio: +r.toFixed(2),
                                          fg: s.color, bg: [bg.r, bg.g, bg.b].map(Math.round).join(',')});
    }
    if ((el.matches('textarea, input[type=text], input:not([type])')) && el.placeholder && shown(el)) {
      const bg = bgOf(el), fg = over(parse(getComputedStyle(el, '::placeholder').color), bg), r = ratio(fg, bg);
      if (r < 4.5) bad.push({kind: 'placeholder', el: label(el), text: el.placeholder, ratio: +r.toFixed(2)});
    }
    if (el.matches('button, textarea, input[type=text], input[type=radio], input:not([type])') && shown(el)) {
      const s = getComputedStyle(el), behind = bgOf(el.parentElement), fill = parse(s.backgroundColor);
      const border = parseFloat(s.borderTopWidth) > 0 ? parse(s.borderTopColor) : null;
      const r = Math.max(fill && fill.a ? ratio(over(fill, behind), behind) : 1, border && border.a ? ratio(over(border, behind), behind) : 1);
      // a text-only button (no fill, no border) is a link-like control: its text contrast is checked above
      const textOnly = (!fill || !fill.a) && !border;
      if (r < 3 && !textOnly) bad.push({kind: 'control', el: label(el), text: (el.innerText || el.value || '').trim().slice(0, 40), ratio: +r.toFixed(2)});
    }
  }
  return bad;
}
"""

# Every control a keyboard or screen-reader user reaches must have a plain-text name.
NAMES_JS = """
() => {
  const shown = el => { const r = el.getBoundingClientRect(); if (r.width < 1 || r.height < 1) return false;
    for (let e = el; e; e = e.parentElement) { const s = getComputedStyle(e); if (s.display === 'none' || s.visibility === 'hidden') return false; }
    return !el.closest('[aria-hidden=true]'); };
  const nameOf = el => { const l = el.getAttribute('aria-label'); if (l) return l.trim();
    const by = el.getAttribute('aria-labelledby'); if (by) return by.split(' ').map(id => (document.getElementById(id) || {}).textContent || '').join(' ').trim();
    if (el.labels && el.labels.length) return [...el.labels].map(x => x.textContent).join(' ').trim();
    return (el.innerText || el.textContent || el.title || '').trim(); };
  const problems = [];
  for (const el of document.querySelectorAll('button, a[href], textarea, input:not([type=hidden]), select, [role=tab], [role=radio], summary')) {
    if (!shown(el)) continue;
    const name = nameOf(el);
    if (!name) problems.push(el.outerHTML.slice(0, 120));
  }
  for (const el of document.querySelectorAll('[aria-label]')) {
    if (/[<>]|&#x?[0-9a-f]+;/i.test(el.getAttribute('aria-label'))) problems.push('markup in label: ' + el.getAttribute('aria-label').slice(0, 80));
  }
  return problems;
}
"""


@pytest.fixture(scope="module")
def chat_server(embedder, tmp_path_factory, knowledge_copy):
    """The web chat over an Assistant with its own data folder: the walk uploads and removes documents."""
    from assistant import Assistant, Settings

    data = tmp_path_factory.mktemp("browser-data")
    bot = Assistant(Settings(data_dir=data, knowledge_dir=knowledge_copy), embedder=embedder)
    with running_chat(bot) as server:
        yield server


@pytest.fixture(scope="module")
def browser(chromium):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(chromium), headless=True, args=FLAGS)
        yield b
        b.close()


class Walk:
    """One reader at one viewport: the page, and helpers that assert as they go."""

    def __init__(self, page, viewport: str, server) -> None:
        self.page, self.vp, self.server = page, viewport, server
        self.phone = viewport == "phone"
        self.shots: list[Path] = []

    def shot(self, name: str) -> None:
        SCREENS.mkdir(parents=True, exist_ok=True)
        path = SCREENS / f"{self.vp}-{name}.png"
        self.page.screenshot(path=str(path))
        assert path.stat().st_size > 5_000
        self.shots.append(path)

    def check_page(self, where: str) -> None:
        """AA contrast, names for every control, nothing leaving the machine, no sideways scrolling."""
        bad = self.page.evaluate(CONTRAST_JS)
        assert bad == [], f"{self.vp} {where}: contrast below WCAG AA: {bad[:8]}"
        unnamed = self.page.evaluate(NAMES_JS)
        assert unnamed == [], f"{self.vp} {where}: controls without a plain-text name: {unnamed[:8]}"
        assert self.page.offsite == []
        width = self.page.evaluate("document.documentElement.scrollWidth")
        assert width <= VIEWPORTS[self.vp][0], f"{self.vp} {where}: the page scrolls sideways ({width}px)"

    def in_window(self, selector: str) -> bool:
        return self.page.evaluate(
            """s => { const r = document.querySelector(s).getBoundingClientRect();
                 return r.top >= 0 && r.bottom <= window.innerHeight + 1 && r.left >= 0 && r.right <= window.innerWidth + 1
                        && r.height > 0; }""", selector)

    def answers(self) -> int:
        return self.page.locator("#log article.msg.bot").count()

    def ask(self, question: str) -> dict:
        """Type and click Ask; the page itself times question shown, first word and final answer."""
        pg = self.page
        n = self.answers() + 1
        pg.fill("#question textarea", question)
        pg.evaluate("""() => { window.__t = {};
            document.querySelector('#ask').addEventListener('click', () => { window.__t.click = performance.now(); },
                                                            {capture: true, once: true}); }""")
        pg.click("#ask")
        stamp = """([key, cond]) => { if (!document.querySelector(cond)) return false;
                      window.__t[key] = window.__t[key] || performance.now(); return true; }"""
        final = f"#log #answer-{n}"
        pg.wait_for_function(stamp, arg=["shown", f"#live .msg.user, {final}"], polling="raf")
        pg.wait_for_function(stamp, arg=["first", f"#live .answer.streaming, {final}"], polling="raf")
        pg.wait_for_function(stamp, arg=["final", final], polling="raf")
        t = pg.evaluate("window.__t")
        timing = {"question": question, **{k: round(t[k] - t["click"]) for k in ("shown", "first", "final")}}
        assert pg.input_value("#question textarea") == ""
        return timing

    def open_citation(self, turn: int, n: int = 1) -> None:
        """Click [n] in an answer: its card opens with the quote marked, inside the window."""
        pg = self.page
        link = pg.locator(f"#log #answer-{turn} a.cite").nth(n - 1)
        link.scroll_into_view_if_needed()
        link.click()
        card = f"#cite-{turn}-{n}"
        pg.wait_for_selector(f"{card}[open]")
        pg.wait_for_timeout(250)  # the drawer slides in on a phone
        assert self.in_window(f"{card} mark.quote"), f"{self.vp}: the quote of {card} is outside the window"
        assert self.in_window(f"{card} > summary"), f"{self.vp}: the card {card} starts outside the window"
        if not self.phone:
            assert pg.evaluate("window.scrollY") == 0  # the page never scrolls: the chat stays beside the card
            assert self.in_window("#chat-scroll") and self.in_window("#composer")

    def open_panel(self, name: str) -> None:
        if self.phone:
            self.page.click("#show-documents" if name == "Documents" else "#show-sources")
            self.page.wait_for_selector("body.drawer-open")
        else:
            self.page.get_by_role("tab", name=name).click()

    def close_panel(self) -> None:
        if self.phone:
            self.page.click("#back-to-answer")
            self.page.wait_for_function("!document.body.classList.contains('drawer-open')")


def walk(browser, server, viewport: str) -> dict:
    from assistant.web.render import file_name

    w, h = VIEWPORTS[viewport]
    ctx = browser.new_context(viewport={"width": w, "height": h}, is_mobile=viewport == "phone",
                              has_touch=viewport == "phone")
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
    walker = Walk(pg, viewport, server)
    bot = server.ui.bot
    try:
        # 1. first load: a heading, example questions, a named question box, nothing off the machine
        pg.goto(server.url + "/", wait_until="domcontentloaded")
        pg.wait_for_selector("#question textarea")
        pg.wait_for_selector("#log .examples")
        pg.wait_for_timeout(500)  # the page script's first pass (sidebar, counter, theme button)
        assert pg.locator("h1").count() == 1 and "Japan" in pg.locator("h1").inner_text()
        assert pg.get_by_role("textbox", name="Your question").is_visible()
        assert pg.get_by_role("button", name="Ask", exact=True).is_visible()
        for q, _ in QUESTIONS[:2]:
            assert pg.get_by_role("button", name=q).is_visible()
        assert "0 / 2,000 characters" in pg.inner_text("#counter-text")
        pg.keyboard.press("Tab")  # the first Tab stop is a named control, not an unlabelled icon
        assert pg.evaluate("(document.activeElement.getAttribute('aria-label') || document.activeElement.innerText || '').trim()")
        walker.check_page("first load")
        walker.shot("01-first-load")

        # an over-long question stays in the box with the reason; nothing is echoed into the chat
        pg.fill("#question textarea", "x" * 2100)
        assert "too long" in pg.inner_text("#counter-text")
        pg.click("#ask")
        pg.wait_for_selector("#ask-error-box .ask-error")
        assert "the limit is 2,000" in pg.inner_text("#ask-error-box")
        assert len(pg.input_value("#question textarea")) == 2100 and walker.answers() == 0

        # 2. five questions, timed in the page: an answer, a follow-up, a refusal
        timings = []
        for i, (q, expected) in enumerate(QUESTIONS, start=1):
            timings.append(walker.ask(q))
            answer = pg.locator(f"#log #answer-{i}")
            if expected is None:
                assert answer.locator(".refusal").is_visible() and "Not in the sources" in answer.inner_text()
                assert answer.locator("a.cite").count() == 0
                assert pg.locator(f"#turn-{i} details.cite").count() == 0  # no cards for a refusal
            else:
                assert expected in answer.inner_text(), answer.inner_text()
            if i == 1:
                assert pg.get_by_role("article", name="Answer 1").is_visible()
                link = answer.locator("a.cite").first
                title = bot.ask(q).citations[0].source
                assert link.get_attribute("aria-label") == f"Source 1: {title}"
                assert pg.evaluate("""() => { const a = document.querySelector('#answer-1 a.cite');
                    const s = getComputedStyle(a); return s.textDecorationLine.includes('underline'); }""")
                walker.check_page("first answer")
                walker.shot("02-answer")
            if i == 4:
                walker.shot("03-refusal")
        assert "error" not in pg.inner_text("#ask-error-box").lower()

        # 3. after five answers, [1] of the first one: its card, in the window, quote marked in its passage
        expected = bot.ask(Q_REFUGEES).citations[0]
        first_link = pg.locator("#answer-1 a.cite").first
        first_link.scroll_into_view_if_needed()
        pg.wait_for_timeout(200)  # scrolling hides the tooltip; hover once the chat is still
        first_link.hover()
        if not walker.phone:
            pg.wait_for_selector("#cite-tip:not([hidden])")
            assert expected.quote in pg.inner_text("#cite-tip")  # the quote on hover, before any click
        walker.open_citation(1)
        card = pg.locator("#cite-1-1")
        assert card.locator("mark.quote").inner_text() == expected.quote
        assert bot.source_text(expected.path)[expected.start:expected.end] == expected.quote
        assert card.locator(".passage").inner_text().strip() == expected.passage.strip()
        loc = card.inner_text()
        assert file_name(expected.path) in loc and f"paragraph {expected.paragraph}" in loc
        assert str(bot.settings.data_dir) not in pg.content()  # never a server path
        walker.check_page("citation card")
        walker.shot("04-five-answers-citation")
        walker.close_panel()
        if walker.phone:
            assert walker.in_window("#answer-1 a.cite")  # back at the answer the reader came from

        # 4. feedback: Helpful, then a note; both saved on the server
        pg.locator("#answer-1").get_by_role("button", name="Helpful", exact=True).click()
        pg.wait_for_selector("#answer-1 button[data-value='1'][aria-pressed=true]")
        pg.fill("#note-1", "Clear figure, right source.")
        pg.locator("#answer-1").get_by_role("button", name="Save note").click()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            rows = [r for r in server.ui.store.feedback() if r["note"] == "Clear figure, right source."]
            if rows:
                break
            time.sleep(0.1)
        assert rows and rows[0]["rating"] == 1 and rows[0]["question"] == Q_REFUGEES
        pg.wait_for_selector("#answer-1 .thanks")
        walker.shot("05-feedback")

        # 5. documents: a good file with a Unicode name and a bad one together; the zone recovers
        walker.open_panel("Documents")
        # the file picker offers every type the library takes (Word files too), and the zone's label
        # sits above its icon rather than over it
        from assistant.web.library import UPLOAD_SUFFIXES

        pg.wait_for_function("document.querySelector('#upload input[type=file]').getAttribute('accept')")
        assert pg.get_attribute("#upload input[type=file]", "accept") == ",".join(UPLOAD_SUFFIXES)
        label, icon = pg.locator("#upload label[data-testid=block-label]"), pg.locator("#upload [data-testid=upload-icon]")
        assert label.bounding_box()["y"] + label.bounding_box()["height"] <= icon.bounding_box()["y"]
        folder = server.ui.bot.settings.data_dir.parent / f"upload-{viewport}"
        folder.mkdir(exist_ok=True)
        good, bad = folder / "日本の政策.md", folder / "notes.csv"
        good.write_text(POLICY, encoding="utf-8")
        bad.write_text("a,b\n1,2\n")
        pg.set_input_files("#upload input[type=file]", [str(good), str(bad)])
        pg.wait_for_selector("#upload-status-box .upload-status")
        status = pg.inner_text("#upload-status-box")
        assert ("Added 日本の政策.md" in status or "already in the library" in status) and "notes.csv" in status
        assert "'.csv' files are not supported" in status
        assert pg.locator("#upload .error").count() == 0 and "Error" not in pg.inner_text("#upload")
        assert "日本の政策" in pg.inner_text("#document-list")
        second = folder / "ロシア制裁.md"
        second.write_text("# ロシア制裁\n\nThe Marmot list freezes the assets of twelve shipping firms.\n", encoding="utf-8")
        pg.set_input_files("#upload input[type=file]", [str(second)])  # the same zone takes the next file
        pg.wait_for_function("document.querySelector('#upload-status-box').innerText.includes('ロシア制裁.md')")
        docs = pg.inner_text("#document-list")
        assert "日本の政策.md" in docs and "ロシア制裁.md" in docs and "knowledge folder" in docs
        walker.check_page("documents")
        walker.shot("06-documents")

        # 6. remove a document: asked to confirm, then gone from the list and from the answers
        pg.get_by_role("button", name="Remove ロシア制裁.md").click()
        pg.get_by_role("button", name="Yes, remove ロシア制裁.md").click()
        pg.wait_for_function("document.querySelector('#upload-status-box').innerText.includes('Removed ロシア制裁.md')")
        assert "ロシア制裁.md" not in pg.inner_text("#document-list")
        assert not bot.ask("How many shipping firms does the Marmot list freeze?").answered
        walker.shot("07-removed")
        walker.close_panel()

        # 7. reload: the conversation is listed, reopens with its answers, and its citations still open
        pg.reload(wait_until="domcontentloaded")
        pg.wait_for_selector("#question textarea")
        pg.wait_for_timeout(500)
        if walker.phone:
            pg.click("#conversations .toggle-button")
        radio = pg.get_by_role("radio", name=f"{Q_REFUGEES} (5)")
        radio.check()
        pg.wait_for_selector("#log #answer-5")
        assert "Kishida" in pg.inner_text("#log #answer-3")
        assert pg.locator("#answer-1 button[data-value='1']").get_attribute("aria-pressed") == "true"
        if walker.phone:
            pg.click("#conversations .toggle-button")
            pg.wait_for_timeout(300)
        walker.open_citation(1)
        assert pg.locator("#cite-1-1 mark.quote").inner_text() == expected.quote
        walker.shot("08-reopened")
        walker.close_panel()

        # 8. the theme switch: dark, readable, and still dark after a reload
        pg.get_by_role("button", name="Dark theme").click()
        pg.wait_for_selector("body.dark")
        pg.wait_for_timeout(600)  # Gradio fades colours between themes
        walker.check_page("dark theme")
        walker.shot("09-dark")
        pg.reload(wait_until="domcontentloaded")
        pg.wait_for_selector("#question textarea")
        pg.wait_for_function("document.body.classList.contains('dark')")
        pg.get_by_role("button", name="Light theme").click()
        pg.wait_for_function("!document.body.classList.contains('dark')")
        return {"viewport": viewport, "timings": timings, "screens": [str(p) for p in walker.shots]}
    except Exception:
        SCREENS.mkdir(parents=True, exist_ok=True)
        pg.screenshot(path=str(SCREENS / f"{viewport}-FAILED.png"))  # what the reader saw when it broke
        raise
    finally:
        ctx.close()


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_a_reader_walks_the_chat(browser, chat_server, viewport):
    result = walk(browser, chat_server, viewport)
    SCREENS.mkdir(parents=True, exist_ok=True)
    (SCREENS / f"perceived-{viewport}.json").write_text(json.dumps(result, indent=1, ensure_ascii=False))
    for t in result["timings"]:
        print(f"{viewport}: {t['question'][:40]:40}  shown {t['shown']:5} ms  first word {t['first']:5} ms  "
              f"final {t['final']:5} ms")
        assert t["shown"] <= t["first"] <= t["final"] < 15_000

"""The web chat walked as a reader would, in Debian's chromium (headless, Playwright), at desktop and phone size.

One walk per viewport over a real Gradio server, a real Assistant (real model,
real store with its own data folder, since the walk uploads and removes
documents): first load naming what is searched, five questions timed in the page
(click → question shown → first word → final answer) with source chips, a
question asked after scrolling up (it must come into view; this fails without
the fix) and the "New answer" cue, [n] of the first answer opened with its card
inside the window (the phone drawer's Back in view), feedback with a note, good
and bad uploads and a PDF, removing a document, the PDF picked above the box and
its answer citing pages, a reload that reopens the conversation from its address
(fails without the fix) and the same link refused to another browser, a
conversation's own menu, the dark theme. Each checked screen runs axe-core (no
violation), computed colour contrast (WCAG AA) and accessible names. Screenshots
go to evals/out/screens/ for people to look at; the perceived times and axe runs
to evals/out/screens/perceived-<viewport>.json."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from urllib.parse import urlparse

import axe_playwright_python
import pytest
from _webapp_fixtures import running_chat

pytestmark = pytest.mark.browser

FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-dev-shm-usage"]
SCREENS = Path(__file__).resolve().parents[1] / "evals" / "out" / "screens"
TIMEOUT_MS = 60_000
VIEWPORTS = {"desktop": (1440, 900), "phone": (390, 844)}
POLLS_PDF = Path(__file__).resolve().parents[1] / "evals" / "corpora" / "japan-ukraine" / "knowledge" / "public-opinion-polls.pdf"
Q_POLL = "What share of Japanese people supported sanctions on Russia?"
AXE_JS = (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text(encoding="utf-8")

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
        self.axe_runs: list[dict] = []

    def shot(self, name: str) -> None:
        SCREENS.mkdir(parents=True, exist_ok=True)
        path = SCREENS / f"{self.vp}-{name}.png"
        self.page.screenshot(path=str(path))
        assert path.stat().st_size > 5_000
        self.shots.append(path)

    def axe(self, where: str) -> None:
        """axe-core (shipped by axe-playwright-python) on the page as it is: no violation of any rule."""
        if not self.page.evaluate("typeof window.axe !== 'undefined'"):
            self.page.evaluate(AXE_JS)
        result = self.page.evaluate("axe.run(document, {resultTypes: ['violations']})")
        found = [(v["id"], v["impact"], [(n["target"], n["failureSummary"][-160:]) for n in v["nodes"]][:3])
                 for v in result["violations"]]
        self.axe_runs.append({"where": where, "violations": len(found), "rules_passed": len(result["passes"])})
        assert found == [], f"{self.vp} {where}: axe violations: {found}"

    def check_page(self, where: str) -> None:
        """axe, AA contrast, names for every control, nothing leaving the machine, no sideways scrolling."""
        # outputs of an event still running are faded by Gradio: check what the reader sees once it settles
        faded = """() => [...document.querySelectorAll('.block')].filter(e => e.getBoundingClientRect().height > 0
                        && parseFloat(getComputedStyle(e).opacity) < 1).map(e => e.id || e.className)"""
        try:
            self.page.wait_for_function(f"({faded})().length === 0", timeout=30_000)
        except Exception:
            raise AssertionError(f"{self.vp} {where}: still faded: {self.page.evaluate(faded)}") from None
        self.page.wait_for_timeout(250)
        self.axe(where)
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

    def in_chat(self, selector: str) -> bool:
        """Is (the first of) ``selector`` inside the chat's scrolling box, where the reader can see it?"""
        return self.page.evaluate(
            """s => { const el = document.querySelector(s), box = document.querySelector('#chat-scroll');
                 if (!el) return false; const r = el.getBoundingClientRect(), b = box.getBoundingClientRect();
                 return r.height > 0 && r.top >= b.top - 1 && r.top < b.bottom - 8; }""", selector)

    def scroll_chat_to_top(self) -> None:
        self.page.evaluate("() => { const b = document.querySelector('#chat-scroll'); b.scrollTop = 0;"
                           " b.dispatchEvent(new Event('scroll')); }")
        self.page.wait_for_timeout(100)

    def addressed(self) -> bool:
        """The open conversation's address is in the location bar (?c=<its id>)."""
        cid = self.page.get_attribute("#log .log-body", "data-conversation")
        return bool(cid) and f"c={cid}" in self.page.url

    def pick_document(self, title: str) -> None:
        """Choose one document in the picker above the box, by typing part of its title."""
        box = self.page.get_by_role("combobox", name="Documents to search")
        box.click()
        box.fill(title[:12])
        self.page.get_by_role("option", name=re.compile(re.escape(title[:12]))).first.click()
        self.page.keyboard.press("Escape")
        self.page.locator("#question textarea").click()
        self.page.wait_for_selector("#doc-picker [role=listbox]", state="hidden")

    def open_sidebar(self) -> None:
        bar = self.page.locator("#conversations")
        if "open" not in (bar.get_attribute("class") or ""):
            self.page.click("#conversations .toggle-button")
            self.page.wait_for_function("document.querySelector('#conversations').classList.contains('open')")
            self.page.wait_for_timeout(300)

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
    guard = offsite_guard(pg)
    pg.route("**/*", guard)
    walker = Walk(pg, viewport, server)
    bot = server.ui.bot
    try:
        # 1. first load: a heading, the document searched named, example questions, a named question box
        pg.goto(server.url + "/", wait_until="domcontentloaded")
        pg.wait_for_selector("#question textarea")
        pg.wait_for_selector("#log .examples")
        pg.wait_for_selector("#log .log-body:not([data-initial])")  # the page's load step has answered
        pg.wait_for_timeout(500)  # the page script's first pass (sidebar, counter, theme button)
        assert pg.locator("h1").count() == 1 and "Japan" in pg.locator("h1").inner_text()
        assert pg.get_by_role("textbox", name="Your question").is_visible()
        assert pg.get_by_role("button", name="Ask", exact=True).is_visible()
        assert pg.get_by_role("combobox", name="Documents to search").is_visible()
        docs = server.ui.library.documents()  # the first walk's uploads stay for the second
        named = f"Searching: {docs[0].title}" if len(docs) == 1 else f"Searching all {len(docs)} documents"
        assert pg.inner_text("#doc-scope") == named  # names what is searched
        for q, _ in QUESTIONS[:2]:
            assert pg.get_by_role("button", name=q).is_visible()
        assert "0 / 2,000 characters" in pg.inner_text("#counter-text")
        pg.keyboard.press("Tab")  # the first Tab stop is a named control, not an unlabelled icon
        assert pg.evaluate("(document.activeElement.getAttribute('aria-label') || document.activeElement.innerText || '').trim()")
        ask, box = pg.locator("#ask").bounding_box(), pg.locator("#question").bounding_box()
        assert abs(ask["y"] - box["y"]) <= 2 and abs(ask["height"] - box["height"]) <= 2, (ask, box)  # Ask is level
        if walker.phone:
            toggle = pg.locator("#conversations .toggle-button").bounding_box()
            assert toggle["x"] >= 4, f"the conversations toggle is clipped at the screen's edge ({toggle})"
        walker.check_page("first load")
        walker.shot("01-first-load")

        # an over-long question stays in the box with the reason; nothing is echoed into the chat
        pg.fill("#question textarea", "x" * 2100)
        assert "too long" in pg.inner_text("#counter-text")
        pg.click("#ask")
        pg.wait_for_selector("#ask-error-box .ask-error")
        assert "the limit is 2,000" in pg.inner_text("#ask-error-box")
        assert len(pg.input_value("#question textarea")) == 2100 and walker.answers() == 0

        # 2. five questions, timed in the page: an answer, a follow-up, a refusal; sources as chips under each
        timings = []
        for i, (q, expected) in enumerate(QUESTIONS, start=1):
            timings.append(walker.ask(q))
            answer = pg.locator(f"#log #answer-{i}")
            if expected is None:
                assert answer.locator(".refusal").is_visible() and "Not in the sources" in answer.inner_text()
                assert answer.locator("a.cite").count() == 0 and answer.locator("a.chip").count() == 0
                assert pg.locator(f"#turn-{i} details.cite").count() == 0  # no cards for a refusal
            else:
                assert expected in answer.inner_text(), answer.inner_text()
                assert answer.locator("a.chip").count() == answer.locator("a.cite").count() >= 1
            if i == 1:
                assert pg.get_by_role("article", name="Answer 1").is_visible()
                link = answer.locator("a.cite").first
                title = bot.ask(q).citations[0].source
                assert link.get_attribute("aria-label") == f"Source 1: {title}"
                assert pg.evaluate("""() => { const a = document.querySelector('#answer-1 a.cite');
                    const s = getComputedStyle(a); return s.textDecorationLine.includes('underline'); }""")
                chip = answer.locator("a.chip").first
                assert chip.get_attribute("aria-label") == f"Source 1: {title}" and "para." in chip.inner_text()
                heights = pg.evaluate("[...document.querySelectorAll('#answer-1 .actions button')]"
                                      ".map(b => Math.round(b.getBoundingClientRect().height))")
                assert len(set(heights)) == 1, f"the answer's buttons differ in height: {heights}"
                walker.check_page("first answer")
                walker.shot("02-answer")
            if i == 4:
                walker.shot("03-refusal")
        assert "error" not in pg.inner_text("#ask-error-box").lower()
        assert walker.addressed(), "the conversation has no address after its first answer"

        # 3. a question asked after scrolling up to re-read comes into view; an answer arriving out of
        # sight is announced ("New answer"), and the cue brings it into view
        walker.scroll_chat_to_top()
        timings.append(walker.ask(QUESTIONS[0][0]))  # ask() waits until the question is shown
        assert walker.in_chat("#log #answer-6, #live .msg.user"), "the new question is not in view"
        assert walker.in_chat("#log #answer-6"), "the new answer is not in view"
        walker.shot("04-asked-after-scrolling-up")
        walker.scroll_chat_to_top()
        pg.fill("#question textarea", QUESTIONS[1][0])
        pg.click("#ask")
        pg.wait_for_selector("#live .msg.user")
        walker.scroll_chat_to_top()  # the reader goes back up while the answer arrives
        pg.wait_for_selector("#log #answer-7")
        pg.wait_for_selector("#new-answer:not([hidden])")
        assert walker.in_window("#new-answer") and not walker.in_chat("#log #answer-7")
        walker.check_page("new answer cue")
        walker.shot("05-new-answer-cue")
        pg.click("#new-answer")
        pg.wait_for_selector("#new-answer", state="hidden")
        assert walker.in_chat("#log #answer-7")

        # 4. after seven answers, [1] of the first one: its card, in the window, quote marked in its passage;
        # the tooltip names the document and quotes it
        expected = bot.ask(Q_REFUGEES).citations[0]
        first_link = pg.locator("#answer-1 a.cite").first
        first_link.scroll_into_view_if_needed()
        pg.wait_for_timeout(200)  # scrolling hides the tooltip; hover once the chat is still
        first_link.hover()
        if not walker.phone:
            pg.wait_for_selector("#cite-tip:not([hidden])")
            tip = pg.inner_text("#cite-tip")
            assert expected.quote in tip and expected.source in tip  # title and quote, before any click
            assert pg.evaluate("!!document.querySelector('#cite-tip').closest('main')")  # inside a landmark
            walker.check_page("tooltip")
        walker.open_citation(1)
        card = pg.locator("#cite-1-1")
        assert card.locator("mark.quote").inner_text() == expected.quote
        assert bot.source_text(expected.path)[expected.start:expected.end] == expected.quote
        assert card.locator(".passage").inner_text().strip() == expected.passage.strip()
        loc = card.inner_text()
        assert file_name(expected.path) in loc and f"paragraph {expected.paragraph}" in loc
        assert loc.count(expected.quote) == 1, "the open card shows its quote twice"
        assert str(bot.settings.data_dir) not in pg.content()  # never a server path
        if walker.phone:
            assert walker.in_window("#back-to-answer"), "the drawer's way back scrolled out of sight"
        walker.check_page("citation card")
        walker.shot("06-citation-card")
        walker.close_panel()
        if walker.phone:
            assert walker.in_window("#answer-1 a.cite")  # back at the answer the reader came from
        # a chip opens its card too
        chip = pg.locator("#answer-2 a.chip").first
        chip.scroll_into_view_if_needed()
        chip.click()
        pg.wait_for_selector("#cite-2-1[open]")
        if walker.phone:
            assert walker.in_window("#back-to-answer")
        walker.close_panel()

        # 5. feedback: Helpful, then a note; both saved on the server
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
        walker.shot("07-feedback")

        # 6. documents: a good file with a Unicode name and a bad one together; the zone recovers; a PDF
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
        pg.set_input_files("#upload input[type=file]", [str(second), str(POLLS_PDF)])  # the same zone, again
        pg.wait_for_function("document.querySelector('#upload-status-box').innerText.includes('public-opinion-polls.pdf')",
                             timeout=120_000)
        docs = pg.inner_text("#document-list")
        assert "日本の政策.md" in docs and "ロシア制裁.md" in docs and "knowledge folder" in docs
        assert f"Searching all {len(server.ui.library.documents())} documents" in pg.inner_text("#doc-scope")
        walker.check_page("documents")
        walker.shot("08-documents")

        # 7. remove a document: asked to confirm, then gone from the list and from the answers
        pg.get_by_role("button", name="Remove ロシア制裁.md").click()
        pg.get_by_role("button", name="Yes, remove ロシア制裁.md").click()
        pg.wait_for_function("document.querySelector('#upload-status-box').innerText.includes('Removed ロシア制裁.md')")
        assert "ロシア制裁.md" not in pg.inner_text("#document-list")
        assert not bot.ask("How many shipping firms does the Marmot list freeze?").answered
        walker.shot("09-removed")
        walker.close_panel()

        # 8. ask one document only: picked by title in the picker above the box; its answer cites PDF pages
        pdf = next(d for d in server.ui.library.documents() if d.name == POLLS_PDF.name)
        walker.pick_document(pdf.title)
        pg.wait_for_function("t => document.querySelector('#doc-scope').innerText.startsWith('Searching: ' + t)",
                             arg=pdf.title[:30])
        assert walker.in_window("#composer"), "with a document chosen the question box is out of the window"
        walker.shot("10-picked")
        n = walker.answers() + 1
        timings.append(walker.ask(Q_POLL))
        chips = pg.locator(f"#answer-{n} a.chip")
        assert chips.count() >= 1 and all("p. " in t for t in chips.all_inner_texts())
        pages = [c.page for c in bot.ask(Q_POLL, sources=[pdf.name]).citations]
        assert pages and all(pages)
        chips.first.click()  # from the Documents tab: the card still comes into view
        pg.wait_for_selector(f"#cite-{n}-1[open]")
        pg.wait_for_timeout(250)
        assert walker.in_window(f"#cite-{n}-1 > summary"), "the chip's card opened out of sight"
        if walker.phone:  # not under the drawer's pinned way back either
            below = pg.evaluate(f"document.querySelector('#cite-{n}-1').getBoundingClientRect().top >= "
                                "document.querySelector('#back-box').getBoundingClientRect().bottom - 1")
            assert below, "the card's title is hidden under the drawer's Back bar"
        assert f"p. {pages[0]}" in pg.inner_text(f"#cite-{n}-1")
        walker.check_page("a PDF's pages")
        walker.shot("11-pdf-pages")
        walker.close_panel()

        # 9. reload: the address reopens the conversation, its answers, citations and chosen document
        address = pg.url
        assert "c=" in address
        pg.reload(wait_until="domcontentloaded")
        pg.wait_for_selector(f"#log #answer-{n}")
        assert "Kishida" in pg.inner_text("#log #answer-3")
        assert pg.locator("#answer-1 button[data-value='1']").get_attribute("aria-pressed") == "true"
        assert pg.inner_text("#doc-scope").startswith("Searching: " + pdf.title[:30])
        walker.open_citation(1)
        assert pg.locator("#cite-1-1 mark.quote").inner_text() == expected.quote
        walker.shot("12-reloaded")
        walker.close_panel()
        # the same link in another browser (another owner) opens nothing of this conversation
        other = browser.new_context(viewport={"width": w, "height": h})
        stranger = other.new_page()
        stranger.route("**/*", offsite_guard(stranger))
        stranger.goto(address, wait_until="domcontentloaded")
        stranger.wait_for_selector("#log .examples")
        stranger.wait_for_selector("#ask-error-box .ask-error")
        assert "not one of your conversations" in stranger.inner_text("#ask-error-box")
        stranger.wait_for_function("!location.search.includes('c=')")  # and the address is dropped
        other.close()

        # 10. the conversations: each has its own menu; rename, delete with a one-line confirmation; on the
        # phone the sidebar closes once a conversation is picked
        walker.open_sidebar()
        pg.get_by_role("button", name="New conversation").click()
        pg.wait_for_selector("#log .examples")
        if walker.phone:
            pg.wait_for_function("!document.querySelector('#conversations').classList.contains('open')")
            walker.open_sidebar()
        item = pg.locator("#conversation-list li.conv").first
        item.locator(".conv-menu-btn").click()
        item.get_by_role("button", name="Rename").click()
        item.locator("input[name=title]").fill("Refugees and aid")
        item.get_by_role("button", name="Save").click()
        pg.wait_for_function("document.querySelector('#conversation-list').innerText.includes('Refugees and aid')")
        item = pg.locator("#conversation-list li.conv").first
        item.locator(".conv-menu-btn").click()
        item.get_by_role("button", name="Delete").click()
        confirm = item.get_by_role("button", name="Yes, delete")
        assert confirm.bounding_box()["height"] < 40, "the delete confirmation wraps"
        walker.check_page("conversation menu")
        walker.shot("13-conversation-menu")
        item.get_by_role("button", name="Cancel").click()
        item.get_by_role("button", name="Refugees and aid 8 answers").click()  # open it from the list
        pg.wait_for_selector(f"#log #answer-{n}")
        if walker.phone:
            pg.wait_for_function("!document.querySelector('#conversations').classList.contains('open')")
            assert walker.in_window("#question textarea")
        walker.shot("14-reopened")

        # 11. the theme switch: dark, readable, and still dark after a reload
        pg.get_by_role("button", name="Dark theme").click()
        pg.wait_for_selector("body.dark")
        pg.wait_for_timeout(600)  # Gradio fades colours between themes
        walker.check_page("dark theme")
        walker.shot("15-dark")
        pg.reload(wait_until="domcontentloaded")
        pg.wait_for_selector("#question textarea")
        pg.wait_for_function("document.body.classList.contains('dark')")
        pg.get_by_role("button", name="Light theme").click()
        pg.wait_for_function("!document.body.classList.contains('dark')")
        return {"viewport": viewport, "timings": timings, "axe": walker.axe_runs, "screens": [str(p) for p in walker.shots]}
    except Exception:
        SCREENS.mkdir(parents=True, exist_ok=True)
        pg.screenshot(path=str(SCREENS / f"{viewport}-FAILED.png"))  # what the reader saw when it broke
        raise
    finally:
        ctx.close()


def offsite_guard(pg):
    """A route handler that lets loopback requests through and records (and blocks) any other."""
    pg.offsite = []

    def guard(route):
        host = urlparse(route.request.url).hostname
        if route.request.url.startswith(("data:", "blob:")) or host in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            pg.offsite.append(route.request.url)
            route.abort()

    return guard


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_a_reader_walks_the_chat(browser, chat_server, viewport):
    result = walk(browser, chat_server, viewport)
    SCREENS.mkdir(parents=True, exist_ok=True)
    (SCREENS / f"perceived-{viewport}.json").write_text(json.dumps(result, indent=1, ensure_ascii=False))
    for t in result["timings"]:
        print(f"{viewport}: {t['question'][:40]:40}  shown {t['shown']:5} ms  first word {t['first']:5} ms  "
              f"final {t['final']:5} ms")
        assert t["shown"] <= t["first"] <= t["final"] < 15_000


def test_a_hidden_file_is_named_with_the_reason_not_a_bare_error(browser, chat_server, tmp_path, monkeypatch):
    """A ``.notes.md`` picked with another file: the other is added, the hidden one named with why and what to do.

    Gradio refuses a dotfile from its upload cache when that cache lies inside the working
    folder, as ``serve``'s does (``data/gradio-cache``), and the page showed only "Error". The
    working folder is moved to the cache's parent here to put this server in that layout.
    """
    from gradio.utils import get_upload_folder

    monkeypatch.chdir(Path(get_upload_folder()).parent)
    hidden = tmp_path / ".notes.md"
    hidden.write_text("# Notes\n\nThe Lapwing grant pays 40 billion yen to ferry operators.\n", encoding="utf-8")
    good = tmp_path / "lapwing-notes.md"
    good.write_text("# Lapwing\n\nThe Lapwing grant was announced in Hakodate in May 2031.\n", encoding="utf-8")
    ctx = browser.new_context(viewport={"width": 1440, "height": 900})
    try:
        pg = ctx.new_page()
        pg.route("**/*", offsite_guard(pg))
        pg.goto(chat_server.url, timeout=TIMEOUT_MS)
        pg.wait_for_selector("#log .log-body:not([data-initial])", timeout=TIMEOUT_MS)
        pg.get_by_role("tab", name="Documents").click()
        pg.set_input_files("#upload input[type=file]", [str(hidden), str(good)])
        pg.wait_for_function("document.querySelector('#upload-status-box').innerText.includes('lapwing-notes.md')",
                             timeout=TIMEOUT_MS)
        pg.wait_for_timeout(1000)  # a refusal by the server would show by now
        status = pg.inner_text("#upload-status-box")
        assert "Added lapwing-notes.md" in status or "already in the library" in status
        assert ".notes.md" in status and "hidden file" in status and "Rename it without the leading dot" in status
        assert pg.locator("[data-testid=toast-body]").count() == 0, pg.inner_text("body")[:500]
        assert "Error" not in pg.inner_text("#upload")
        assert ".notes.md" not in pg.inner_text("#document-list")
        assert [p.name for p in chat_server.ui.uploads_dir.rglob("*notes.md")] == ["lapwing-notes.md"]
        # the next selection starts afresh
        pg.set_input_files("#upload input[type=file]", [str(good)])
        pg.wait_for_function("!document.querySelector('#upload-hidden')", timeout=TIMEOUT_MS)
        assert not pg.offsite
    finally:
        ctx.close()


def test_the_sign_in_page_says_wrong_passwords_are_slowed_down(browser, chat_server):
    """Past the free tries the server answers 429; the sign-in page (where our script does not run) says the rule."""
    with running_chat(chat_server.ui.bot, launch={"auth": ("alice", "s3cret")}) as server:
        ctx = browser.new_context(viewport={"width": 1440, "height": 900})
        try:
            pg = ctx.new_page()
            pg.route("**/*", offsite_guard(pg))
            codes: list[int] = []
            pg.on("response", lambda r: codes.append(r.status) if r.url.rstrip("/").endswith("/login") else None)
            pg.goto(server.url, timeout=TIMEOUT_MS)
            password = pg.locator("input[type=password]")
            password.wait_for(timeout=TIMEOUT_MS)
            assert "After 5 wrong passwords, each further try" in pg.inner_text("body")
            user = pg.locator("input:not([type=password]), textarea").first
            for _ in range(6):
                user.fill("alice")
                password.fill("wrong")
                pg.get_by_role("button", name="Login").click()
                pg.wait_for_timeout(300)
            assert codes == [400] * 5 + [429], codes
            assert not pg.offsite
        finally:
            ctx.close()

"""Loaders take time in proportion to the file (issue 22), and read every page exactly as before.

The HTML loader used to edit the parsed tree in place (a newline around every block,
each table row replaced), which made BeautifulSoup search each element's siblings:
a page of many short blocks took time in the square of its length. The Word loader
looked each paragraph's style up by id, twice, and python-docx followed a vertical
merge up one row at a time, recursively. Each test here builds the shape that was
slow and must finish in a few seconds; the pinned pages below must read exactly as
the old loader read them (line for line, headings, title and date).
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from ingest import load_source
from tests._docs import HTML


def _timed(seconds: float, fn):
    """(``fn()``, seconds it took), run on a thread; fail after ``seconds`` instead of waiting for a slow loader."""
    out: dict = {}

    def run() -> None:
        t0 = time.perf_counter()
        try:
            out["value"] = fn()
        except BaseException as exc:  # handed to the test
            out["error"] = exc
        out["seconds"] = time.perf_counter() - t0

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), f"still loading after {seconds} s"
    if "error" in out:
        raise out["error"]
    return out["value"], out["seconds"]


def test_a_page_of_many_short_blocks_loads_in_linear_time(tmp_path: Path):
    # a transcript written as HTML: 20,000 short paragraphs and list items side by side (~1 MB);
    # the old loader took minutes (a sibling search per inserted newline)
    turns = "".join(f"<p>Speaker {i % 7}: point {i} on the sanctions list.</p><li>item {i}</li>" for i in range(20_000))
    f = tmp_path / "transcript.html"
    f.write_text(f"<html><head><title>Diet record</title></head><body><h1>Record</h1>{turns}</body></html>", "utf-8")
    doc, seconds = _timed(30, lambda: load_source(f, tmp_path))
    assert seconds < 8, f"{seconds:.1f} s"
    lines = doc.text.splitlines()
    assert len(lines) == 1 + 40_000
    assert lines[:3] == ["Record", "Speaker 0: point 0 on the sanctions list.", "• item 0"]
    assert lines[-1] == "• item 19999"
    assert doc.heading_lines == frozenset({0})


def test_a_saved_page_with_a_long_table_loads_in_linear_time(tmp_path: Path):
    # a sanctions notice saved from a site (menus, footer): its article goes through trafilatura, then one row a line
    rows = "".join(f"<tr><td>Person {i}</td><td>Country {i % 40}</td><td>{i % 28 + 1}.3.2023</td></tr>"
                   for i in range(15_000))
    intro = "<p>Japan added the following people and entities to its list of designated persons today. </p>" * 3
    f = tmp_path / "notice.html"
    f.write_text(f"<html><head><title>Designations | Ministry</title></head><body><nav><a href='/'>Home</a></nav>"
                 f"<article><h1>Designations</h1>{intro}<table><tr><th>Name</th><th>Country</th><th>Since</th></tr>"
                 f"{rows}</table></article><footer>© Ministry</footer></body></html>", "utf-8")
    doc, seconds = _timed(40, lambda: load_source(f, tmp_path))
    assert seconds < 10, f"{seconds:.1f} s"  # the old loader: 24 s (a sibling search per row)
    lines = doc.text.splitlines()
    assert "Name | Country | Since" in lines and "Person 14999 | Country 39 | 20.3.2023" in lines
    assert "Home" not in lines and doc.title == "Designations"


def _docx(path: Path, build) -> Path:  # noqa: ANN001 - build(document) adds the content
    import docx

    d = docx.Document()
    build(d)
    d.save(path)
    return path


def test_a_word_document_of_many_blank_paragraphs_loads_in_linear_time(tmp_path: Path):
    # 100,000 paragraphs that look empty (a zero-width space each, as pasted text has) in a 40 KB file:
    # 1.1 ms each before (two style look-ups per paragraph), so minutes
    from evals.loaderbench import docx_bytes

    f = tmp_path / "minutes.docx"
    f.write_bytes(docx_bytes(100_000, blank=True))
    doc, seconds = _timed(40, lambda: load_source(f, tmp_path))
    assert seconds < 8, f"{seconds:.1f} s"
    lines = doc.text.splitlines()
    assert len(lines) == 100_000 and lines[0] == "Japan's response to the war" and lines[1] == "\u200b"
    assert doc.heading_lines == frozenset({0}) and doc.title == "Japan's response to the war"


def test_a_word_table_merged_down_many_rows_loads(tmp_path: Path):
    # python-docx resolved each continued cell by recursing one row up: 1,200 rows overflowed the stack
    def build(d) -> None:  # noqa: ANN001
        table = d.add_table(rows=1_200, cols=2)
        for i, tr in enumerate(table._tbl.tr_lst):
            first, second = tr.tc_lst
            first.vMerge = "restart" if i == 0 else "continue"
            second.p_lst[0].add_r().text = f"row {i}"
        table._tbl.tr_lst[0].tc_lst[0].p_lst[0].add_r().text = "Group A"

    f = _docx(tmp_path / "merged.docx", build)
    doc, seconds = _timed(30, lambda: load_source(f, tmp_path))
    assert seconds < 8, f"{seconds:.1f} s"
    lines = doc.text.splitlines()
    assert lines[0] == "Group A | row 0" and lines[-1] == "Group A | row 1199" and len(lines) == 1_200


# -- pages read exactly as the loader before issue 22 read them (its output, pinned)
_PINNED = {
    "junk.html": (
        "<!DOCTYPE html><html><head><title>Junk <b>bold</b> title</title><style>p{}</style><script>if (a<b) {}</script>"
        "</head><body><noscript><p>Enable JS</p></noscript><template><p>templ</p></template><!-- a comment -->"
        "<p>one<!--c-->two</p><p>cdata <![CDATA[inside cdata]]> end</p><head><title>second head</title></head>"
        "<p>text &amp; entities &nbsp; &copy; &#8212; &foo;</p>plain body text<br>after br<br/>and more<hr>after hr"
        "<p>unclosed p<p>next p<div>div in p</div></p><li>stray li</li><td>stray td</td><h3 class='dateline'>Dateline h3"
        "</h3><div class='post-meta'><span>By A</span> <span>Jan 1</span><div class='author'>Nested author</div></div>"
        "<p>line\rwith CR and\x0cform feed and\u2028line sep and\x85nel</p><title>body title</title><p>•</p><p> • </p>"
        "<ul><li></li><li>  </li><li>x</li></ul></body></html>",
        {"text": "onetwo\ncdata inside cdata end\nsecond head\ntext & entities © — &foo\nplain body text\nafter br\n"
                 "and more\nafter hr\nunclosed p\nnext p\ndiv in p\n• stray li\nstray td\nDateline h3\nBy A Jan 1\n"
                 "Nested author\nline\nwith CR and\nform feed and\nline sep and\nnel\nbody title\n• x",
         "title": "Junk bold title", "date": "", "heading_lines": [157, 180]}),
    "tables.html": (
        "<html><body><h1>Tables</h1><table><tr><td>a<table><tr><td>inner1</td><td>inner2</td></tr></table></td><td>b</td>"
        "</tr><tr><th class='meta'>head cell</th><td><ul><li>li in td</li></ul></td></tr><tr><td></td><td>  </td></tr>"
        "<tr><td>dup</td><td>dup</td></tr></table><p>after</p></body></html>",
        {"text": "Tables\na inner1 inner2 | inner1 | inner2 | b\nhead cell | li in td\ndup | dup\nafter",
         "title": "Tables", "date": "", "heading_lines": [0]}),
    "ruby.html": (
        "<html><body><p>東京<ruby>漢<rp>(</rp><rt>かん</rt><rp>)</rp>字</ruby>です。</p><h2>見出し<rt>x</rt></h2>"
        "<rt class='byline'>rt byline</rt></body></html>",
        {"text": "東京漢字です。\n見出し", "title": "Ruby", "date": "", "heading_lines": [8]}),
    "headings.html": (
        "<html><body><header><h1>Site</h1><p>tagline</p></header><article><h1>Main</h1><p class='kicker eyebrow'>"
        "Kicker</p><figure><figcaption>Fig cap</figcaption></figure><p>Body text here.</p><table><caption>Table caption"
        "</caption><tr><td>x</td></tr></table></article><ul><li>one<ul><li>nested</li></ul></li><li><p>para in li</p>"
        "</li></ul><dl><dt>term</dt><dd>def</dd></dl></body></html>",
        {"text": "Site\ntagline\nMain\nKicker\nFig cap\nBody text here.\nTable caption\nx\n• one\n• nested\npara in li\n"
                 "term\ndef",
         "title": "Headings", "date": "", "heading_lines": [0, 13, 18, 25, 49]}),
    "saved.html": (
        "<!DOCTYPE html><html><head><title>Japan adds 12 designations | Example News</title>"
        "<meta name='date' content='2024-05-01'></head><body><div id='cookie-banner'>We use cookies. "
        "<a href='/privacy'>More</a></div><nav><ul><li><a href='/'>Home</a></li><li><a href='/asia'>Asia</a></li></ul>"
        "</nav><main><article><h1>Japan adds 12 designations</h1><p class='byline'>By Aiko Lindqvist</p>"
        "<p>Japan on Friday added twelve people and three companies to its sanctions list, freezing their assets in "
        "Japan and banning payments to them, the Ministry of Finance said in a statement.</p><h2>Who is on the list</h2>"
        "<p>The new names include two deputy ministers and the owners of a shipping company accused of moving oil above "
        "the G7 price cap, officials said.</p><ul><li>Two deputy defence ministers.</li><li>Three shipping companies "
        "registered in the UAE.</li></ul><table><tr><th>Name</th><th>Role</th></tr><tr><td>A. Petrov</td><td>Deputy "
        "minister</td></tr><tr><td>Sea Star LLC</td><td>Shipping</td></tr></table><h2>What comes next</h2><p>Chief "
        "Cabinet Secretary Yoshimasa Hayashi said Japan would keep working with the Group of Seven to raise the cost of "
        "the war for Russia.</p></article></main><aside><h2>Related</h2><ul><li><a href='/x'>Japan pledges $9 billion "
        "to Atlantis</a></li></ul></aside><footer><p>© Example News. <a href='/terms'>Terms</a></p></footer></body></html>",
        {"text": "Japan adds 12 designations\nJapan on Friday added twelve people and three companies to its sanctions "
                 "list, freezing their assets in Japan and banning payments to them, the Ministry of Finance said in a "
                 "statement.\nWho is on the list\nThe new names include two deputy ministers and the owners of a "
                 "shipping company accused of moving oil above the G7 price cap, officials said.\n• Two deputy defence "
                 "ministers.\n• Three shipping companies registered in the UAE.\nName | Role\nA. Petrov | Deputy "
                 "minister\nSea Star LLC | Shipping\nWhat comes next\nChief Cabinet Secretary Yoshimasa Hayashi said "
                 "Japan would keep working with the Group of Seven to raise the cost of the war for Russia.",
         "title": "Japan adds 12 designations", "date": "2024-05-01", "heading_lines": [0, 212, 519]}),
    "kelp.html": (HTML, {"text": "Kelp farming\nKelp farms in Hokkaido produce kombu for dashi stock.\nGrowers harvest the "
                                 "kelp in late summer after two years of growth.",
                         "title": "Kelp Farming Notes", "date": "", "heading_lines": [0]}),
}


@pytest.mark.parametrize("name", sorted(_PINNED))
def test_pages_read_exactly_as_before(tmp_path: Path, name: str):
    html, expected = _PINNED[name]
    (tmp_path / name).write_text(html, encoding="utf-8", newline="")
    doc = load_source(tmp_path / name, tmp_path)
    got = {"text": doc.text, "title": doc.title, "date": doc.date, "heading_lines": sorted(doc.heading_lines)}
    assert got == expected


def test_the_loader_benchmark_runs(tmp_path: Path):
    """``python -m evals.loaderbench`` at a hundredth of its sizes: every file builds and loads, one in a child."""
    from evals.loaderbench import CASES, _one, main

    for name, (suffix, build) in CASES.items():
        f = tmp_path / f"{name}{suffix}"
        f.write_bytes(build(0.01))
        assert _one(f)["chars"] > 0, name
    out = tmp_path / "bench.json"
    assert main(["--cases", "docx-200k-blank", "--scale", "0.01", "--out", str(out)]) == 0
    rows = json.loads(out.read_text())["cases"]
    assert [(r["case"], r["status"]) for r in rows] == [("docx-200k-blank", "ok")] and rows[0]["seconds"] < 30

"""python -m evals.loaderbench — how long ``load_source`` takes on large HTML pages and Word documents.

Why: a loader slower than linear turns one big file into a stalled ingest (issue 22:
a 1 MB page took 39 s, an 8 MB one never finished, a 71 KB .docx of 200k empty
paragraphs took 269 s). This builds, in a temporary folder, files of the sizes a
knowledge folder can hold, and times ``load_source`` on each in a fresh child
process (so peak memory is that file's, and a loader that hangs is stopped at
``--timeout``):

- saved web pages of 1 MB and 8 MB: a cookie banner, site menu, article of many
  sections (paragraphs with links and emphasis, lists, tables, quotes, figures),
  related links and a footer, so they take the main-content (trafilatura) path;
- a 1 MB page written as HTML (no site around it), which is read line for line;
- a 1 MB saved page that is mostly one table (a sanctions notice's ~12,000 designations);
- Word documents of 20,000 and 200,000 paragraphs (headings, body text, list
  items, empty spacer paragraphs, a table every so often), and the hostile one:
  200,000 paragraphs that look empty (a zero-width space each) in a 70 KB file.

The text is the benchmark corpus's generated policy sentences (``evals.corpus``),
so it is varied and splits like real prose. The table goes to stdout and the
numbers to ``evals/out/loaderbench.json``. The target: the 8 MB page in under 30 s.

Measured on the 2-core machine (seconds; before: the loaders of a70ca3c, with the
in-place HTML edits and python-docx's paragraph objects; after: issue 22's, with
other jobs running, load average 4):

    case               before    after
    html-1mb             5.00     2.16
    html-8mb            71.84    16.89
    html-1mb-document    1.80     1.41
    html-1mb-table      12.38     4.10
    docx-20k            19.11     0.42
    docx-200k          > 300      4.63
    docx-200k-blank    294.12     2.68
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from html import escape
from pathlib import Path

from evals.corpus import COUNTRIES, SURNAMES, template_sentence

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "evals" / "out" / "loaderbench.json"
MB = 1024 * 1024

_SECTIONS = ("Background", "What was agreed", "Reaction", "Costs", "Next steps", "Energy", "Trade", "Refugees")


def _sentences(rng: random.Random, n: int) -> str:
    return " ".join(template_sentence(rng, 0.25) for _ in range(n))


def _inline(rng: random.Random, text: str) -> str:
    """Escaped ``text`` with the inline markup of a real article: a link, some emphasis."""
    words = escape(text).split(" ")
    if len(words) > 8 and rng.random() < 0.5:
        i = rng.randrange(0, len(words) - 3)
        words[i : i + 3] = [f'<a href="/news/{rng.randint(1000, 99999)}">{" ".join(words[i : i + 3])}</a>']
    if len(words) > 8 and rng.random() < 0.3:
        i = rng.randrange(0, len(words) - 2)
        words[i : i + 2] = [f"<strong>{' '.join(words[i : i + 2])}</strong>"]
    return " ".join(words)


def _nav(rng: random.Random, n: int) -> str:
    items = "".join(f'<li><a href="/{c.lower()}">{c}</a></li>' for c in rng.sample(COUNTRIES, n))
    return f"<nav class=\"menu\" aria-label=\"Sections\"><ul>{items}</ul></nav>"


def _table(rng: random.Random, rows: int) -> str:
    head = "<thead><tr><th>Name</th><th>Country</th><th>Measure</th><th>Since</th></tr></thead>"
    body = "".join(f"<tr><td>{rng.choice('ABCDEHJKLMNPRST')}. {rng.choice(SURNAMES)}</td><td>{rng.choice(COUNTRIES)}</td>"
                   f"<td>Measure {rng.randint(1, 99)}</td><td>{rng.randint(1, 28)}.{rng.randint(1, 12)}.{rng.randint(2014, 2025)}</td></tr>"
                   for _ in range(rows))
    return f"<table>{head}<tbody>{body}</tbody></table>"


def _section(rng: random.Random) -> str:
    """One section of the article: a heading, paragraphs short and long, and a list, table, quote or figure."""
    parts = [f"<h2>{rng.choice(_SECTIONS)} ({rng.randint(1, 999)})</h2>"]
    for _ in range(rng.randint(3, 10)):
        parts.append(f"<p>{_inline(rng, _sentences(rng, rng.randint(1, 4)))}</p>")
    roll = rng.random()
    if roll < 0.3:
        items = "".join(f"<li>{_inline(rng, _sentences(rng, 1))}</li>" for _ in range(rng.randint(3, 12)))
        parts.append(f"<ul>{items}</ul>")
    elif roll < 0.55:
        parts.append(_table(rng, rng.randint(5, 40)))
    elif roll < 0.65:
        parts.append(f"<blockquote><p>{escape(_sentences(rng, 2))}</p><cite>{rng.choice(SURNAMES)}</cite></blockquote>")
    elif roll < 0.75:
        parts.append(f'<figure><img src="/img/{rng.randint(1, 9999)}.jpg" alt="">'
                     f"<figcaption>{escape(_sentences(rng, 1))}</figcaption></figure>")
    elif roll < 0.78:  # an annex: the long list of designated people a sanctions notice carries
        parts.append(_table(rng, rng.randint(300, 1000)))
    return "".join(parts) + "\n"  # flat, as most articles are: h2, p, ul, table side by side


def html_page(target_bytes: int, *, seed: int = 1, site: bool = True) -> str:
    """An HTML page of about ``target_bytes``: a saved news page (``site``) or a document written as HTML."""
    rng = random.Random(seed)
    head = ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            "<title>Japan widens its response to the war | Policy Monitor</title>"
            '<meta property="article:published_time" content="2024-03-01T09:00:00Z">'
            "<style>body{font-family:sans-serif} .menu li{display:inline}</style>"
            "<script>window.dataLayer=window.dataLayer||[];</script></head><body>\n")
    top = ""
    if site:
        top = ('<div id="cookie-banner">We use cookies to improve our service. <a href="/privacy">More info</a></div>'
               f'<header class="site-header"><a class="logo" href="/">Policy Monitor</a>{_nav(rng, 12)}</header>\n')
    article = ("<main><article><h1>Japan widens its response to the war</h1>"
               '<p class="byline">By Mariko Tanabe</p><p class="dateline">TOKYO, March 1, 2024</p>\n')
    tail = "</article>"
    if site:
        related = "".join(f'<li><a href="/news/{rng.randint(1, 99999)}">{escape(_sentences(rng, 1))}</a></li>'
                          for _ in range(8))
        tail += (f"<aside><h2>Related</h2><ul>{related}</ul></aside></main>"
                 f"<footer>{_nav(rng, 8)}<p>© Policy Monitor. All rights reserved.</p></footer>")
    else:
        tail += "</main>"
    tail += "<script>console.log('done');</script></body></html>\n"
    body: list[str] = []
    size = len(head) + len(top) + len(article) + len(tail)
    while size < target_bytes:
        body.append(_section(rng))
        size += len(body[-1].encode())
    return head + top + article + "".join(body) + tail


def table_page(target_bytes: int, *, seed: int = 3) -> str:
    """A saved page whose article is mostly one long table: a sanctions notice with its list of designations."""
    rng = random.Random(seed)
    intro = "".join(f"<p>{_inline(rng, _sentences(rng, 3))}</p>" for _ in range(4))
    head = ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Designations | Ministry</title></head>'
            f"<body><header>{_nav(rng, 10)}</header><main><article><h1>Additional designations</h1>{intro}<table>"
            "<thead><tr><th>Name</th><th>Country</th><th>Measure</th><th>Since</th></tr></thead><tbody>\n")
    tail = f"</tbody></table></article></main><footer>{_nav(rng, 6)}</footer></body></html>\n"
    rows: list[str] = []
    size = len(head) + len(tail)
    while size < target_bytes:
        rows.append(f"<tr><td>{rng.choice('ABCDEHJKLMNPRST')}. {rng.choice(SURNAMES)}</td><td>{rng.choice(COUNTRIES)}</td>"
                    f"<td>Measure {rng.randint(1, 99)}</td><td>{rng.randint(1, 28)}.{rng.randint(1, 12)}.2023</td></tr>\n")
        size += len(rows[-1])
    return head + "".join(rows) + tail


# -- Word documents, written as WordprocessingML directly: python-docx's add_paragraph
# slows down with the body's length (it looks for the section properties each time).
_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def _wp(text: str, style: str = "") -> str:
    ppr = f'<w:pPr><w:pStyle w:val="{style}"/></w:pPr>' if style else ""
    return f'<w:p>{ppr}<w:r><w:t xml:space="preserve">{escape(text)}</w:t></w:r></w:p>'


def _wtable(rng: random.Random) -> str:
    rows = []
    for c in rng.sample(COUNTRIES, rng.randint(2, 5)):
        cells = (c, f"Measure {rng.randint(1, 99)}", f"${rng.randint(1, 900)} million")
        rows.append("<w:tr>" + "".join(f'<w:tc><w:tcPr><w:tcW w:w="3000" w:type="dxa"/></w:tcPr>{_wp(x)}</w:tc>'
                                       for x in cells) + "</w:tr>")
    grid = '<w:tblGrid><w:gridCol w:w="3000"/><w:gridCol w:w="3000"/><w:gridCol w:w="3000"/></w:tblGrid>'
    return f'<w:tbl><w:tblPr><w:tblStyle w:val="TableGrid"/></w:tblPr>{grid}{"".join(rows)}</w:tbl>'


def docx_bytes(paragraphs: int, *, seed: int = 2, blank: bool = False) -> bytes:
    """A .docx of ``paragraphs`` paragraphs: a realistic mix, or (``blank``) all but one looking empty.

    A blank paragraph holds only a zero-width space, as pasted text often does: it is
    not empty to the loader, which used to look its style up (twice, at ~0.6 ms each).
    """
    import docx

    rng = random.Random(seed)
    template = docx.Document()
    template.core_properties.title = ""
    buf = io.BytesIO()
    template.save(buf)
    blocks: list[str] = [_wp("Japan's response to the war", "Title")]
    if blank:
        blocks += [_wp("\u200b")] * (paragraphs - 2) + [_wp(_sentences(rng, 2))]
    while len(blocks) < paragraphs:
        roll = rng.random()
        if roll < 0.04:
            blocks.append(_wp(f"{rng.choice(_SECTIONS)} ({rng.randint(1, 999)})", "Heading1"))
        elif roll < 0.25:
            blocks.append("<w:p/>")  # the spacer paragraphs Word users type
        elif roll < 0.40:
            blocks.append(_wp(template_sentence(rng, 0.25), "ListBullet"))
        elif roll < 0.41:
            blocks.append(_wtable(rng))
        else:
            blocks.append(_wp(_sentences(rng, rng.randint(1, 3))))
    out = io.BytesIO()
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "word/document.xml":
                xml = data.decode("utf-8")
                start = xml.index("<w:body>") + len("<w:body>")
                sect = xml.index("<w:sectPr")
                data = (xml[:start] + "".join(blocks) + xml[sect:]).encode("utf-8")
            dst.writestr(item, data)
    return out.getvalue()


# name -> (suffix, the file's bytes at a scale: 1.0 is the benchmark, a smoke test uses a hundredth)
CASES: dict[str, tuple[str, Callable[[float], bytes]]] = {
    "html-1mb": (".html", lambda k: html_page(int(1 * MB * k)).encode()),
    "html-8mb": (".html", lambda k: html_page(int(8 * MB * k)).encode()),
    "html-1mb-document": (".html", lambda k: html_page(int(1 * MB * k), site=False).encode()),
    "html-1mb-table": (".html", lambda k: table_page(int(1 * MB * k)).encode()),
    "docx-20k": (".docx", lambda k: docx_bytes(max(10, int(20_000 * k)))),
    "docx-200k": (".docx", lambda k: docx_bytes(max(10, int(200_000 * k)))),
    "docx-200k-blank": (".docx", lambda k: docx_bytes(max(10, int(200_000 * k)), blank=True)),
}


def _one(path: Path) -> dict:
    """Child: time ``load_source`` on ``path``."""
    from ingest.loaders import load_source

    t0 = time.perf_counter()
    doc = load_source(path, path.parent)
    seconds = time.perf_counter() - t0
    return {"seconds": round(seconds, 3), "chars": len(doc.text), "lines": doc.text.count("\n") + 1,
            "headings": len(doc.heading_lines), "title": doc.title,
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def run(names: list[str], timeout: float, folder: Path, scale: float = 1.0) -> list[dict]:
    rows = []
    for name in names:
        suffix, build = CASES[name]
        path = folder / f"{name}{suffix}"
        path.write_bytes(build(scale))
        row = {"case": name, "bytes": path.stat().st_size}
        cmd = [sys.executable, "-m", "evals.loaderbench", "--one", str(path)]
        t0 = time.perf_counter()
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                                 env={**os.environ, "HF_HUB_OFFLINE": "1"})
        except subprocess.TimeoutExpired:
            row.update(status="timeout", seconds=None, wall_s=round(time.perf_counter() - t0, 1))
        else:
            if out.returncode == 0:
                row.update(status="ok", **json.loads(out.stdout.strip().splitlines()[-1]))
            else:
                row.update(status="error", seconds=None, error=(out.stderr.strip().splitlines() or ["?"])[-1])
        rows.append(row)
        print(_line(row), flush=True)
        path.unlink()
    return rows


def _line(row: dict) -> str:
    took = f"{row['seconds']:9.2f}" if row.get("seconds") is not None else f"{row['status']:>9}"
    chars = f"{row['chars']:>12,}" if "chars" in row else f"{'-':>12}"
    rss = f"{row['peak_rss_mb']:8.0f}" if "peak_rss_mb" in row else f"{'-':>8}"
    return f"{row['case']:<18} | {row['bytes'] / MB:8.2f} | {took} | {chars} | {rss}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m evals.loaderbench", description=__doc__.splitlines()[0])
    ap.add_argument("--cases", default=",".join(CASES), help=f"comma-separated, of: {', '.join(CASES)}")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds before a case is stopped (default 300)")
    ap.add_argument("--out", type=Path, default=OUT, help="JSON results (default evals/out/loaderbench.json)")
    ap.add_argument("--scale", type=float, default=1.0, help="file sizes times this (default 1; 0.01 for a smoke run)")
    ap.add_argument("--one", type=Path, help=argparse.SUPPRESS)  # child mode: time one file
    args = ap.parse_args(argv)
    if args.one:
        print(json.dumps(_one(args.one)))
        return 0
    names = [n.strip() for n in args.cases.split(",") if n.strip()]
    unknown = [n for n in names if n not in CASES]
    if unknown:
        ap.error(f"unknown case(s): {', '.join(unknown)}")
    print(f"{'case':<18} | {'MB':>8} | {'load s':>9} | {'characters':>12} | {'RSS MB':>8}")
    with tempfile.TemporaryDirectory(prefix="loaderbench-") as tmp:
        rows = run(names, args.timeout, Path(tmp), args.scale)
    result = {"cpus": os.cpu_count(), "python": platform.python_version(), "timeout_s": args.timeout,
              "scale": args.scale, "cases": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1), encoding="utf-8")
    print(f"wrote {args.out}")
    return 0 if all(r["status"] == "ok" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())

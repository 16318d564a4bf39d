"""A per-file time budget (issue 22): a file still being read after ``Settings.load_timeout_s`` is skipped by name.

The loaders check the budget as they go (between steps, and inside their loops over
HTML elements, Word paragraphs and PDF pages), so a file is dropped soon after its
budget, not after it was read whole, and ingest goes on with the other files.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from assistant import Assistant, DocumentError, Settings
from tests._docs import MARKDOWN
from tests._store import all_passages


def _blank_docx(path: Path, paragraphs: int) -> Path:
    """A small .docx (70 KB) of many paragraphs that look empty: seconds to read in full, quick to write."""
    from evals.loaderbench import docx_bytes

    path.write_bytes(docx_bytes(paragraphs, blank=True))
    return path


def _many_page_pdf(path: Path, pages: int) -> Path:
    """A valid PDF of ``pages`` pages of text (pypdf extracts each in a few ms)."""
    n_obj = 3 + 2 * pages
    objects = {1: b"<< /Type /Catalog /Pages 2 0 R >>",
               3: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"}
    kids = []
    for i in range(pages):
        page, stream = 4 + 2 * i, 5 + 2 * i
        content = f"BT /F1 11 Tf 72 720 Td (Entry {i}: Japan froze the assets of {i} more people.) Tj ET".encode()
        kids.append(f"{page} 0 R".encode())
        objects[page] = (f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {stream} 0 R "
                         "/Resources << /Font << /F1 3 0 R >> >> >>").encode()
        objects[stream] = b"<< /Length " + str(len(content)).encode() + b" >>\nstream\n" + content + b"\nendstream"
    objects[2] = b"<< /Type /Pages /Kids [" + b" ".join(kids) + b"] /Count " + str(pages).encode() + b" >>"
    out = bytearray(b"%PDF-1.4\n")
    offsets = {}
    for i in range(1, n_obj + 1):
        offsets[i] = len(out)
        out += f"{i} 0 obj\n".encode() + objects[i] + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {n_obj + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offsets[i]:010d} 00000 n \n".encode() for i in range(1, n_obj + 1))
    out += f"trailer\n<< /Size {n_obj + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    path.write_bytes(bytes(out))
    return path


def _page(path: Path, blocks: int) -> Path:
    path.write_text("<html><body>" + "".join(f"<p>Point {i} of the minutes.</p>" for i in range(blocks))
                    + "</body></html>", encoding="utf-8")
    return path


def test_the_budget_is_a_setting_with_a_default_of_60_s(monkeypatch):
    assert Settings().load_timeout_s == 60
    monkeypatch.setenv("ASSISTANT_LOAD_TIMEOUT_S", "5")
    assert Settings().load_timeout_s == 5


def test_a_file_over_its_budget_is_refused_soon_after_it(tmp_path: Path):
    from ingest import load_source

    cases = [_blank_docx(tmp_path / "minutes.docx", 200_000), _many_page_pdf(tmp_path / "report.pdf", 300),
             _page(tmp_path / "page.html", 30_000)]
    for f in cases:
        t0 = time.monotonic()
        with pytest.raises(DocumentError) as err:
            load_source(f, tmp_path, timeout_s=0.05)
        seconds = time.monotonic() - t0
        assert str(err.value).startswith(f"{f.name}: took longer than 0.05 s to read; skipped.")
        assert "ASSISTANT_LOAD_TIMEOUT_S" in err.value.hint
        assert seconds < 3, f"{f.name}: stopped after {seconds:.1f} s"
    # read whole, without a budget (or with 0: no limit), they load
    assert load_source(cases[1], tmp_path).text.count("Japan froze the assets") == 300
    assert load_source(cases[2], tmp_path, timeout_s=0).text.startswith("Point 0 of the minutes.")


def test_ingest_skips_a_slow_file_by_name_and_indexes_the_others(tmp_path: Path, embedder):
    knowledge = tmp_path / "knowledge"
    knowledge.mkdir()
    (knowledge / "bees.md").write_text(MARKDOWN, encoding="utf-8")
    _blank_docx(knowledge / "minutes.docx", 200_000)
    bot = Assistant(Settings(data_dir=tmp_path / "data", knowledge_dir=knowledge, load_timeout_s=0.2),
                    embedder=embedder, auto_ingest=False)
    report = bot.ingest(progress=False)
    assert [(Path(f).name, reason.split(";")[0]) for f, reason in report.errors] == [
        ("minutes.docx", "minutes.docx: took longer than 0.2 s to read")]
    assert report.seconds < 30
    assert {p["source"] for p in all_passages(bot)} == {"bees.md"}
    assert bot.ask("When do beekeepers harvest chestnut honey?").answered

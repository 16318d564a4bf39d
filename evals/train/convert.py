"""python evals/train/convert.py evals/train/<batch> [...]   (needs: pip install fpdf2 python-docx)

Turns one Markdown document of a batch into a Word file and one plain-text
document into a PDF, so the reader is trained on text as the project's loaders
extract it from every format they read (PDF reflow, Word headings and lists),
not only on the three formats writers type. The questions' ``doc`` fields and
the sidecar follow the new name; the text itself is unchanged. Run once per
batch, by hand; never at run time or in CI.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")


def md_to_docx(src: Path, dst: Path) -> None:
    from docx import Document

    doc = Document()
    for block in re.split(r"\n\s*\n", src.read_text(encoding="utf-8")):
        for line in block.splitlines():
            m = re.match(r"^(#{1,6})\s+(.*)", line)
            if m:
                doc.add_heading(m.group(2).strip(), level=min(len(m.group(1)), 4))
            elif re.match(r"^\s*[-*]\s+", line):
                doc.add_paragraph(re.sub(r"^\s*[-*]\s+", "", line), style="List Bullet")
            elif line.strip():
                doc.add_paragraph(line.strip())
    doc.save(str(dst))


def txt_to_pdf(src: Path, dst: Path, title: str) -> None:
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_title(title)
    pdf.add_font("DejaVu", "", str(FONT_DIR / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
    pdf.set_auto_page_break(True, margin=18)
    pdf.add_page()
    first = True
    for para in re.split(r"\n\s*\n", src.read_text(encoding="utf-8")):
        text = " ".join(para.split())
        if not text:
            continue
        pdf.set_font("DejaVu", "B" if first else "", 14 if first else 10.5)
        pdf.multi_cell(0, 7 if first else 5.5, text)
        pdf.ln(3)
        first = False
    pdf.output(str(dst))


def convert(batch: Path) -> list[tuple[str, str]]:
    docs = batch / "docs"
    renames = []
    md = sorted(p for p in docs.glob("*.md"))
    txt = sorted(p for p in docs.glob("*.txt"))
    if md:
        renames.append((md[0], md[0].with_suffix(".docx"), md_to_docx))
    if txt:
        renames.append((txt[0], txt[0].with_suffix(".pdf"), txt_to_pdf))
    done = []
    for src, dst, fn in renames:
        meta_src = src.with_name(src.name + ".meta.json")
        meta = json.loads(meta_src.read_text(encoding="utf-8"))
        if fn is txt_to_pdf:
            fn(src, dst, meta["title"])
        else:
            fn(src, dst)
        meta["note"] = meta.get("note", "") + f" Converted from the writer's {src.suffix} by evals/train/convert.py."
        dst.with_name(dst.name + ".meta.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n",
                                                         encoding="utf-8")
        src.unlink()
        meta_src.unlink()
        done.append((src.name, dst.name))
    qfile = batch / "questions.jsonl"
    names = dict(done)
    lines = []
    for line in qfile.read_text(encoding="utf-8").splitlines():
        if line.strip():
            q = json.loads(line)
            if q.get("doc") in names:
                q["doc"] = names[q["doc"]]
            if q.get("docs"):
                q["docs"] = [names.get(d, d) for d in q["docs"]]
            lines.append(json.dumps(q, ensure_ascii=False))
    qfile.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return done


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        print(arg, convert(Path(arg)))

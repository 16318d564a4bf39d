"""Render pdf-src/public-opinion-polls.md into knowledge/public-opinion-polls.pdf.

Usage (fpdf2 installed in a scratch venv):
    /tmp/pdfenv/bin/python make_public_opinion_pdf.py
Handles only the small markdown subset used by the source file:
'# ' title, '## ' headings, '- ' bullets, '|' tables, plain paragraphs.
"""
from pathlib import Path

from fpdf import FPDF

HERE = Path(__file__).resolve().parent
SRC = HERE / "public-opinion-polls.md"
OUT = HERE.parent / "knowledge" / "public-opinion-polls.pdf"
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")


class Brief(FPDF):
    def header(self):
        if self.page_no() == 1:
            return
        self.set_font("DejaVu", "I", 8)
        self.set_text_color(110, 110, 110)
        self.cell(0, 6, "Public Attitudes Monitor | Research Brief No. 7 | March 2024", align="R")
        self.ln(8)
        self.set_text_color(0, 0, 0)

    def footer(self):
        self.set_y(-14)
        self.set_font("DejaVu", "", 8)
        self.set_text_color(110, 110, 110)
        self.cell(0, 8, f"Page {self.page_no()} of {{nb}}", align="C")
        self.set_text_color(0, 0, 0)


def main() -> None:
    lines = SRC.read_text(encoding="utf-8").splitlines()
    pdf = Brief(format="A4")
    pdf.set_title("Japanese Public Opinion and the War in Ukraine, 2022-2024")
    pdf.set_author("Public Attitudes Monitor")
    pdf.add_font("DejaVu", "", str(FONT_DIR / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
    pdf.add_font("DejaVu", "I", str(FONT_DIR / "DejaVuSans-Oblique.ttf"))
    pdf.set_margins(20, 18, 20)
    pdf.set_auto_page_break(True, margin=20)
    pdf.add_page()

    i = 0
    while i < len(lines):
        line = lines[i].rstrip()
        if not line:
            i += 1
            continue
        if line.startswith("# "):
            pdf.set_font("DejaVu", "B", 17)
            pdf.multi_cell(0, 8, line[2:])
            pdf.ln(1)
        elif line.startswith("## "):
            if pdf.get_y() > 250:  # keep headings with their text
                pdf.add_page()
            pdf.ln(2)
            pdf.set_font("DejaVu", "B", 12)
            pdf.set_text_color(20, 60, 120)
            pdf.multi_cell(0, 6.5, line[3:])
            pdf.set_text_color(0, 0, 0)
            pdf.ln(1)
        elif line.startswith("Research Brief No."):
            pdf.set_font("DejaVu", "I", 9.5)
            pdf.set_text_color(90, 90, 90)
            pdf.multi_cell(0, 5, line, align="L")
            pdf.set_text_color(0, 0, 0)
            pdf.set_draw_color(20, 60, 120)
            pdf.line(20, pdf.get_y() + 2, 190, pdf.get_y() + 2)
            pdf.ln(5)
        elif line.startswith("- "):
            pdf.set_font("DejaVu", "", 9.5)
            pdf.set_x(24)
            pdf.multi_cell(0, 5, "\u2022  " + line[2:], align="L")
            pdf.ln(0.8)
        elif line.startswith("|"):
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                cells = [c.strip() for c in lines[i].strip().strip("|").split("|")]
                if not all(set(c) <= set("-") for c in cells):
                    rows.append(cells)
                i += 1
            pdf.set_font("DejaVu", "", 9)
            with pdf.table(col_widths=(40, 40, 30, 30), text_align="LEFT",
                           line_height=5.5, first_row_as_headings=True) as table:
                for r in rows:
                    row = table.row()
                    for c in r:
                        row.cell(c)
            pdf.ln(2)
            continue
        elif line.startswith("Sources:"):
            pdf.ln(2)
            pdf.set_font("DejaVu", "I", 8)
            pdf.multi_cell(0, 4.2, line, align="L")
        else:
            pdf.set_font("DejaVu", "", 9.5)
            pdf.multi_cell(0, 5, line, align="L")
            pdf.ln(1.5)
        i += 1

    pdf.output(str(OUT))
    print(f"wrote {OUT} ({pdf.page_no()} pages)")


if __name__ == "__main__":
    main()

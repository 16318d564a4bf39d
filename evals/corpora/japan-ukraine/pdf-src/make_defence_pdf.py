"""Builds ../knowledge/defence-equipment-rules.pdf from defence-equipment-rules.md (needs fpdf2 in a scratch venv)."""

import datetime
import re
from pathlib import Path

from fpdf import FPDF

HERE = Path(__file__).resolve().parent
SRC = str(HERE / "defence-equipment-rules.md")
OUT = str(HERE.parent / "knowledge" / "defence-equipment-rules.pdf")
FD = "/usr/share/fonts/truetype/dejavu/"

class Brief(FPDF):
    def header(self):
        if self.page_no() > 1:
            self.set_font("DejaVu", "I", 8)
            self.set_text_color(110, 110, 110)
            self.cell(0, 6, "Security Policy Brief No. 24 - Japan's defence-equipment transfer rules and Ukraine", align="R")
            self.ln(8)
            self.set_text_color(0, 0, 0)
    def footer(self):
        self.set_y(-14)
        self.set_draw_color(160, 160, 160)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.set_font("DejaVu", "", 8)
        self.set_text_color(90, 90, 90)
        self.cell(0, 8, f"Page {self.page_no()} of {{nb}}", align="C")

pdf = Brief(format="A4")
pdf.set_title("Between Principle and Practice: Japan's Defence-Equipment Transfer Rules and the War in Ukraine")
pdf.set_author("Naoko Fujisawa")
pdf.set_subject("Security Policy Brief No. 24, 15 January 2024")
pdf.set_creation_date(datetime.datetime(2024, 1, 15, 9, 0, tzinfo=datetime.UTC))
pdf.add_font("DejaVu", "", FD + "DejaVuSans.ttf")
pdf.add_font("DejaVu", "B", FD + "DejaVuSans-Bold.ttf")
pdf.add_font("DejaVu", "I", FD + "DejaVuSans-Oblique.ttf")
pdf.add_font("DejaVu", "BI", FD + "DejaVuSans-BoldOblique.ttf")
pdf.set_margins(20, 18, 20)
pdf.set_auto_page_break(True, margin=20)
pdf.add_page()

lines = open(SRC, encoding="utf-8").read().split("\n")
i = 0
W = pdf.w - pdf.l_margin - pdf.r_margin
meta_done = False
for raw in lines:
    line = raw.rstrip()
    if not line:
        continue
    if line.startswith("# "):
        pdf.set_font("DejaVu", "B", 16)
        pdf.multi_cell(W, 8, line[2:], new_x="LMARGIN", new_y="NEXT", align="L")
        pdf.ln(2)
        continue
    if not meta_done and (line.startswith("Security Policy Brief") or line.startswith("Prepared by")):
        pdf.set_font("DejaVu", "I", 9.5)
        pdf.set_text_color(70, 70, 70)
        pdf.multi_cell(W, 5, line, new_x="LMARGIN", new_y="NEXT", align="L")
        pdf.set_text_color(0, 0, 0)
        if line.startswith("Prepared by"):
            meta_done = True
            pdf.ln(2)
            pdf.set_draw_color(30, 60, 110)
            pdf.set_line_width(0.6)
            pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
            pdf.set_line_width(0.2)
            pdf.ln(4)
        continue
    if line.startswith("## "):
        pdf.ln(2)
        pdf.set_font("DejaVu", "B", 12)
        pdf.set_text_color(30, 60, 110)
        pdf.multi_cell(W, 6.5, line[3:], new_x="LMARGIN", new_y="NEXT", align="L")
        pdf.set_text_color(0, 0, 0)
        pdf.ln(1)
        continue
    m = re.match(r"^(- |\d+\. )(.*)$", line)
    if m:
        marker = "\u2022" if m.group(1) == "- " else m.group(1).strip()
        pdf.set_font("DejaVu", "", 10)
        x0 = pdf.l_margin
        pdf.set_x(x0 + 3)
        pdf.cell(6, 5.2, marker)
        pdf.set_x(x0 + 9)
        pdf.multi_cell(W - 9, 5.2, m.group(2), markdown=True, new_x="LMARGIN", new_y="NEXT", align="L")
        pdf.ln(1)
        continue
    if line.startswith("*") and line.endswith("*") and not line.startswith("**"):
        pdf.ln(2)
        pdf.set_font("DejaVu", "I", 8.5)
        pdf.set_text_color(90, 90, 90)
        pdf.multi_cell(W, 4.5, line.strip("*"), new_x="LMARGIN", new_y="NEXT", align="L")
        pdf.set_text_color(0, 0, 0)
        continue
    pdf.set_font("DejaVu", "", 10)
    pdf.multi_cell(W, 5.2, line, markdown=True, new_x="LMARGIN", new_y="NEXT", align="L")
    pdf.ln(2)

pdf.output(OUT)
print("pages", pdf.page_no())

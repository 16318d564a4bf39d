"""Small real documents for loader tests: a hand-built PDF, HTML, Markdown."""

from __future__ import annotations


def make_pdf(lines: list[str], title: str = "Test PDF") -> bytes:
    """A minimal valid one-page PDF whose text pypdf can extract."""
    text_ops = ["BT", "/F1 11 Tf", "72 720 Td", "14 TL"]
    for line in lines:
        safe = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        text_ops.append(f"({safe}) Tj T*")
    text_ops.append("ET")
    stream = "\n".join(text_ops).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Title (" + title.encode("latin-1") + b") >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + obj + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info 6 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


HTML = """<!doctype html><html><head><title>Kelp Farming Notes</title><style>p{color:red}</style></head>
<body><h1>Kelp farming</h1><p>Kelp farms in Hokkaido produce kombu for dashi stock.</p>
<p>Growers harvest the kelp in late summer after two years of growth.</p><script>var x = 1;</script></body></html>"""

MARKDOWN = """---
title: Bee Keeping Primer
---
# Bees

Honey bees communicate the direction of flowers with a waggle dance. A colony may hold 60,000 bees in summer.

Beekeepers in Nagano harvest chestnut honey in October.
"""

"""python evals/train/validate.py evals/train/<batch> [...]

Checks a training batch written for the reader: every question names an existing
document, every ``support`` / ``against`` is copied verbatim from it, the first
answer alias sits inside the support, and the mix of categories is what the data
card promises. Prints counts and every problem; exits 1 when there is one.
Runs on the standard library only, so writers can check their work anywhere.
"""

from __future__ import annotations

import html
import json
import re
import sys
from collections import Counter
from pathlib import Path

CATEGORIES = {
    "numbers_dates", "people_orgs", "paraphrase", "reasons", "lists", "followup", "which_document",
    "cross_document", "near_miss", "unanswerable",
}
CHANGES = {"year", "actor", "place", "project", "detail", "neighbour_figure", "other"}
SUFFIXES = {".md", ".txt", ".html", ".docx", ".pdf"}


def squash(text: str) -> str:
    """Text with HTML tags and entities removed and white space collapsed, for substring checks."""
    text = re.sub(r"<[^>]+>", " ", text)
    text = html.unescape(text)
    return " ".join(text.split()).lower()


def read_text(path: Path) -> str:
    """A document's text: Word files through their XML (standard library), PDFs through pypdf when installed."""
    if path.suffix == ".docx":
        import zipfile

        xml = zipfile.ZipFile(path).read("word/document.xml").decode("utf-8")
        return html.unescape(re.sub(r"<[^>]+>", "", re.sub(r"</w:p>", "\n", xml)))
    if path.suffix == ".pdf":
        from pypdf import PdfReader  # the project's own dependency

        return "\n".join(page.extract_text() or "" for page in PdfReader(str(path)).pages)
    return path.read_text(encoding="utf-8")


def check(batch: Path) -> list[str]:
    problems: list[str] = []
    docs_dir = batch / "docs"
    docs = {p.name: squash(read_text(p)) for p in sorted(docs_dir.glob("*")) if p.suffix in SUFFIXES}
    for name in docs:
        meta = docs_dir / f"{name}.meta.json"
        if not meta.exists():
            problems.append(f"{name}: no sidecar {meta.name}")
            continue
        try:
            m = json.loads(meta.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            problems.append(f"{meta.name}: not JSON ({exc})")
            continue
        for key in ("title", "date", "kind", "source_urls", "note"):
            if key not in m:
                problems.append(f"{meta.name}: missing '{key}'")
    qfile = batch / "questions.jsonl"
    if not qfile.exists():
        return problems + [f"{batch}: no questions.jsonl"]
    cats: Counter = Counter()
    per_doc: Counter = Counter()
    ids: set[str] = set()
    n = 0
    for i, line in enumerate(qfile.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        where = f"questions.jsonl:{i}"
        try:
            q = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"{where}: not JSON ({exc})")
            continue
        n += 1
        qid = q.get("id", "")
        if not qid or qid in ids:
            problems.append(f"{where}: missing or repeated id {qid!r}")
        ids.add(qid)
        cat = q.get("category")
        cats[cat] += 1
        if cat not in CATEGORIES:
            problems.append(f"{where}: unknown category {cat!r}")
        if not str(q.get("question", "")).strip():
            problems.append(f"{where}: empty question")
        doc_names = q.get("docs") or ([q["doc"]] if q.get("doc") else [])
        for d in doc_names:
            if d not in docs:
                problems.append(f"{where}: unknown doc {d!r}")
            per_doc[d] += 1
        if not doc_names:
            problems.append(f"{where}: no doc")
        text = " ".join(docs.get(d, "") for d in doc_names)
        if q.get("unanswerable"):
            if q.get("answers"):
                problems.append(f"{where}: an unanswerable question has answers")
            if cat == "near_miss":
                against = q.get("against", "")
                if not against or squash(against) not in text:
                    problems.append(f"{where}: 'against' is not copied verbatim from {doc_names}")
                if q.get("change") not in CHANGES:
                    problems.append(f"{where}: near_miss needs 'change' in {sorted(CHANGES)}")
        else:
            answers = q.get("answers") or []
            supports = q.get("support") or []
            if isinstance(supports, str):
                supports = [supports]
            if not answers or not supports:
                problems.append(f"{where}: an answerable question needs 'answers' and 'support'")
                continue
            for s in supports:
                if squash(s) not in text:
                    problems.append(f"{where}: support not copied verbatim from {doc_names}: {s[:70]!r}")
            if not any(squash(answers[0]) in squash(s) for s in supports):
                problems.append(f"{where}: the first answer {answers[0]!r} is not inside the support")
        for turn in q.get("history") or []:
            if turn.get("role") != "user" or not str(turn.get("content", "")).strip():
                problems.append(f"{where}: history turns are {{'role': 'user', 'content': ...}}")
    print(f"{batch}: {len(docs)} documents, {n} questions")
    print("  by category: " + ", ".join(f"{c} {k}" for c, k in sorted(cats.items(), key=lambda x: str(x[0]))))
    near = cats["near_miss"] + cats["unanswerable"]
    print(f"  near-miss + unanswerable: {near} ({near / max(n, 1):.0%})")
    for d in docs:
        if per_doc[d] == 0:
            problems.append(f"{d}: no question uses this document")
    return problems


def main(argv: list[str]) -> int:
    bad = 0
    for arg in argv or ["."]:
        problems = check(Path(arg))
        for p in problems:
            print("  PROBLEM", p)
        bad += len(problems)
    print("OK" if not bad else f"{bad} problem(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

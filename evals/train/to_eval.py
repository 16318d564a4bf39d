"""python evals/train/to_eval.py BATCH_DIR CORPUS_DIR

Turns a blind writer's folder (the training format that ``validate.py`` checks:
``docs/`` and ``questions.jsonl``) into an evaluation corpus: ``CORPUS_DIR/knowledge/``
and ``CORPUS_DIR/holdout.jsonl`` in the eval format (``question``, ``answers``,
``support``, ``source``, ``category``, ``history``, ``unanswerable``).

Why a converter instead of asking writers for the eval format: one brief and one
checker serve both, so a holdout is written exactly as the training data is, and
the checker has already proved every support is verbatim in its document. Where the
training format keeps two strings (a cross-document support, a which-document
title + sentence), the eval format keeps the sentence that states the fact: that is
what a correct citation must contain. Run once, by hand.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path


def convert_case(q: dict) -> dict:
    """One question in the eval format."""
    out = {"id": q["id"], "category": q["category"], "question": q["question"]}
    if q.get("unanswerable"):
        out.update(unanswerable=True, answers=[], support="", source="")
        if q.get("change"):
            out["change"] = q["change"]
    else:
        support = q["support"]
        if isinstance(support, list):
            # which_document: [title line, sentence]; cross_document: a sentence per document, the first doc's first
            support = support[1] if q["category"] == "which_document" and len(support) > 1 else support[0]
        out.update(answers=q["answers"], support=support, source=(q.get("docs") or [q["doc"]])[0])
    if q.get("history"):
        out["history"] = q["history"]
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.splitlines()[0], file=sys.stderr)
        return 2
    src, dst = Path(argv[0]), Path(argv[1])
    knowledge = dst / "knowledge"
    knowledge.mkdir(parents=True, exist_ok=True)
    for f in sorted((src / "docs").iterdir()):
        shutil.copyfile(f, knowledge / f.name)
    cases = [convert_case(json.loads(line)) for line in (src / "questions.jsonl").read_text(encoding="utf-8").splitlines()
             if line.strip()]
    with (dst / "holdout.jsonl").open("w", encoding="utf-8") as fh:
        for c in cases:
            fh.write(json.dumps(c, ensure_ascii=False) + "\n")
    print(f"{len(cases)} cases, {sum(1 for _ in knowledge.glob('*.meta.json'))} documents -> {dst}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

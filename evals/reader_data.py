"""The reader's training and validation pairs, made by the real retrieval over the project's own question sets.

Why through the real pipeline: at query time the reader judges the sentences
the retriever and the cheap ranker put on top, so it is trained on exactly
those (plus the sentence that states the answer when retrieval missed it, and,
for a near-miss, the sentence the question imitates, which must score low).

Sources (``python -m evals.reader_data`` or ``train_reader`` builds them):

- ``evals/train/<batch>/``: documents and questions written for training by
  writers who saw no code and no output (``evals/train/README.md``);
- the eval sets' *dev* splits (never a holdout), for choosing the epoch and
  fitting how the reader's score combines with the other features.

Each question becomes a *group*: its candidates with labels (1 = the sentence
overlaps the support the writer copied from the document). The groups are
cached as JSON Lines under ``evals/out/reader-data/``.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TRAIN = HERE / "train"
OUT = HERE / "out" / "reader-data"
TOP = 16  # candidates kept per question, best first by the cheap ranker


@dataclass(frozen=True)
class Source:
    """A question set and the documents it asks about."""

    name: str  # "t01", "dev:corpora/japan-ukraine-b/dev.jsonl"
    questions: Path
    knowledge: Path
    split: str  # train | dev


def train_sources(root: Path = TRAIN) -> list[Source]:
    return [Source(b.name, b / "questions.jsonl", b / "docs", "train")
            for b in sorted(root.iterdir()) if (b / "questions.jsonl").is_file() and (b / "docs").is_dir()]


def dev_sources() -> list[Source]:
    """The eval sets' dev splits (the same ones calibration fits on)."""
    from evals.calibrate import dev_sets

    return [Source(f"dev:{name}", path, knowledge, "dev") for name, knowledge, path in dev_sets()]


def _flex(fragment: str) -> re.Pattern[str]:
    """``fragment`` matched across any white space, case-insensitively (HTML and PDF text reflows)."""
    return re.compile(r"\s+".join(re.escape(w) for w in fragment.split()), re.I)


def _supports(case: dict[str, Any]) -> list[str]:
    s = case.get("support") or []
    return [x for x in ([s] if isinstance(s, str) else s) if x and x.strip()]


def _overlaps(c: Any, patterns: list[re.Pattern[str]]) -> bool:
    p = c.passage
    for pat in patterns:
        for m in pat.finditer(p.text):
            if c.start < p.start + m.end() and p.start + m.start() < c.end:
                return True
    return False


class Corpus:
    """Every passage of one store as candidates, to find a sentence retrieval did not put on top."""

    def __init__(self, bot: Any) -> None:
        from assistant.index.retriever import _passage
        from assistant.types import Candidate

        dim = bot.embedder.dimension
        self.candidates: list[Any] = []
        for _rid, meta in bot.store.records():
            p = _passage(meta, dim)
            for i, (s, e) in enumerate(p.sentences):
                if i not in p.skip:
                    self.candidates.append(Candidate(p, s, e, p.text[s - p.start : e - p.start], index=i))

    def matching(self, patterns: list[re.Pattern[str]]) -> list[Any]:
        return [c for c in self.candidates if _overlaps(c, patterns)]


def build_groups(source: Source, bot: Any, top: int = TOP) -> list[dict[str, Any]]:
    """The candidate groups of every question of ``source`` (see the module docstring)."""
    from assistant.answering.reader import pair

    corpus = Corpus(bot)
    groups = []
    for line in source.questions.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        case = json.loads(line)
        history = [{"role": "user", "content": t["content"]} for t in case.get("history") or []]
        r = bot.retrieve(case["question"], history or None)
        answerable = not case.get("unanswerable")
        positives = [_flex(s) for s in _supports(case)] if answerable else []
        chosen = list(r.candidates[:top])
        kinds = ["retrieved"] * len(chosen)
        index = {c.key: i for i, c in enumerate(chosen)}
        extra: list[tuple[Any, str]] = []
        if positives:
            extra += [(c, "gold") for c in corpus.matching(positives)]
        if case.get("against"):
            extra += [(c, "against") for c in corpus.matching([_flex(case["against"])])]
        for c, kind in extra:
            if c.key in index:
                if kind == "against":
                    kinds[index[c.key]] = kind
                continue
            index[c.key] = len(chosen)
            chosen.append(c)
            kinds.append(kind)
        rows = []
        for rank, (c, kind) in enumerate(zip(chosen, kinds)):
            q_text, c_text = pair(r.standalone, c)
            rows.append({"b": c_text, "label": int(bool(positives) and _overlaps(c, positives)), "rank": rank,
                         "kind": kind, "logit": round(c.logit, 4) if kind == "retrieved" else None})
        groups.append({
            "id": case["id"], "source": source.name, "split": source.split, "category": case.get("category", ""),
            "unanswerable": not answerable, "question": q_text if rows else r.standalone, "candidates": rows,
        })
    return groups


def build(sources: list[Source], *, data_dir: Path, out: Path = OUT, top: int = TOP, refresh: bool = False,
          progress: bool = True) -> dict[str, Path]:
    """Build (or reuse) the groups of every source; returns source name -> its JSONL file."""
    from assistant import Assistant, Settings

    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    embedder = None
    for s in sources:
        path = out / (re.sub(r"[^A-Za-z0-9_.-]+", "_", s.name) + ".jsonl")
        files[s.name] = path
        if path.exists() and not refresh and path.stat().st_mtime >= s.questions.stat().st_mtime:
            continue
        # the cheap ranker alone: the reader is trained on the candidates it will be asked to judge
        settings = Settings(data_dir=data_dir / re.sub(r"[^A-Za-z0-9_.-]+", "_", s.name), knowledge_dir=s.knowledge,
                            reader=False)
        bot = Assistant(settings, embedder=embedder)
        embedder = bot.embedder
        groups = build_groups(s, bot, top)
        tmp = path.with_suffix(".tmp")
        tmp.write_text("".join(json.dumps(g, ensure_ascii=False) + "\n" for g in groups), encoding="utf-8")
        tmp.replace(path)
        if progress:
            pos = sum(any(c["label"] for c in g["candidates"]) for g in groups if not g["unanswerable"])
            ans = sum(not g["unanswerable"] for g in groups)
            print(f"{s.name}: {len(groups)} questions ({ans - pos} answerable ones with no labelled sentence), "
                  f"{sum(len(g['candidates']) for g in groups)} pairs", file=sys.stderr, flush=True)
        bot.store.close()
    return files


def load(files: list[Path]) -> list[dict[str, Any]]:
    return [json.loads(line) for f in files for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, default=ROOT / "data-train", help="stores of the training folders")
    ap.add_argument("--refresh", action="store_true", help="rebuild even when a cached file is newer")
    ap.add_argument("--batches", nargs="+", default=None, help="only these training batches (default: all)")
    args = ap.parse_args(argv)
    train = [s for s in train_sources() if not args.batches or s.name in args.batches]
    files = build(train + dev_sources(), data_dir=args.data_dir, refresh=args.refresh)
    for name, path in files.items():
        print(f"{name}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

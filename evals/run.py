"""``assistant eval``: ask every case of an eval set, score it, write JSONL, JSON and an HTML report.

The runner talks to the assistant only through its public API (``ask``,
``retrieve``, ``source_text``), so it scores whatever answerer is configured —
the extractive default or an LLM (``--llm``) — the same way. Follow-up cases
replay the conversation: each earlier user turn is asked in order and the
assistant's own reply is fed back as the assistant turn, as in a real chat.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tqdm import tqdm

from assistant.errors import AssistantError, StoreError
from assistant.settings import Settings

from . import metrics
from .dataset import PROJECT_SET, load_dataset

DEFAULT_OUT = Path(__file__).resolve().parent / "out"
WARMUP_QUESTION = "What is Japan's policy on Russia?"  # loads indexes and caches; not timed or scored

TABLE_COLUMNS: list[tuple[str, str, str]] = [
    # (summary key, header, format)
    ("total", "n", "d"),
    ("accuracy", "acc", "pct"),
    ("exact_match", "EM", "pct"),
    ("f1", "F1", "pct"),
    ("presence", "pres", "pct"),
    ("retrieval_recall_at_k", "R@k", "pct"),
    ("retrieval_mrr", "MRR", "f2"),
    ("citation_validity", "c.valid", "pct"),
    ("citation_support", "c.supp", "pct"),
    ("citation_precision", "c.prec", "pct"),
    ("refusal_precision", "ref.P", "pct"),
    ("refusal_recall", "ref.R", "pct"),
    ("false_refusal_rate", "FRR", "pct"),
    ("p50_ms", "p50ms", "ms"),
    ("p95_ms", "p95ms", "ms"),
]


def _citation_dicts(answer: Any) -> list[dict[str, Any]]:
    keys = ("n", "source", "path", "passage_id", "quote", "start", "end", "score", "supported")
    return [{k: getattr(c, k) for k in keys} for c in answer.citations]


class EvalRunner:
    """Runs cases against one assistant; the assistant is injected so tests and the CLI share the code."""

    def __init__(self, bot: Any, *, progress: bool = True, warmup: bool = True) -> None:
        self.bot = bot
        self.progress = progress
        self.warmup = warmup
        self._sources: dict[str, str | None] = {}

    def source(self, path: str) -> str | None:
        """The cited source's text, or None when it cannot be read (its citations then count as invalid)."""
        if path not in self._sources:
            try:
                self._sources[path] = self.bot.source_text(path)
            except (AssistantError, OSError, KeyError, ValueError):
                self._sources[path] = None
        return self._sources[path]

    def run(self, cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if self.warmup and cases:
            self.bot.ask(WARMUP_QUESTION)
        bar = tqdm(cases, desc="eval", unit="q", disable=not self.progress, file=sys.stderr, dynamic_ncols=True)
        return [self.run_case(case) for case in bar]

    def run_case(self, case: dict[str, Any]) -> dict[str, Any]:
        row: dict[str, Any] = {
            "id": case["id"],
            "category": case.get("category") or "uncategorised",
            "question": case["question"],
            "unanswerable": bool(case.get("unanswerable")),
            "answers": list(case.get("answers") or []),
            "support": case.get("support") or "",
        }
        conversation: list[dict[str, str]] = []
        row["history"] = conversation  # grows in place, so a failed turn still shows what came before
        reply, answered, cites, passages = "", False, [], None
        try:
            for turn in case.get("history") or []:
                prior = self.bot.ask(turn["content"], history=list(conversation))
                conversation += [{"role": "user", "content": turn["content"]},
                                 {"role": "assistant", "content": prior.text}]
            t0 = time.perf_counter()
            ans = self.bot.ask(case["question"], history=list(conversation) or None)
            row["latency_ms"] = round((time.perf_counter() - t0) * 1000, 2)
            reply, answered, cites = ans.text, bool(ans.answered), _citation_dicts(ans)
            row.update(standalone_question=ans.standalone_question, mode=ans.mode, notice=ans.notice, reason=ans.reason)
            if not row["unanswerable"] and row["support"]:
                retrieval = self.bot.retrieve(case["question"], list(conversation) or None)
                passages = [p.text for p in retrieval.passages]
        except StoreError:
            raise  # the store is gone: every later case would fail the same way
        except AssistantError as exc:
            row["error"] = str(exc)
            row["latency_ms"] = None
        sources = {c["path"]: self.source(c["path"]) for c in cites}
        sources = {k: v for k, v in sources.items() if v is not None}
        row["reply"] = reply
        row["answered"] = answered
        row["scores"] = metrics.score_case(case, reply, answered, cites, sources, passages)
        if row.get("error"):
            row["scores"]["refused"] = False  # an error is neither an answer nor a refusal
            row["scores"]["correct"] = False
        row["citations"] = cites
        row["retrieved"] = passages
        return row


# -- output
def _cell(value: Any, fmt: str) -> str:
    if value is None:
        return "–"
    if fmt == "d":
        return str(value)
    if fmt == "pct":
        return f"{100 * value:.1f}"
    if fmt == "f2":
        return f"{value:.2f}"
    return f"{value:.0f}"


def format_table(summary: dict[str, Any]) -> str:
    """A plain-text table: one line per category, then the overall line (percentages, ms)."""
    name_w = max([len("overall")] + [len(c) for c in summary.get("per_category", {})])
    widths = [max(len(h), 6) for _, h, _ in TABLE_COLUMNS]
    head = "category".ljust(name_w) + " " + " ".join(h.rjust(w) for (_, h, _), w in zip(TABLE_COLUMNS, widths))
    lines = [head, "-" * len(head)]

    def line(name: str, s: dict[str, Any]) -> str:
        cells = (_cell(s.get(k), f).rjust(w) for (k, _, f), w in zip(TABLE_COLUMNS, widths))
        return name.ljust(name_w) + " " + " ".join(cells)

    for name, s in summary.get("per_category", {}).items():
        lines.append(line(name, s))
    lines.append("-" * len(head))
    lines.append(line("overall", summary))
    return "\n".join(lines)


def write_outputs(rows: list[dict[str, Any]], summary: dict[str, Any], out: Path) -> dict[str, Path]:
    from .report import write_report

    out.mkdir(parents=True, exist_ok=True)
    paths = {"results": out / "results.jsonl", "summary": out / "summary.json", "report": out / "report.html"}
    with paths["results"].open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    paths["summary"].write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    write_report(rows, summary, paths["report"])
    return paths


def evaluate(bot: Any, dataset: Path, *, progress: bool = True, limit: int | None = None,
             llm: str | None = None, corpus: str | None = None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Run ``dataset`` through ``bot``; returns the per-case rows and the summary (with ``meta``)."""
    cases = load_dataset(dataset)
    if limit:
        cases = cases[:limit]
    started = time.perf_counter()
    rows = EvalRunner(bot, progress=progress).run(cases)
    summary = metrics.summarize_by_category(rows)
    modes = sorted({r["mode"] for r in rows if r.get("mode")})
    settings = getattr(bot, "settings", None)
    summary["meta"] = {
        "corpus": corpus or (corpus_name(settings.knowledge_dir) if settings is not None else None),
        "dataset": str(dataset),
        "cases": len(cases),
        "answerer": ", ".join(modes) or "none",
        "llm": llm or None,
        "top_k": getattr(getattr(bot, "settings", None), "top_k", None),
        "run_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": round(time.perf_counter() - started, 1),
        "max_correct_words": metrics.MAX_CORRECT_WORDS,
    }
    return rows, summary


def corpus_name(knowledge_dir: Path) -> str:
    """A short name for the document folder an eval ran on, for the report ("seed" for the shipped article)."""
    folder = Path(knowledge_dir).resolve()
    if folder == (Path(__file__).resolve().parents[1] / "knowledge"):
        return "seed"
    return folder.parent.name if folder.name == "knowledge" else folder.name


def run_eval(settings: Settings, *, dataset: Path | None = None, out: Path | None = None, limit: int | None = None,
             check: bool = False, progress: bool = True) -> int:
    """The ``assistant eval`` command: score ``dataset`` on the store of ``settings``; returns the exit code."""
    from assistant import Assistant

    from .gate import check as check_bounds
    from .gate import thresholds_for

    dataset = Path(dataset) if dataset else PROJECT_SET
    out = Path(out) if out else DEFAULT_OUT
    load_dataset(dataset)  # fail on a bad file before loading the model
    bot = Assistant(settings)
    rows, summary = evaluate(bot, dataset, progress=progress, limit=limit, llm=settings.llm,
                             corpus=corpus_name(settings.knowledge_dir))
    paths = write_outputs(rows, summary, out)
    print(format_table(summary))
    print(f"\n{summary['total']} cases from {dataset} on the {summary['meta']['corpus']} corpus in "
          f"{summary['meta']['seconds']} s ({summary['meta']['answerer']}); "
          f"failures: {sum(not r['scores']['correct'] for r in rows)}")
    for name, path in paths.items():
        print(f"{name}: {path}")
    if check:
        bounds = thresholds_for(dataset)
        if bounds is None:
            print(f"no thresholds for {dataset} in evals/thresholds.json", file=sys.stderr)
            return 1
        problems = check_bounds(summary, bounds)
        for p in problems:
            print(f"GATE FAIL: {p}", file=sys.stderr)
        print("gate: " + ("FAIL" if problems else "pass"))
        return 1 if problems else 0
    return 0

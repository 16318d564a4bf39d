"""Every eval set in one run, and the comparison of two runs.

``assistant eval --all --out DIR`` scores the article's sets on ``knowledge/`` and
each corpus's splits on its own store, writes each set's ``results.jsonl`` and
``summary.json`` under ``DIR/<set>/`` and a ``suite.json`` with one line per set
plus the pooled holdouts. ``assistant eval --compare OLD [NEW]`` reads two such
folders and lists the cases whose verdict flipped and each metric's change with a
95 % paired-bootstrap interval, so "the new reader is better" is a number with
its uncertainty, not a hunch from one run.

Why pooled holdouts: each holdout has 65-100 questions, so one set moves by 1-1.5
points per question; pooled they are 339 and say more.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import metrics
from .dataset import HOLDOUT_SET, PROJECT_SET, load_dataset

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CORPORA = HERE / "corpora"
# the blind holdouts of the multi-document corpora, pooled in every report
POOLED_HOLDOUTS = ("corpora/japan-ukraine/holdout.jsonl", "corpora/japan-ukraine/holdout2.jsonl",
                   "corpora/japan-ukraine-b/holdout.jsonl", "corpora/japan-ukraine-c/holdout.jsonl")
DEFAULT_SUITE_OUT = HERE / "out" / "suite"
HEADLINE = ("accuracy", "refusal_recall", "false_refusal_rate", "citation_validity")


@dataclass(frozen=True)
class EvalSet:
    key: str  # its path under evals/ ("holdout.jsonl", "corpora/japan-ukraine-b/dev.jsonl")
    path: Path
    knowledge: Path  # the document folder it asks about

    @property
    def holdout(self) -> bool:
        return "holdout" in self.path.stem


def eval_sets() -> list[EvalSet]:
    """The article's dev and holdout sets, then every corpus's splits, in a fixed order."""
    out = [EvalSet(PROJECT_SET.name, PROJECT_SET, ROOT / "knowledge"), EvalSet(HOLDOUT_SET.name, HOLDOUT_SET, ROOT / "knowledge")]
    for path in sorted(CORPORA.glob("*/*.jsonl")):
        out.append(EvalSet(path.relative_to(HERE).as_posix(), path, path.parent / "knowledge"))
    return out


def near_miss_recall(rows: list[dict[str, Any]]) -> float | None:
    """Share of near-miss questions refused (the issue's "near-miss refusal recall")."""
    near = [r for r in rows if r.get("category") == "near_miss"]
    return metrics.ratio(sum(r["scores"]["refused"] for r in near), len(near))


def _line(rows: list[dict[str, Any]]) -> dict[str, Any]:
    s = metrics.summarize(rows)
    s["near_miss_recall"] = near_miss_recall(rows)
    return s


def run_suite(settings: Any, out: Path, *, only: list[str] | None = None, progress: bool = True,
              assistant_kwargs: dict[str, Any] | None = None) -> dict[str, Any]:
    """Score every eval set (or those whose key contains one of ``only``); write and return ``suite.json``.

    Each document folder gets its own store under ``settings.data_dir/eval-stores/<corpus>``
    (the article's is the settings' own store), all sharing one embedder.
    """
    from assistant import Assistant

    from .run import corpus_name, evaluate, write_outputs

    out = Path(out)
    bots: dict[Path, Any] = {}
    embedder = None
    lines: dict[str, Any] = {}
    pooled: list[dict[str, Any]] = []
    for s in eval_sets():
        if only and not any(o in s.key for o in only):
            continue
        folder = s.knowledge.resolve()
        if folder not in bots:
            name = corpus_name(folder)
            data = settings.data_dir if name == "seed" else settings.data_dir / "eval-stores" / name
            cfg = settings.model_copy(update={"data_dir": data, "knowledge_dir": folder})
            bots[folder] = Assistant(cfg, embedder=embedder, **(assistant_kwargs or {}))
            embedder = bots[folder].embedder
        rows, summary = evaluate(bots[folder], s.path, progress=progress)
        (out / s.key).parent.mkdir(parents=True, exist_ok=True)
        write_outputs(rows, summary, out / s.key.removesuffix(".jsonl"))
        lines[s.key] = _line(rows)
        if s.key in POOLED_HOLDOUTS:
            pooled += rows
        if progress:
            print(f"{s.key:45} {_fmt_line(lines[s.key])}", file=sys.stderr, flush=True)
    result: dict[str, Any] = {"sets": lines}
    if pooled:
        result["pooled_holdouts"] = _line(pooled)
        result["pooled_holdouts"]["by_category"] = {
            c: _line([r for r in pooled if r.get("category") == c]) for c in sorted({r.get("category") for r in pooled})
        }
    out.mkdir(parents=True, exist_ok=True)
    (out / "suite.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result


def _fmt_line(s: dict[str, Any]) -> str:
    def pct(v: float | None) -> str:
        return "  –  " if v is None else f"{100 * v:5.1f}"

    return (f"n {s['total']:4d}  acc {pct(s['accuracy'])}  ref.R {pct(s['refusal_recall'])}  "
            f"near {pct(s.get('near_miss_recall'))}  FRR {pct(s['false_refusal_rate'])}  "
            f"c.valid {pct(s['citation_validity'])}")


def format_suite(result: dict[str, Any]) -> str:
    lines = [f"{k:45} {_fmt_line(v)}" for k, v in result["sets"].items()]
    if "pooled_holdouts" in result:
        lines.append(f"{'four holdouts pooled':45} {_fmt_line(result['pooled_holdouts'])}")
        for c, v in result["pooled_holdouts"]["by_category"].items():
            lines.append(f"  {c:43} {_fmt_line(v)}")
    return "\n".join(lines)


# -- comparing two runs
def _rows(folder: Path) -> dict[str, dict[str, dict[str, Any]]]:
    """set key -> case id -> row, from a suite folder (or one eval's folder holding results.jsonl)."""
    folder = Path(folder)
    out: dict[str, dict[str, dict[str, Any]]] = {}
    files = [folder / "results.jsonl"] if (folder / "results.jsonl").exists() else sorted(folder.rglob("results.jsonl"))
    for f in files:
        key = f.parent.relative_to(folder).as_posix() if f.parent != folder else "."
        out[key] = {r["id"]: r for r in map(json.loads, f.read_text(encoding="utf-8").splitlines()) if r}
    return out


def _metric_values(rows: list[dict[str, Any]], metric: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-case numerator and denominator of ``metric`` (so a bootstrap can resample cases)."""
    num, den = [], []
    for r in rows:
        sc = r["scores"]
        if metric == "accuracy":
            num.append(float(sc["correct"]))
            den.append(1.0)
        elif metric == "refusal_recall":
            num.append(float(sc["refused"]) if r["unanswerable"] else 0.0)
            den.append(1.0 if r["unanswerable"] else 0.0)
        elif metric == "near_miss_recall":
            near = r.get("category") == "near_miss"
            num.append(float(sc["refused"]) if near else 0.0)
            den.append(1.0 if near else 0.0)
        elif metric == "false_refusal_rate":
            num.append(float(sc["refused"]) if not r["unanswerable"] else 0.0)
            den.append(0.0 if r["unanswerable"] else 1.0)
        elif metric == "citation_validity":
            num.append(float(sc["n_valid_citations"]))
            den.append(float(sc["n_citations"]))
    return np.asarray(num), np.asarray(den)


def bootstrap_delta(old: list[dict[str, Any]], new: list[dict[str, Any]], metric: str, *, draws: int = 2000,
                    seed: int = 0) -> tuple[float | None, float | None, float | None]:
    """The change of ``metric`` from ``old`` to ``new`` (the same cases) and its 95 % paired-bootstrap interval."""
    n_old, d_old = _metric_values(old, metric)
    n_new, d_new = _metric_values(new, metric)
    if d_old.sum() == 0 or d_new.sum() == 0:
        return None, None, None
    delta = n_new.sum() / d_new.sum() - n_old.sum() / d_old.sum()
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(old), size=(draws, len(old)))
    with np.errstate(invalid="ignore", divide="ignore"):
        samples = n_new[idx].sum(1) / d_new[idx].sum(1) - n_old[idx].sum(1) / d_old[idx].sum(1)
    samples = samples[np.isfinite(samples)]
    lo, hi = np.percentile(samples, [2.5, 97.5]) if len(samples) else (None, None)
    return float(delta), float(lo), float(hi)


def compare(old_dir: Path, new_dir: Path) -> str:
    """A report of what changed between two runs: flipped cases per set, then metric deltas with intervals."""
    old, new = _rows(old_dir), _rows(new_dir)
    keys = [k for k in new if k in old]
    if not keys:
        raise SystemExit(f"no eval set is in both {old_dir} and {new_dir}")
    out: list[str] = []
    pooled_old: list[dict[str, Any]] = []
    pooled_new: list[dict[str, Any]] = []
    for key in keys:
        ids = [i for i in new[key] if i in old[key]]
        o = [old[key][i] for i in ids]
        n = [new[key][i] for i in ids]
        if f"{key}.jsonl" in POOLED_HOLDOUTS:
            pooled_old += o
            pooled_new += n
        fixed = [b for a, b in zip(o, n) if not a["scores"]["correct"] and b["scores"]["correct"]]
        broke = [b for a, b in zip(o, n) if a["scores"]["correct"] and not b["scores"]["correct"]]
        changed = sum(a["reply"] != b["reply"] or a["citations"] != b["citations"] for a, b in zip(o, n))
        out.append(f"\n## {key}: {len(ids)} cases, {changed} replies changed, {len(fixed)} fixed, {len(broke)} broken")
        out += _deltas(o, n)
        for label, group in (("fixed", fixed), ("broken", broke)):
            for r in group:
                out.append(f"  {label:6} {r['id']} [{r['category']}] {r['question'][:90]}")
                out.append(f"         was: {old[key][r['id']]['reply'][:110]}")
                out.append(f"         now: {r['reply'][:110]}")
    if pooled_old:
        out.append(f"\n## four holdouts pooled: {len(pooled_old)} cases")
        out += _deltas(pooled_old, pooled_new)
    return "\n".join(out).lstrip("\n")


def _deltas(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[str]:
    lines = []
    for metric in (*HEADLINE, "near_miss_recall"):
        d, lo, hi = bootstrap_delta(old, new, metric)
        if d is None:
            continue
        lines.append(f"  {metric:20} {100 * d:+6.1f} points  (95 % CI {100 * lo:+.1f} to {100 * hi:+.1f})")
    return lines


def load_sets_check() -> None:
    """Fail early on a damaged eval set (used by the CLI before loading the model)."""
    for s in eval_sets():
        load_dataset(s.path)

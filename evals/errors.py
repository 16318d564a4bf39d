"""python -m evals.errors RUN_DIR [--sets KEY ...]: why the answers of a suite run were wrong, by category.

Accuracy says how often; the next step depends on why. Each wrong case of the pooled
holdouts (or the sets named) gets one kind, read from its scored row:

- ``near-miss answered``: an unanswerable question got an answer (the gate or a rule let it through);
- ``false refusal``: an answerable question was refused, counted by the decision step that refused;
- ``not retrieved``: no retrieved passage held the supporting sentence (retrieval's miss);
- ``wrong sentence``: the support was retrieved, another sentence was quoted (reading's miss);
- ``answer not in reply``: the supporting sentence was cited but the reply lacked the answer.

Reading misses and near-misses call for a better reader (more data of that kind, a bigger
model); retrieval misses for retrieval; refusals by a named step for that step.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from .suite import POOLED_HOLDOUTS, _rows

KINDS = ("near-miss answered", "false refusal", "not retrieved", "wrong sentence", "answer not in reply")


def failure_kind(row: dict[str, Any]) -> str | None:
    """The kind of a wrong case (None when the case is right)."""
    sc = row["scores"]
    if sc["correct"]:
        return None
    if row["unanswerable"]:
        return "near-miss answered"
    if sc["refused"]:
        return "false refusal"
    if sc.get("retrieval_scored") and sc.get("retrieval_rank") is None:
        return "not retrieved"
    if sc.get("support_cited"):
        return "answer not in reply"
    return "wrong sentence"


def analyse(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts of each kind overall and by category, and the steps behind false refusals."""
    by_cat: dict[str, Counter] = defaultdict(Counter)
    overall: Counter = Counter()
    steps: Counter = Counter()
    for r in rows:
        kind = failure_kind(r)
        cat = r.get("category") or "-"
        by_cat[cat]["cases"] += 1
        by_cat[cat][kind or "right"] += 1
        overall["cases"] += 1
        overall[kind or "right"] += 1
        if kind == "false refusal":
            steps[r.get("reason") or "-"] += 1
    return {"overall": overall, "by_category": dict(by_cat), "refusal_steps": steps}


def markdown(result: dict[str, Any]) -> str:
    """The analysis as a markdown table (categories by size) and a line of refusal steps."""
    cols = ("cases", "right", *KINDS)
    lines = ["| category | " + " | ".join(cols) + " |", "| --- |" + " --- |" * len(cols)]
    cats = sorted(result["by_category"].items(), key=lambda kv: -kv[1]["cases"])
    for name, c in [*cats, ("**all**", result["overall"])]:
        lines.append(f"| {name} | " + " | ".join(str(c[k]) for k in cols) + " |")
    steps = ", ".join(f"{k} {v}" for k, v in result["refusal_steps"].most_common())
    lines.append(f"\nFalse refusals by decision step: {steps or 'none'}.")
    return "\n".join(lines)


def load_rows(run: Path, sets: list[str]) -> list[dict[str, Any]]:
    """The scored rows of ``sets`` in a suite folder (read as ``--compare`` reads them)."""
    by_set = _rows(run)
    missing = [k for k in sets if k.removesuffix(".jsonl") not in by_set]
    if missing:
        raise SystemExit(f"{run} has no results for {', '.join(missing)}: is it a folder written by `assistant eval --all`?")
    return [row for k in sets for row in by_set[k.removesuffix(".jsonl")].values()]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path, help="a folder written by `assistant eval --all --out DIR`")
    ap.add_argument("--sets", nargs="+", default=list(POOLED_HOLDOUTS), help="set keys (default: the pooled holdouts)")
    args = ap.parse_args(argv)
    print(markdown(analyse(load_rows(args.run, args.sets))))
    return 0


if __name__ == "__main__":
    sys.exit(main())

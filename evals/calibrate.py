"""python -m evals.calibrate [--grid] [--dataset evals/dataset.jsonl]

Fits the extractive answerer's sentence-score weights and refusal thresholds on
the development set (never on evals/holdout.jsonl, which stays unseen so the
eval report can say how well the fit generalises). The objective counts each
answerable case answered correctly with a correct citation, plus each
unanswerable case refused, equally.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from dataclasses import replace
from pathlib import Path

from assistant import Assistant, Settings, Tuning
from evals.dataset import load_dataset
from evals.run import EvalRunner

HERE = Path(__file__).resolve().parent


def evaluate(bot: Assistant, cases: list[dict], verbose: bool = False) -> tuple[float, float, int, int]:
    """(answer accuracy, refusal recall, n answerable, n unanswerable) with the current parameters.

    Uses the eval runner itself, so "correct" means exactly the report's headline.
    """
    rows = EvalRunner(bot, progress=False, warmup=False).run(cases)
    answerable = [r for r in rows if not r["unanswerable"]]
    unanswerable = [r for r in rows if r["unanswerable"]]
    if verbose:
        for r in rows:
            if not r["scores"]["correct"]:
                print(f"  miss {r['id']}: {r['question']!r} -> {r['reply'][:120]!r}")
    acc = sum(r["scores"]["correct"] for r in answerable) / max(len(answerable), 1)
    ref = sum(r["scores"]["correct"] for r in unanswerable) / max(len(unanswerable), 1)
    return acc, ref, len(answerable), len(unanswerable)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", type=Path, default=HERE / "dataset.jsonl")
    ap.add_argument("--data-dir", type=Path, default=Path("data-calibrate"))
    ap.add_argument("--grid", action="store_true", help="search weights and thresholds")
    args = ap.parse_args(argv)
    cases = load_dataset(args.dataset)
    bot = Assistant(Settings(data_dir=args.data_dir))
    if not args.grid:
        acc, ref, na, nu = evaluate(bot, cases, verbose=True)
        print(f"answer accuracy {acc:.3f} on {na}, refusal recall {ref:.3f} on {nu}")
        return 0
    best = None
    grid = itertools.product([0.4, 0.5, 0.6], [0.25, 0.35, 0.45], [0.33, 0.36, 0.39, 0.42, 0.45], [0.2, 0.3])
    for w_dense, w_lex, min_score, min_dense in grid:
        tuning = replace(Tuning(), w_sent_dense=w_dense, w_lexical=w_lex, w_passage=round(1 - w_dense - w_lex, 2),
                         min_score=min_score, min_dense=min_dense)
        # the same store and model, another tuning: nothing is re-embedded
        trial = Assistant(bot.settings, embedder=bot.embedder, store=bot.store, tuning=tuning, auto_ingest=False)
        acc, ref, na, nu = evaluate(trial, cases)
        objective = acc * na + ref * nu
        if best is None or objective > best[0]:
            best = (objective, w_dense, w_lex, min_score, min_dense, acc, ref)
            print(f"objective {objective:.0f}: w_sent_dense={w_dense} w_lexical={w_lex} min_score={min_score} "
                  f"min_dense={min_dense} -> accuracy {acc:.3f}, refusal recall {ref:.3f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

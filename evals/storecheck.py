"""What the records-against-store check costs (issue 14), on a real store of N generated passages.

    python -m evals.storecheck                       # 10,000 passages, store kept in evals/out/storecheck
    python -m evals.storecheck --passages 100000     # larger (ingest takes about 14 s per 1,000 passages)

Why a script: the check runs on every start (``quick``: counts and a sample of
ids) and every ingest (``full``: every id on both sides), so its cost must stay
small next to a start-up or an ingest at the sizes the project targets; that is
a measurement, printed here, not a test assertion. The store is built once with
the real pipeline and reused; timings are the median of ``--repeat`` runs, plus
the one-off cost of re-filling after the store was moved aside.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _median_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return round(statistics.median(times), 1)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m evals.storecheck", description=__doc__.splitlines()[0])
    ap.add_argument("--passages", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--out", type=Path, default=ROOT / "evals" / "out" / "storecheck")
    ap.add_argument("--refill", action="store_true", help="also time a re-fill after moving the store aside")
    args = ap.parse_args(argv)

    from assistant import Assistant, Settings
    from evals.corpus import generate
    from ingest.check import check_store, record_keys

    knowledge = args.out / f"corpus-{args.passages}"
    data = args.out / f"data-{args.passages}"
    if not knowledge.exists():
        generate(knowledge, args.passages)
    settings = Settings(data_dir=data, knowledge_dir=knowledge)
    t = time.perf_counter()
    bot = Assistant(settings, auto_ingest=False)
    if not bot.store.count():
        print(f"building the store of {args.passages:,} passages…", file=sys.stderr, flush=True)
        bot.ingest(progress=True)
    built_s = time.perf_counter() - t
    records = bot.ingestor.passage_records
    store = bot.store
    result = {
        "passages": store.count(),
        "quick_ms": _median_ms(lambda: check_store(records, store, full=False), args.repeat),
        "full_ms": _median_ms(lambda: check_store(records, store, full=True), args.repeat),
        "store_ids_ms": _median_ms(store.ids, args.repeat),
        "record_keys_ms": _median_ms(lambda: record_keys(records), args.repeat),
        "start_pending_ms": _median_ms(bot.ingestor.pending, args.repeat),
        "ingest_unchanged_s": None,
        "store_built_s": round(built_s, 1),
    }
    t = time.perf_counter()
    bot.ingest(progress=False)
    result["ingest_unchanged_s"] = round(time.perf_counter() - t, 2)
    if args.refill:
        store.close()
        shutil.rmtree(settings.chroma_path)
        t = time.perf_counter()
        fresh = Assistant(settings, auto_ingest=False)
        report = fresh.ingest(progress=False)
        result["refill_s"] = round(time.perf_counter() - t, 1)
        result["refilled"] = report.added
    print(json.dumps(result, indent=2))
    (args.out / f"result-{args.passages}.json").write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

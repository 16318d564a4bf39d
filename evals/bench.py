"""assistant bench — speed and memory at seed scale, 1k, 10k (and 100k) passages.

Every measurement runs in its own child process, so peak RSS is that of one job
(ingest + queries) and a model loaded for one job cannot speed up another. In the
same run the plain recipe a user would otherwise pick is measured on the same
documents: LangChain's RecursiveCharacterTextSplitter(1000, 200), Chroma,
all-MiniLM-L6-v2 on sentence-transformers/torch, ``similarity_search(k=4)`` and
the most similar sentence of those chunks as the answer.

What is timed:
- warm latency: ``Assistant.ask`` on questions never asked before in the process
  (the query cache cannot help), after a few other warm-up questions;
- the floor: embedding one query, with our backend and with torch;
- ingest: ``Assistant.ingest`` of the whole corpus (split, embed every sentence,
  derive the passage vectors, write the store and the record manager), against
  plain sentence-transformers on torch encoding the same passages (a sample);
- cold start: a fresh ``assistant ask`` process to its printed answer;
- quality held: questions from evals/dataset.jsonl whose answers only the real
  article contains must be answered from it, citing it, at every size; and the
  whole dev set (``assistant eval``'s accuracy and false refusals) is scored on
  every size's store, so a fall from the seed row is the cost of the distractors.

The baseline's ingest rate is measured on its first 500 chunks (torch, through
``Chroma.from_documents``); the rest of its store is filled with vectors from the
int8 ONNX export of the same model (cosine vs torch >= 0.99) so the 10k run fits
in minutes. Its query path (torch query embedding, Chroma search, sentence pick)
is the real one. Likewise plain-torch encoding is timed on 500 sampled passages.
"""

from __future__ import annotations

import json
import os
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from evals.corpus import ONTOPIC, SALAD

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SIZES = (1000, 10000)  # generated passages per run; --full adds 100,000
DATASET = ROOT / "evals" / "dataset.jsonl"
KNOWN = ["nd01", "nd03", "nd05", "nd07"]  # answers only the article holds
BASELINE_INGEST_SAMPLE = 500
TORCH_SAMPLE = 500
WARMUP = 5

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


def known_cases() -> list[dict]:
    cases = [json.loads(line) for line in DATASET.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [c for c in cases if c["id"] in KNOWN]


def _corpus_passages(corpus: Path) -> list[str]:
    from ingest.loaders import discover, load_source
    from ingest.splitter import split_passages

    out: list[str] = []
    for f in discover([corpus]):
        doc = load_source(f, corpus)
        out += [p.text for p in split_passages(doc.text, doc.path, doc.title, body_start=doc.body_start)]
    return out


def _metadatas(col: Any, count: int, page: int = 5000) -> Any:
    for offset in range(0, count, page):
        yield from col.get(include=["metadatas"], limit=page, offset=offset)["metadatas"]


def _sample(items: list[str], n: int) -> list[str]:
    import random

    return items if len(items) <= n else random.Random(3).sample(items, n)


# -- child jobs (each in a fresh process)
def job_ours(spec: dict) -> dict:
    """Ingest the corpus with the assistant, then time unique questions."""
    from assistant import Assistant, Settings
    from assistant.index.embedder import Embedder
    from assistant.index.store import read_record
    from evals.corpus import sample_questions

    t0 = time.perf_counter()
    embedder = Embedder(backend=spec["backend"], cache_dir=Path(spec["models"]))
    load_s = time.perf_counter() - t0
    settings = Settings(data_dir=Path(spec["data"]), knowledge_dir=Path(spec["corpus"]), auto_ingest=False)
    bot = Assistant(settings, embedder=embedder, auto_ingest=False)
    report = bot.ingest(progress=False)
    passages = bot.store.count()
    texts = _corpus_passages(Path(spec["corpus"]))
    words = sum(len(t.split()) for t in texts)
    del texts
    sentences = sum(len(read_record(m)["sentences"]) for m in _metadatas(bot.store.passage_collection, passages))
    rss_ingest = peak_rss_mb()

    questions = sample_questions(WARMUP + spec["queries"], seed=spec.get("seed", 11))
    for q in questions[:WARMUP]:
        bot.ask(q)
    lat, retr = [], []
    for q in questions[WARMUP:]:
        t = time.perf_counter()
        ans = bot.ask(q)
        lat.append((time.perf_counter() - t) * 1000)
        retr.append(ans.timings_ms.get("retrieve", float("nan")))
    quality = []
    article = "japan-russia-ukraine-policy.txt"
    for case in known_cases():
        t = time.perf_counter()
        ans = bot.ask(case["question"])
        lat.append((time.perf_counter() - t) * 1000)
        ok_text = any(a.lower() in ans.text.lower() for a in case["answers"])
        cites = [c.path for c in ans.citations]
        exact = all(bot.source_text(c.path)[c.start:c.end] == c.quote for c in ans.citations)
        quality.append({"id": case["id"], "answered": ans.answered, "right": ok_text and exact
                        and any(p.endswith(article) for p in cites), "cites": cites})
    from evals.run import evaluate

    _, dev = evaluate(bot, DATASET, progress=False)
    floor = []
    for i, q in enumerate(questions[WARMUP:]):
        t = time.perf_counter()
        embedder.encode([f"{q} ({i})"])  # a new string: no cache
        floor.append((time.perf_counter() - t) * 1000)
    return {
        "model_load_s": round(load_s, 2), "ingest_s": round(report.seconds, 2), "passages": passages,
        "sentences": sentences, "words": words, "files": report.files,
        "ingest_passages_per_s": round(passages / report.seconds, 1),
        "ingest_words_per_s": round(words / report.seconds, 0),
        "p50_ms": round(statistics.median(lat), 2), "p95_ms": round(pct(lat, 0.95), 2),
        "retrieve_p50_ms": round(statistics.median(retr), 2), "floor_ms": round(statistics.median(floor), 2),
        "quality": quality, "quality_right": sum(q["right"] for q in quality), "quality_total": len(quality),
        "dev_accuracy": dev["accuracy"], "dev_false_refusal_rate": dev["false_refusal_rate"],
        "dev_citation_support": dev["citation_support"],
        "peak_rss_ingest_mb": round(rss_ingest, 0), "peak_rss_mb": round(peak_rss_mb(), 0),
    }


def job_prepare(spec: dict) -> dict:
    """Export the ONNX files once, so no measured job pays for (or holds the memory of) the export."""
    from assistant.index.embedder import Embedder

    for backend in ("onnx", "onnx-int8"):
        Embedder(backend=backend, cache_dir=Path(spec["models"]))
    return {}


def job_encode(spec: dict) -> dict:
    """Encoding throughput of one backend on a sample of the corpus passages (no store)."""
    from assistant.index.embedder import Embedder

    passages = _sample(_corpus_passages(Path(spec["corpus"])), spec["sample"])
    emb = Embedder(backend=spec["backend"], cache_dir=Path(spec["models"]))
    emb.encode(passages[:8])
    t = time.perf_counter()
    emb.encode(passages)
    secs = time.perf_counter() - t
    words = sum(len(p.split()) for p in passages)
    floor = []
    for i in range(30):
        t1 = time.perf_counter()
        emb.encode([f"How much aid did country {i} pledge in spring?"])
        floor.append((time.perf_counter() - t1) * 1000)
    return {"backend": spec["backend"], "passages": len(passages), "seconds": round(secs, 2),
            "passages_per_s": round(len(passages) / secs, 1), "words_per_s": round(words / secs, 0),
            "floor_ms": round(statistics.median(floor), 2)}


class PlainEmbeddings:
    """What ``HuggingFaceEmbeddings(model_name="all-MiniLM-L6-v2")`` does: sentence-transformers on torch.

    (langchain-huggingface itself would downgrade huggingface-hub in this environment.)
    """

    def __init__(self) -> None:
        from sentence_transformers import SentenceTransformer

        from assistant.index.embedder import default_model_path

        self.model = SentenceTransformer(str(default_model_path()), device="cpu")

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.model.encode(list(texts), show_progress_bar=False).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.model.encode(text, show_progress_bar=False).tolist()


_SENT = re.compile(r"(?<=[.!?])\s+")


def plain_answer(db: Any, emb: PlainEmbeddings, question: str) -> str:
    """The recipe's answer: the chunk sentence most similar to the question."""
    import numpy as np

    docs = db.similarity_search(question, k=4)
    sentences = [s.strip() for d in docs for s in _SENT.split(d.page_content) if s.strip()]
    if not sentences:
        return ""
    vecs = emb.model.encode([question] + sentences, normalize_embeddings=True, show_progress_bar=False)
    return sentences[int(np.argmax(vecs[1:] @ vecs[0]))]


def job_baseline(spec: dict) -> dict:
    from langchain_chroma import Chroma
    from langchain_community.document_loaders import DirectoryLoader, TextLoader
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    from evals.corpus import sample_questions

    t0 = time.perf_counter()
    emb = PlainEmbeddings()
    load_s = time.perf_counter() - t0
    docs = DirectoryLoader(spec["corpus"], glob="**/*.txt", loader_cls=TextLoader,
                           loader_kwargs={"encoding": "utf-8"}).load()
    chunks = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200).split_documents(docs)
    head, rest = chunks[:BASELINE_INGEST_SAMPLE], chunks[BASELINE_INGEST_SAMPLE:]
    t = time.perf_counter()
    db = Chroma.from_documents(head, emb, persist_directory=spec["data"], collection_name="plain")
    ingest_s = time.perf_counter() - t
    words = sum(len(c.page_content.split()) for c in head)
    if rest:
        from assistant.index.embedder import Embedder

        fast = Embedder(backend="onnx-int8", cache_dir=Path(spec["models"]))
        bulk = Chroma(client=db._client, collection_name="plain", embedding_function=fast)
        for i in range(0, len(rest), 1000):
            bulk.add_documents(rest[i : i + 1000])
        del fast, bulk
    questions = sample_questions(WARMUP + spec["queries"], seed=spec.get("seed", 11))
    for q in questions[:WARMUP]:
        plain_answer(db, emb, q)
    lat = []
    for q in questions[WARMUP:]:
        t = time.perf_counter()
        plain_answer(db, emb, q)
        lat.append((time.perf_counter() - t) * 1000)
    quality = []
    for case in known_cases():
        t = time.perf_counter()
        text = plain_answer(db, emb, case["question"])
        lat.append((time.perf_counter() - t) * 1000)
        quality.append(any(a.lower() in text.lower() for a in case["answers"]))
    return {
        "model_load_s": round(load_s, 2), "chunks": len(chunks), "ingest_sample": len(head),
        "ingest_passages_per_s": round(len(head) / ingest_s, 1), "ingest_words_per_s": round(words / ingest_s, 0),
        "p50_ms": round(statistics.median(lat), 2), "p95_ms": round(pct(lat, 0.95), 2),
        "quality_right": sum(quality), "quality_total": len(quality), "peak_rss_mb": round(peak_rss_mb(), 0),
    }


def job_baseline_cold(spec: dict) -> dict:
    """Process start to first answer for the plain recipe over its persisted seed store."""
    from langchain_chroma import Chroma

    emb = PlainEmbeddings()
    db = Chroma(persist_directory=spec["data"], collection_name="plain", embedding_function=emb)
    print(plain_answer(db, emb, spec["question"]))
    return {}


JOBS = {"prepare": job_prepare, "ours": job_ours, "encode": job_encode, "baseline": job_baseline, "baseline_cold": job_baseline_cold}


def run_job(name: str, spec: dict, timeout: float = 3600) -> dict:
    """Run one job in a fresh interpreter and return its JSON result."""
    out = Path(spec["result"])
    out.unlink(missing_ok=True)
    proc = subprocess.run([sys.executable, "-m", "evals.bench", "--job", name, json.dumps(spec)], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0 or not out.exists():
        raise RuntimeError(f"bench job {name} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(out.read_text())


def cold_start(cmd: list[str], env: dict[str, str], runs: int = 2) -> float:
    """Median wall seconds from process start to the answer printed (first, uncounted run warms the disk cache)."""
    times = []
    for i in range(runs + 1):
        t = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        if proc.returncode != 0:
            raise RuntimeError(f"cold start run failed: {proc.stderr[-2000:]}")
        if i:
            times.append(time.perf_counter() - t)
    return round(statistics.median(times), 2)


# -- the command
def run_bench(*, sizes: list[int] | None = None, full: bool = False, out: Path | None = None, queries: int = 40,
              backend: str = "onnx", baseline: bool = True, salad: float = SALAD, ontopic: float = ONTOPIC) -> int:
    """``assistant bench``: the measurements of the module docstring for each corpus size; prints the table."""
    from evals.corpus import generate

    sizes = list(sizes if sizes is not None else DEFAULT_SIZES)
    if full and 100000 not in sizes:
        sizes.append(100000)
    out = Path(out or ROOT / "evals" / "out" / "bench")
    out.mkdir(parents=True, exist_ok=True)
    models = out / "models"
    started = time.perf_counter()
    results: dict[str, Any] = {"backend": backend, "cpus": os.cpu_count(), "salad": salad, "ontopic": ontopic,
                               "sizes": {}}

    def log(msg: str) -> None:
        print(f"[{time.perf_counter() - started:6.0f}s] {msg}", file=sys.stderr, flush=True)

    run_job("prepare", {"models": str(models), "result": str(out / "job.json")})
    for size in [0, *sizes]:
        label = "seed" if size == 0 else f"{size:,}"
        corpus = out / "corpus" / str(size)
        info = generate(corpus, size, salad=salad, ontopic=ontopic)
        log(f"{label}: corpus of {info.files} files, {info.words:,} generated words")
        row: dict[str, Any] = {"generated_passages": size}
        spec = {"corpus": str(corpus), "models": str(models), "backend": backend, "queries": queries,
                "data": str(out / "data" / f"ours-{size}"), "result": str(out / "job.json")}
        _fresh(Path(spec["data"]))
        row["ours"] = run_job("ours", spec)
        log(f"{label}: ours p50 {row['ours']['p50_ms']} ms, ingest {row['ours']['ingest_s']} s")
        if size:
            sample = min(TORCH_SAMPLE, row["ours"]["passages"])
            row["encode_torch"] = run_job("encode", {**spec, "backend": "torch", "sample": sample})
            row["encode_ours"] = run_job("encode", {**spec, "sample": sample})
            log(f"{label}: torch encode {row['encode_torch']['passages_per_s']}/s, "
                f"ours {row['encode_ours']['passages_per_s']}/s")
        if baseline:
            bspec = {**spec, "data": str(out / "data" / f"plain-{size}")}
            _fresh(Path(bspec["data"]))
            row["plain"] = run_job("baseline", bspec)
            log(f"{label}: plain p50 {row['plain']['p50_ms']} ms")
        # a fresh `assistant ask` process over this size's store (its saved BM25 index included)
        env = {**os.environ, "ASSISTANT_DATA_DIR": spec["data"], "ASSISTANT_KNOWLEDGE_DIR": str(corpus),
               "ASSISTANT_EMBED_BACKEND": backend}
        (Path(spec["data"]) / "models").mkdir(parents=True, exist_ok=True)
        q = known_cases()[0]["question"]
        row["ours"]["cold_start_s"] = cold_start([sys.executable, "-m", "assistant.cli", "ask", q], env)
        if size == 0:
            results["cold_start_s"] = row["ours"]["cold_start_s"]
            if baseline:
                cspec = {**spec, "data": str(out / "data" / "plain-0"), "question": q}
                results["plain_cold_start_s"] = cold_start(
                    [sys.executable, "-m", "evals.bench", "--job", "baseline_cold", json.dumps(cspec)], os.environ)
            log(f"cold start: ours {results['cold_start_s']} s, plain {results.get('plain_cold_start_s')} s")
        results["sizes"][label] = row
        (out / "bench.json").write_text(json.dumps(results, indent=2))
    results["seconds"] = round(time.perf_counter() - started, 1)
    (out / "bench.json").write_text(json.dumps(results, indent=2))
    print(render(results))
    print(f"\nJSON: {out / 'bench.json'}  ({results['seconds']:.0f} s)")
    return 0


def _fresh(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True, exist_ok=True)


def render(r: dict) -> str:
    """The table printed at the end of a run."""
    lines = [f"backend={r['backend']}  cpus={r['cpus']}  salad={r['salad']}  ontopic={r['ontopic']}",
             "size     | passages | ours p50/p95 ms | floor ms | p50/floor | plain p50/p95 ms | plain/ours p50 "
             "| quality ours/plain | dev acc/FRR | ingest p/s (w/s) | torch p/s (w/s) | ingest/torch | embed/torch | RSS MB ours/plain"]
    for label, row in r["sizes"].items():
        o, p = row["ours"], row.get("plain")
        t, e = row.get("encode_torch"), row.get("encode_ours")
        plain = f"{p['p50_ms']:.1f}/{p['p95_ms']:.1f}" if p else "-"
        ratio = f"{p['p50_ms'] / o['p50_ms']:.1f}x" if p else "-"
        qual = f"{o['quality_right']}/{o['quality_total']}" + (f" / {p['quality_right']}/{p['quality_total']}" if p else "")
        torch = f"{t['passages_per_s']:.0f} ({t['words_per_s']:.0f})" if t else "-"
        ing = f"{o['ingest_passages_per_s']:.0f} ({o['ingest_words_per_s']:.0f})"
        ing_ratio = f"{o['ingest_passages_per_s'] / t['passages_per_s']:.2f}x" if t else "-"
        emb_ratio = f"{e['passages_per_s'] / t['passages_per_s']:.2f}x" if t and e else "-"
        rss = f"{o['peak_rss_mb']:.0f}" + (f"/{p['peak_rss_mb']:.0f}" if p else "")
        dev = f"{o['dev_accuracy']:.1%}/{o['dev_false_refusal_rate']:.1%}" if "dev_accuracy" in o else "-"
        lines.append(
            f"{label:<8} | {o['passages']:>8} | {o['p50_ms']:>6.1f}/{o['p95_ms']:<7.1f} | {o['floor_ms']:>8.2f} | "
            f"{o['p50_ms'] / o['floor_ms']:>8.1f}x | {plain:>16} | {ratio:>14} | {qual:>18} | {dev:>11} | {ing:>16} | "
            f"{torch:>15} | {ing_ratio:>12} | {emb_ratio:>11} | {rss}"
        )
    floors = [row["encode_torch"]["floor_ms"] for row in r["sizes"].values() if row.get("encode_torch")]
    lines.append(f"floor = one-query embedding ({r['backend']}); torch one-query: "
                 f"{statistics.median(floors):.2f} ms" if floors else "floor = one-query embedding")
    lines.append(f"cold start (process start -> first answer): ours {r.get('cold_start_s')} s, "
                 f"plain recipe {r.get('plain_cold_start_s', '-')} s; ours by size: " + ", ".join(
                     f"{label} {row['ours']['cold_start_s']} s" for label, row in r["sizes"].items()
                     if "cold_start_s" in row["ours"]))
    lines.append("dev acc/FRR = evals/dataset.jsonl (93 questions) answered from that size's store")
    lines.append("ingest = whole pipeline (load, split, embed every sentence, derive passage vectors, write store "
                 "+ records); torch/embed = encoding the same passages only")
    return "\n".join(lines)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--job":
        job_spec = json.loads(sys.argv[3])
        result = JOBS[sys.argv[2]](job_spec)
        if "result" in job_spec and sys.argv[2] != "baseline_cold":
            Path(job_spec["result"]).write_text(json.dumps(result))
        sys.exit(0)
    print("Run it as `assistant bench` (see --help).", file=sys.stderr)
    sys.exit(2)

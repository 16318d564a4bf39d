"""`assistant bench` end to end at a tiny size: the numbers are printed and written, quality holds.

The real benchmark (10k, 100k passages) is run by hand (`assistant bench`), never in pytest:
timing numbers belong in its output, not in assertions.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from evals.corpus import ArticleChain, generate, sample_questions

ROOT = Path(__file__).resolve().parents[1]


def test_generated_corpus_is_varied_and_keeps_the_article(tmp_path):
    info = generate(tmp_path / "c", 200, seed=1)
    texts = [p.read_text() for p in sorted((tmp_path / "c").rglob("brief-*.txt"))]
    paragraphs = [p for t in texts for p in t.split("\n\n") if p.strip()]
    assert len(paragraphs) == info.paragraphs == 200
    assert len(set(paragraphs)) == len(paragraphs)
    sentences = [s for p in paragraphs for s in re.split(r"(?<![A-Z])\.\s+", p)]  # not after "T. Haddad"
    assert len(set(sentences)) > 0.95 * len(sentences)
    assert (tmp_path / "c" / "japan-russia-ukraine-policy.txt").read_text() == (
        ROOT / "knowledge" / "japan-russia-ukraine-policy.txt").read_text()
    # the article's facts are not restated: its numbers are re-drawn in recombined sentences
    assert not any("2,000 Ukrainians" in p for p in paragraphs)
    assert len(set(sample_questions(50))) == 50
    assert ArticleChain("one two three four five six seven.").sentence(__import__("random").Random(0))
    # default: grammatical only, a share of it naming the article's own actors
    assert sum("Japan" in p for p in paragraphs) > 20
    generate(tmp_path / "g", 200, seed=1, ontopic=0.0)
    off_topic = [p.read_text() for p in sorted((tmp_path / "g").rglob("brief-*.txt"))]
    assert len(off_topic) == 10 and not any("Japan" in t or "Russia" in t for t in off_topic)
    # the stress test mixes in recombined article sentences: "Japan" appears without templates
    generate(tmp_path / "s", 200, seed=1, salad=0.5, ontopic=0.0)
    salad = [p.read_text() for p in sorted((tmp_path / "s").rglob("brief-*.txt"))]
    assert sum("Japan" in t for t in salad) >= 5


@pytest.mark.slow
def test_bench_runs_at_a_tiny_size(tmp_path):
    out = tmp_path / "bench"
    proc = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "bench", "--sizes", "40", "--queries", "3", "--no-baseline",
         "--out", str(out)],
        capture_output=True, text=True, timeout=900, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "p50/floor" in proc.stdout and "cold start" in proc.stdout
    result = json.loads((out / "bench.json").read_text())
    assert set(result["sizes"]) == {"seed", "40"}
    for row in result["sizes"].values():
        ours = row["ours"]
        assert ours["p50_ms"] > 0 and ours["floor_ms"] > 0 and ours["peak_rss_mb"] > 0
        assert ours["quality_right"] == ours["quality_total"] == 4, ours["quality"]
        assert 0.75 <= ours["dev_accuracy"] <= 1.0 and ours["dev_false_refusal_rate"] <= 0.1
    big = result["sizes"]["40"]
    assert big["ours"]["passages"] >= 40 + result["sizes"]["seed"]["ours"]["passages"]
    assert big["encode_torch"]["passages_per_s"] > 0
    assert result["cold_start_s"] > 0
    assert all(row["ours"]["cold_start_s"] > 0 for row in result["sizes"].values())

"""Hostile inputs (issue 14): special files and links in the knowledge folder, bad sidecars, huge files,
a 20 MB line with no sentence end, and a question that is not valid text.

Each case is skipped or refused by name, fast, and nothing else is lost.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from assistant import Assistant, Settings
from assistant.types import MAX_CONTEXT_CHARS, MAX_QUOTE_CHARS
from ingest import split_passages
from ingest.splitter import MAX_CHARS, _breaks, windowed_breaks

ROOT = Path(__file__).resolve().parents[1]
ARTICLE = ROOT / "knowledge" / "japan-russia-ukraine-policy.txt"


def test_a_20_mb_line_without_sentence_ends_gives_bounded_passages_quickly():
    words = ("japan ukraine sanctions policy energy aid refugees minister tokyo kyiv support " * 240_000)[:20_000_000]
    t0 = time.monotonic()
    passages = split_passages(words, "dump.txt", "Dump")
    seconds = time.monotonic() - t0
    assert seconds < 15, f"{seconds:.1f} s"
    assert len(passages) >= len(words) // MAX_CHARS
    assert max(p.end - p.start for p in passages) <= MAX_CHARS
    assert all(words[p.start : p.end] == p.text for p in passages[:50])
    assert all(e - s <= MAX_CHARS for p in passages[:50] for s, e in p.sentences)
    # a line with no space at all is cut hard at the limit
    blob = "x" * 5000
    assert [p.end - p.start for p in split_passages(blob, "b.txt", "B")] == [900] * 5 + [500]


def test_long_lines_of_ordinary_text_break_as_before():
    text = ARTICLE.read_text(encoding="utf-8").replace("\n", " ") * 8  # ~50k characters on one line
    assert len(text) > 2 * 20_000
    assert windowed_breaks(text) == _breaks(text)


def test_answers_quote_a_bounded_span_of_an_unbroken_line(tmp_path, embedder):
    knowledge = tmp_path / "knowledge"
    knowledge.mkdir()
    filler = "the committee reviewed agricultural tariffs and shipping schedules without any conclusion "
    line = filler * 200 + "the kelp harvest in Hokkaido doubled " + filler * 200  # ~36 KB, no sentence end
    (knowledge / "dump.txt").write_text(line, encoding="utf-8")
    bot = Assistant(Settings(data_dir=tmp_path / "data", knowledge_dir=knowledge), embedder=embedder)
    for question in ("What did the committee review?", "Where did the kelp harvest double?"):
        ans = bot.ask(question)
        assert ans.answered and ans.citations, (question, ans.text)
        assert len(json.dumps(ans.to_dict())) < 4 * (MAX_QUOTE_CHARS + MAX_CONTEXT_CHARS)
        for c in ans.citations:
            assert len(c.quote) <= MAX_CHARS and len(c.passage) <= MAX_CONTEXT_CHARS
            assert bot.source_text(c.path)[c.start : c.end] == c.quote

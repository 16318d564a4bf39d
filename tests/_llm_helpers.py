"""Helpers shared by the generative-answer tests (fake-model unit tests and the real-server test)."""

from __future__ import annotations

from typing import Any

from assistant import Answer


def assert_citations_valid(bot: Any, ans: Answer) -> None:
    """Every citation quotes its source verbatim at its offsets, inside its passage, and is marked in the text."""
    for c in ans.citations:
        source = bot.source_text(c.path)
        assert source[c.start : c.end] == c.quote, c
        assert source[c.passage_start : c.passage_end] == c.passage, c
        assert c.passage_start <= c.start < c.end <= c.passage_end, c
        assert f"[{c.n}]" in ans.text, (c.n, ans.text)
    assert [c.n for c in ans.citations] == list(range(1, len(ans.citations) + 1))


def drain(items) -> tuple[list[str], Answer]:
    """Split a ``stream`` into its text pieces and the final Answer (which must come last, once)."""
    items = list(items)
    assert items and isinstance(items[-1], Answer), items[-1:]
    pieces = items[:-1]
    assert all(isinstance(p, str) for p in pieces)
    return pieces, items[-1]

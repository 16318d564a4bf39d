"""Counts in ingest's messages: "1 passage", "2 passages", never "1 passages"."""

from __future__ import annotations


def plural(n: int, noun: str) -> str:
    """``n`` (with thousands separators) and ``noun``, plural unless ``n`` is one."""
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"

"""Small stand-ins shared by the narrow unit tests (no model, no store)."""

from __future__ import annotations


class AnyCorpus:
    """A corpus that knows every word, each with idf 1: question analysis without a store."""

    proper: set[str] = set()
    vocab: set[str] = set()
    acronyms: set[str] = set()

    def idf(self, term: str) -> float:
        return 1.0

    def near(self, term: str) -> bool:
        return True

"""The index: where passages live and how they are found.

``store`` (the Chroma collection behind a typed interface), ``embedder`` (the
packaged MiniLM, ONNX by default), ``lexical`` (the BM25 mirror and corpus
statistics) and ``retriever`` (hybrid search over both).

This package is also the one interface ``ingest`` uses from the assistant
(besides the public ``assistant.errors`` and ``assistant.settings``): the names
below are what an ingest needs to write and check a store, and nothing else of
the answer path or the web layer is imported by ``ingest``.
"""

from __future__ import annotations

from ..lexicon import YEAR
from . import faults
from .files import atomic_write_text
from .store import PassageWriter, Store, make_client, read_record, wrap_store_error


def document_years(text: str) -> str:
    """Every year ``text`` names, sorted and space-separated: a passage's ``years`` field.

    Stored with each passage so the answer path can tell a question about another
    year from one about this document's (``answering.evidence.other_year``).
    """
    return " ".join(sorted(set(YEAR.findall(text))))


__all__ = ["PassageWriter", "Store", "atomic_write_text", "document_years", "faults", "make_client", "read_record",
           "wrap_store_error"]

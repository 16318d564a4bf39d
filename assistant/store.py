"""The Chroma store: embedded by default, a Chroma server when a URL is given.

One cosine-space collection, ``<name>_passages``, holds a record per passage:
its vector, and three metadata keys: ``source``, ``passage`` (JSON: the text,
offsets, title and sentence spans) and ``sv`` (its sentences' vectors, packed),
so the answerer can score sentences without embedding them at query time and a
passage and its sentence vectors are written (and deleted) as one record. A
second collection of sentence vectors would cost a second HNSW index, twice the
writes and 5x the memory, and on the eval sets its extra ranking list changed
no answer.

Why the text is not Chroma's ``document`` and the fields are one JSON key:
embedded Chroma indexes every document for full-text search and every metadata
key in its own SQLite rows. We use neither (BM25 is ours), and they were most
of the write cost (README: benchmarks).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlparse

import numpy as np
from langchain_chroma import Chroma
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.vectorstores import VectorStore

from . import offline
from .errors import StoreError
from .settings import Settings

offline.apply()

# cosine so scores stay in [0, 1] for normalised vectors; a larger brute-force
# buffer (batch_size) means fewer, bigger HNSW updates during a bulk ingest
COSINE = {"hnsw": {"space": "cosine", "batch_size": 1000, "sync_threshold": 5000}}
SENTENCE_VECTORS = "sv"  # metadata key of the packed sentence vectors
PASSAGE = "passage"  # metadata key of the JSON with the text and offsets


def pack_vectors(rows: np.ndarray) -> str:
    """Unit vectors as int8 with a per-row scale, base64: 388 bytes a sentence instead of 1,536.

    The rounding moves a cosine by under 0.001, far below any threshold that uses it.
    """
    rows = np.asarray(rows, dtype=np.float32).reshape(len(rows), -1)
    scale = np.clip(np.abs(rows).max(axis=1, keepdims=True), 1e-12, None) / 127.0
    q = np.round(rows / scale).astype(np.int8)
    return base64.b64encode(scale.astype(np.float32).tobytes() + q.tobytes()).decode("ascii")


def unpack_vectors(packed: str, dim: int) -> np.ndarray:
    raw = base64.b64decode(packed)
    n = len(raw) // (4 + dim)
    scale = np.frombuffer(raw[: 4 * n], dtype=np.float32)[:, None]
    rows = np.frombuffer(raw[4 * n :], dtype=np.int8).reshape(n, dim).astype(np.float32) * scale
    return rows / np.clip(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12, None)


def to_record(doc: Document, packed_vectors: str) -> dict[str, Any]:
    """The Chroma metadata of one passage (see the module docstring for why this shape)."""
    fields = {k: v for k, v in doc.metadata.items() if k != "source"}
    fields["sentences"] = json.loads(fields.get("sentences", "[]"))
    fields["skip"] = json.loads(fields.get("skip", "[]"))
    fields["text"] = doc.page_content
    return {"source": doc.metadata["source"], PASSAGE: json.dumps(fields, ensure_ascii=False),
            SENTENCE_VECTORS: packed_vectors}


def read_record(meta: dict[str, Any]) -> dict[str, Any]:
    """A stored passage as one flat dict: text, source, passage_id, start, end, sentences, sv…

    A record without the ``passage`` key was written by a layout before 0.3;
    ``Store.outdated()`` finds those so the store is re-ingested, never read.
    """
    try:
        out = json.loads(meta[PASSAGE])
    except (KeyError, TypeError, ValueError) as exc:
        raise StoreError("A stored passage has an older or damaged format.",
                         "Run `assistant ingest` to re-index the knowledge folder.") from exc
    out["source"] = meta["source"]
    out[SENTENCE_VECTORS] = meta.get(SENTENCE_VECTORS)
    return out


def make_client(settings: Settings) -> Any:
    """A chromadb client for the settings, or a StoreError that says what to do."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_url:
        url = urlparse(settings.chroma_url if "://" in settings.chroma_url else f"http://{settings.chroma_url}")
        try:
            client = chromadb.HttpClient(
                host=url.hostname or "127.0.0.1",
                port=url.port or (443 if url.scheme == "https" else 8000),
                ssl=url.scheme == "https",
                settings=chroma_settings,
            )
            client.heartbeat()
        except Exception as exc:
            raise StoreError(
                f"Cannot reach the Chroma server at {settings.chroma_url} ({type(exc).__name__}).",
                "Start it (`chroma run --path DIR --host 127.0.0.1 --port 8000`) "
                "or unset ASSISTANT_CHROMA_URL to use the embedded store.",
            ) from exc
        return client
    path = settings.chroma_path
    try:
        path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    except Exception as exc:
        raise StoreError(
            f"Cannot open the vector store at {path}: {exc}",
            f"Move the folder aside (e.g. `mv {path} {path}.broken`) and run "
            "`assistant ingest` to rebuild it from your documents.",
        ) from exc


class PassageWriter(VectorStore):
    """The destination LangChain's ``index()`` writes through: one record per passage.

    A passage's document metadata carries its sentence offsets; the vectors of its
    sentences, and the passage vector derived from them, come from one encoding
    pass (``Embedder.encode_passages``) and are upserted together.
    """

    def __init__(self, collection: Any, embedder: Any) -> None:
        self.collection = collection
        self.embedder = embedder

    @property
    def embeddings(self) -> Embeddings:
        return self.embedder

    def add_documents(self, documents: list[Document], ids: list[str] | None = None, **kwargs: Any) -> list[str]:
        if not documents:
            return []
        ids = list(ids) if ids else [str(d.metadata["passage_id"]) for d in documents]
        texts = [d.page_content for d in documents]
        spans = []
        for d in documents:
            start = int(d.metadata["start"])
            spans.append([(s - start, e - start) for s, e in json.loads(d.metadata["sentences"])])
        vectors, sentence_vectors = self.embedder.encode_passages(texts, spans)
        metadatas = [to_record(d, pack_vectors(sv)) for d, sv in zip(documents, sentence_vectors)]
        self.collection.upsert(ids=ids, embeddings=vectors, metadatas=metadatas)
        return ids

    def add_texts(self, texts: Iterable[str], metadatas: list[dict] | None = None, *, ids: list[str] | None = None,
                  **kwargs: Any) -> list[str]:
        texts = list(texts)
        docs = [Document(page_content=t, metadata=m) for t, m in zip(texts, metadatas or [{}] * len(texts))]
        return self.add_documents(docs, ids=ids)

    def delete(self, ids: list[str] | None = None, **kwargs: Any) -> bool | None:
        if ids:
            self.collection.delete(ids=list(ids))
        return True

    def similarity_search(self, query: str, k: int = 4, **kwargs: Any) -> list[Document]:
        raise NotImplementedError("Search goes through HybridRetriever.")

    @classmethod
    def from_texts(cls, texts: list[str], embedding: Embeddings, metadatas: list[dict] | None = None,
                   **kwargs: Any) -> PassageWriter:
        raise NotImplementedError("Open a Store and use store.writer.")


class Store:
    """The passage collection over one injected client, as a LangChain ``Chroma`` and a writer."""

    def __init__(self, client: Any, embedder: Embeddings, name: str = "knowledge") -> None:
        self.client = client
        self.name = name
        self.embedder = embedder
        self._open()

    def _open(self) -> None:
        name, embedder = self.name, self.embedder
        try:
            self.passages = Chroma(
                client=self.client,
                collection_name=f"{name}_passages",
                embedding_function=embedder,
                collection_configuration=COSINE,
            )
        except Exception as exc:
            raise StoreError(
                f"Cannot open the collection '{name}_passages' in the vector store: {exc}",
                "If the store is damaged, move the data folder aside and run `assistant ingest`.",
            ) from exc
        self.writer = PassageWriter(self.passages._collection, embedder)

    def clear(self) -> None:
        """Delete every passage (the collection is dropped and made anew, which is instant at any size)."""
        try:
            self.client.delete_collection(f"{self.name}_passages")
        except Exception as exc:
            if "does not exist" not in str(exc).lower() and "not found" not in str(exc).lower():
                raise wrap_store_error(exc) from exc
        self._open()

    @classmethod
    def open(cls, settings: Settings, embedder: Embeddings) -> Store:
        return cls(make_client(settings), embedder, settings.collection)

    @property
    def passage_collection(self) -> Any:
        return self.passages._collection

    def count(self) -> int:
        """Number of passages stored."""
        try:
            return int(self.passage_collection.count())
        except Exception as exc:
            raise wrap_store_error(exc) from exc

    def outdated(self) -> bool:
        """True when the store holds records of an older layout (no ``passage`` key), to be re-ingested."""
        try:
            got = self.passage_collection.get(limit=1, include=["metadatas"])
        except Exception as exc:
            raise wrap_store_error(exc) from exc
        metas = got.get("metadatas") or []
        return bool(metas) and PASSAGE not in (metas[0] or {})


_CONNECTION_ERRORS = ("ConnectError", "ConnectTimeout", "ReadError", "ReadTimeout", "RemoteProtocolError",
                      "WriteError", "PoolTimeout", "ConnectionError", "ConnectionRefusedError")


def is_connection_error(exc: BaseException) -> bool:
    """True when ``exc`` (or what caused it) is a transport failure, not a bad request."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if type(cur).__name__ in _CONNECTION_ERRORS or "Could not connect to tenant" in str(cur):
            return True
        cur = cur.__cause__ or cur.__context__
    return False


def wrap_store_error(exc: Exception) -> StoreError:
    """Turn a chromadb/transport failure into a StoreError with a hint.

    A lost Chroma server gets its own message: nothing is wrong with the data,
    and the next request reconnects by itself once the server is back (the HTTP
    client opens a new connection per failed one), so the app needs no restart.
    """
    if isinstance(exc, StoreError):
        return exc
    if is_connection_error(exc):
        return StoreError(
            f"Lost the connection to the Chroma server ({type(exc).__name__}: {exc}).",
            "Check that `chroma run` is up; the assistant reconnects on the next request, "
            "and a re-run of `assistant ingest` completes an interrupted ingest without duplicates.",
        )
    return StoreError(
        f"The vector store failed: {type(exc).__name__}: {exc}",
        "If you use a Chroma server, check that it is running; otherwise re-run `assistant ingest`.",
    )

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
import hashlib
import json
import logging
import os
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.vectorstores import VectorStore

from .. import offline
from ..errors import StoreError
from ..settings import Settings
from . import faults
from .files import atomic_write_text

offline.apply()
log = logging.getLogger(__name__)

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
    if "pages" in fields:  # PDF passages: [[offset, page], ...] from the passage's start
        fields["pages"] = json.loads(fields["pages"])
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
                         f"Run `{faults.REBUILD}` to re-index your documents.") from exc
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
        _forget_failed_system(str(path))
        known = faults.explain(exc, settings.data_dir)
        if known is not None:
            raise known from exc
        raise StoreError(
            f"Cannot open the vector store at {path}: {exc}",
            f"Run `{faults.REBUILD}`: it moves the damaged store aside (to {path.name}.broken-<time>) and "
            "re-indexes your documents.",
        ) from exc


def _forget_failed_system(path: str) -> None:
    """Drop the half-started Chroma system a failed ``PersistentClient(path)`` leaves cached.

    Chroma caches one system per path and keeps it even when starting it failed,
    so every later client for that path (after the folder was repaired or set
    aside) would get the broken one. Only an entry no client holds is dropped.
    """
    try:
        from chromadb.api.shared_system_client import SharedSystemClient

        if not SharedSystemClient._identifier_to_refcount.get(path):
            SharedSystemClient._identifier_to_system.pop(path, None)
    except Exception as exc:  # noqa: BLE001 - a Chroma without this cache needs nothing dropped
        log.debug("could not drop a failed Chroma system: %s", exc)


def _spans(doc: Document) -> list[tuple[int, int]]:
    """A passage document's sentence spans, relative to the passage's own text."""
    start = int(doc.metadata["start"])
    return [(s - start, e - start) for s, e in json.loads(doc.metadata["sentences"])]


def prepared_key(doc: Document) -> str:
    """What a passage's vectors depend on: its text and its sentence spans."""
    return hashlib.sha1(json.dumps([doc.page_content, _spans(doc)]).encode("utf-8")).hexdigest()


class PassageWriter(VectorStore):
    """The destination LangChain's ``index()`` writes through: one record per passage.

    A passage's document metadata carries its sentence offsets; the vectors of its
    sentences, and the passage vector derived from them, come from one encoding
    pass (``Embedder.encode_passages``) and are upserted together.
    """

    def __init__(self, collection: Any, embedder: Any, on_write: Callable[[], None] | None = None,
                 prepared: dict[str, tuple[np.ndarray, str]] | None = None) -> None:
        self.collection = collection
        self.embedder = embedder
        self.on_write = on_write or (lambda: None)
        # vectors encoded before the write (``prepare``), by ``prepared_key``; owned by the Store, so a
        # reload (a new writer) keeps them
        self.prepared: dict[str, tuple[np.ndarray, str]] = {} if prepared is None else prepared

    def prepare(self, documents: list[Document]) -> list[str]:
        """Encode ``documents`` now, so that writing them later costs an upsert, not the model.

        Why: the encoder is most of an ingest's time, and an upload can be encoded
        before it takes the data folder's writer lock (another process may hold it);
        the locked part is then the write alone. Returns the keys to ``forget``.
        """
        todo = [d for d in documents if prepared_key(d) not in self.prepared]
        if todo:
            vectors, sentence_vectors = self.embedder.encode_passages(
                [d.page_content for d in todo], [_spans(d) for d in todo])
            for d, v, sv in zip(todo, vectors, sentence_vectors):
                self.prepared[prepared_key(d)] = (v, pack_vectors(sv))
        return [prepared_key(d) for d in documents]

    def forget(self, keys: Iterable[str]) -> None:
        """Drop prepared vectors that were not written (the upload was given up)."""
        for key in keys:
            self.prepared.pop(key, None)

    @property
    def embeddings(self) -> Embeddings:
        return self.embedder

    def add_documents(self, documents: list[Document], ids: list[str] | None = None, **kwargs: Any) -> list[str]:
        if not documents:
            return []
        ids = list(ids) if ids else [str(d.metadata["passage_id"]) for d in documents]
        ready = [self.prepared.pop(prepared_key(d), None) for d in documents]
        todo = [d for d, r in zip(documents, ready) if r is None]
        if todo:
            vecs, svs = self.embedder.encode_passages([d.page_content for d in todo], [_spans(d) for d in todo])
            fresh = iter(zip(vecs, (pack_vectors(sv) for sv in svs)))
            ready = [r if r is not None else next(fresh) for r in ready]
        vectors = np.stack([np.asarray(v, dtype=np.float32) for v, _ in ready])
        metadatas = [to_record(d, packed) for d, (_, packed) in zip(documents, ready)]
        try:
            self.collection.upsert(ids=ids, embeddings=vectors, metadatas=metadatas)
        finally:
            self.on_write()  # even a failed upsert may have written part of the batch
        return ids

    def add_texts(self, texts: Iterable[str], metadatas: list[dict] | None = None, *, ids: list[str] | None = None,
                  **kwargs: Any) -> list[str]:
        texts = list(texts)
        docs = [Document(page_content=t, metadata=m) for t, m in zip(texts, metadatas or [{}] * len(texts))]
        return self.add_documents(docs, ids=ids)

    def delete(self, ids: list[str] | None = None, **kwargs: Any) -> bool | None:
        if ids:
            try:
                self.collection.delete(ids=list(ids))
            finally:
                self.on_write()
        return True

    def similarity_search(self, query: str, k: int = 4, **kwargs: Any) -> list[Document]:
        raise NotImplementedError("Search goes through HybridRetriever.")

    @classmethod
    def from_texts(cls, texts: list[str], embedding: Embeddings, metadatas: list[dict] | None = None,
                   **kwargs: Any) -> PassageWriter:
        raise NotImplementedError("Open a Store and use store.writer.")


class Store:
    """The passage collection over one injected chromadb client: typed reads, and a LangChain writer.

    Readers (the retriever, ingest's checks) call ``count``, ``ids``, ``records``,
    ``query``, ``get`` and ``has``; each goes through ``_read``, the one place that
    touches the collection and turns its failures into ``StoreError`` s.

    Several processes may use one data folder (``serve`` and a CLI ``ingest``). An
    embedded Chroma client keeps what it has read in memory and never sees another
    process's writes ("Error finding id …"), so every write rewrites a stamp file
    (``stamp``) and a reader that finds it changed calls ``reload()``: a new client
    (``reopen``), hence a fresh view of the files. A Chroma server needs no new
    client, but a server restarted empty needs the collection made again, which
    ``reload()`` does too.
    """

    def __init__(self, client: Any, embedder: Embeddings, name: str = "knowledge", *,
                 reopen: Callable[[], Any] | None = None, stamp: Path | None = None,
                 data_dir: Path | None = None) -> None:
        self.client = client
        self.name = name
        self.embedder = embedder
        self.data_dir = data_dir
        self._reopen = reopen
        self._stamp = stamp
        self._reload_lock = threading.Lock()
        # held by an ingest in this process while it writes; a reload then waits for it to end
        self.write_lock = threading.RLock()
        self.prepared: dict[str, tuple[np.ndarray, str]] = {}  # encoded ahead of a write (PassageWriter.prepare)
        self.epoch = 0  # bumped by every reload, so concurrent readers reload once, not once each
        self._seen = self._read_stamp()
        self._open()

    def _open(self) -> None:
        name = f"{self.name}_passages"
        try:
            # no embedding function: vectors always come from our embedder (``PassageWriter``, the retriever)
            collection = self.client.get_or_create_collection(name=name, embedding_function=None, configuration=COSINE)
        except Exception as exc:
            known = faults.explain(exc, self.data_dir) if self.data_dir else None
            raise known or StoreError(
                f"Cannot open the collection '{name}' in the vector store: {exc}",
                f"If the store is damaged, run `{faults.REBUILD}` to re-create it from your documents.",
            ) from exc
        # one assignment each: a reader on another thread sees the old collection or the new one
        self.writer = PassageWriter(collection, self.embedder, on_write=self.bump, prepared=self.prepared)
        self._collection = collection

    # -- other processes' writes
    def _read_stamp(self) -> str:
        if self._stamp is None:
            return ""
        try:
            return self._stamp.read_text(encoding="utf-8")
        except (OSError, ValueError):
            return ""

    def bump(self) -> None:
        """Record that this process wrote to the store (other processes reload when they see it)."""
        if self._stamp is None:
            return
        value = f"{os.getpid()}-{uuid.uuid4().hex}"
        try:
            atomic_write_text(self._stamp, value)
            self._seen = value
        except OSError as exc:  # a full or read-only disk: the write itself reports that
            log.debug("could not write the store stamp %s: %s", self._stamp, exc)

    def changed_elsewhere(self) -> bool:
        """True when another process wrote to the store since this one opened or last reloaded it."""
        return self._stamp is not None and self._read_stamp() != self._seen

    def reload(self, if_epoch: int | None = None) -> bool:
        """Open the store afresh so another process's writes are seen; False when it cannot now.

        ``if_epoch``: reload only if nobody reloaded since the caller read ``epoch``
        (many threads failing on one stale view reload once). Not while an ingest of
        this process is writing: it sees its own writes, and its writer must stay open.
        """
        with self._reload_lock:
            if if_epoch is not None and if_epoch != self.epoch:
                return True
            if not self.write_lock.acquire(blocking=False):
                return False
            try:
                seen = self._read_stamp()
                if self._reopen is not None:
                    self.close()  # the last user of an embedded system stops it: the next one reads afresh
                    self.client = self._reopen()
                self._open()
                self._seen = seen
                self.epoch += 1
                return True
            finally:
                self.write_lock.release()

    def close(self) -> None:
        """Release the client (an embedded store's files are closed once no client in the process uses them)."""
        try:
            self.client.close()
        except Exception as exc:  # noqa: BLE001 - closing is best effort
            log.debug("closing the Chroma client failed: %s", exc)

    def clear(self) -> None:
        """Delete every passage (the collection is dropped and made anew, which is instant at any size)."""
        try:
            self.client.delete_collection(f"{self.name}_passages")
        except Exception as exc:
            if "does not exist" not in str(exc).lower() and "not found" not in str(exc).lower():
                raise wrap_store_error(exc, self.data_dir) from exc
        self.bump()
        self._open()

    @classmethod
    def open(cls, settings: Settings, embedder: Embeddings) -> Store:
        embedded = not settings.chroma_url
        return cls(make_client(settings), embedder, settings.collection,
                   reopen=(lambda: make_client(settings)) if embedded else None,
                   stamp=settings.store_stamp, data_dir=settings.data_dir if embedded else None)

    @property
    def passage_collection(self) -> Any:
        """Chroma's collection itself, for code that must reach past the typed reads (benchmarks, tests)."""
        return self._collection

    def _read(self, fn: Callable[[Any], Any]) -> Any:
        """``fn(collection)``: every read of Chroma's collection goes through here.

        A failure becomes a ``StoreError`` with a hint (``wrap_store_error``); a collection
        that vanished (a Chroma server restarted empty) is made anew once.
        """
        try:
            return fn(self.passage_collection)
        except Exception as exc:
            if not is_missing_collection(exc):
                raise wrap_store_error(exc, self.data_dir) from exc
        self._open()
        try:
            return fn(self.passage_collection)
        except Exception as exc:
            raise wrap_store_error(exc, self.data_dir) from exc

    def count(self) -> int:
        """Number of passages stored."""
        return int(self._read(lambda col: col.count()))

    def ids(self, page: int = 50_000) -> set[str]:
        """Every record id in the collection (a page at a time: one request per 50k ids)."""

        def read(col: Any) -> set[str]:
            out: set[str] = set()
            while True:
                got = col.get(include=[], limit=page, offset=len(out))["ids"]
                out.update(got)
                if len(got) < page:
                    return out

        return self._read(read)

    def records(self, page: int = 5000) -> Iterator[tuple[str, dict[str, Any]]]:
        """(id, metadata) of every passage, a page at a time (what the BM25 mirror is built from)."""
        count = self.count()
        for offset in range(0, count, page):
            got = self._read(lambda col, o=offset: col.get(include=["metadatas"], limit=page, offset=o))
            yield from zip(got["ids"], got["metadatas"])

    def query(self, vector: np.ndarray, n: int, sources: Iterable[str] | None = None
              ) -> list[tuple[str, dict[str, Any], float]]:
        """The ``n`` passages nearest ``vector``: (id, metadata, cosine distance), nearest first.

        ``sources``: only passages of these documents (Chroma's metadata filter on ``source``).
        """
        where = {"source": {"$in": sorted(sources)}} if sources is not None else None
        if where is not None and not where["source"]["$in"]:
            return []
        got = self._read(lambda col: col.query(query_embeddings=[vector.tolist()], n_results=n, where=where,
                                               include=["metadatas", "distances"]))
        return list(zip(got["ids"][0], got["metadatas"][0], got["distances"][0]))

    def get(self, ids: list[str]) -> list[tuple[str, dict[str, Any], np.ndarray]]:
        """(id, metadata, vector) of the passages ``ids`` that exist."""
        if not ids:
            return []
        got = self._read(lambda col: col.get(ids=list(ids), include=["metadatas", "embeddings"]))
        return [(rid, meta, np.asarray(emb, dtype=np.float32))
                for rid, meta, emb in zip(got["ids"], got["metadatas"], got["embeddings"])]

    def has(self, ids: list[str]) -> set[str]:
        """Which of ``ids`` the collection holds."""
        return set(self._read(lambda col: col.get(ids=list(ids), include=[])["ids"])) if ids else set()

    def outdated(self) -> bool:
        """True when the store holds records of an older layout (no ``passage`` key), to be re-ingested."""
        got = self._read(lambda col: col.get(limit=1, include=["metadatas"]))
        metas = got.get("metadatas") or []
        return bool(metas) and PASSAGE not in (metas[0] or {})


_CONNECTION_ERRORS = ("ConnectError", "ConnectTimeout", "ReadError", "ReadTimeout", "RemoteProtocolError",
                      "WriteError", "PoolTimeout", "ConnectionError", "ConnectionRefusedError")


def is_missing_collection(exc: BaseException) -> bool:
    """True when the collection this client holds no longer exists (dropped, or the server lost it)."""
    return any(type(e).__name__ == "NotFoundError" or "does not exist" in str(e).lower() for e in faults.chain(exc))


def is_connection_error(exc: BaseException) -> bool:
    """True when ``exc`` (or what caused it) is a transport failure, not a bad request."""
    return any(type(e).__name__ in _CONNECTION_ERRORS or "Could not connect to tenant" in str(e)
               for e in faults.chain(exc))


def wrap_store_error(exc: Exception, data_dir: Path | None = None) -> StoreError:
    """Turn a chromadb/transport failure into a StoreError with a hint.

    A lost Chroma server gets its own message: nothing is wrong with the data,
    and the next request reconnects by itself once the server is back (the HTTP
    client opens a new connection per failed one), so the app needs no restart.
    A full disk or a read-only data folder is named as such (``faults``).
    """
    if isinstance(exc, StoreError):
        return exc
    known = faults.explain(exc, data_dir) if data_dir is not None else None
    if known is not None:
        return known
    if data_dir is None and faults.is_disk_full(exc):
        return StoreError(f"The vector store's disk is full: {exc}",
                          "Free space where the Chroma server keeps its data, then re-run `assistant ingest`.")
    if is_connection_error(exc):
        return StoreError(
            f"Lost the connection to the Chroma server ({type(exc).__name__}: {exc}).",
            "Check that `chroma run` is up; the assistant reconnects on the next request, "
            "and a re-run of `assistant ingest` completes an interrupted ingest without duplicates.",
        )
    return StoreError(
        f"The vector store failed: {type(exc).__name__}: {exc}",
        "If you use a Chroma server, check that it is running; otherwise re-run `assistant ingest` "
        f"(and `{faults.REBUILD}` if that fails too).",
    )

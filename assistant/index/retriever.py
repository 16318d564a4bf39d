"""Hybrid retrieval: dense passages (Chroma, cosine) and BM25, fused by reciprocal rank with a
third ranking of those candidates by their best-matching sentence.

Dense search finds paraphrases, BM25 finds rare exact words (names, numbers)
that MiniLM blurs; reciprocal rank fusion needs no score calibration between
the two. The BM25 index mirrors the passage collection in memory and is rebuilt
only when the collection changes (an ingest here, or another process writing
to a shared Chroma server), never per query. Each build is saved under a hash
of the collection's ids (content hashes), so a restart over an unchanged store
loads it instead of re-reading and re-tokenising every passage (README: benchmarks).

When another process wrote to the store (its stamp changed), or a read fails on
a stale view ("Error finding id" after another process's ingest, a Chroma server
restarted empty), the store is opened afresh and the question retried once
(``Store.reload``), so a running app follows a CLI ingest instead of failing.
"""

from __future__ import annotations

import hashlib
import shutil
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, PrivateAttr

from ..errors import StoreError
from ..settings import Settings
from ..text import terms
from ..tuning import DEFAULT_TUNING, Tuning
from ..types import ScoredPassage
from .lexical import LexicalIndex
from .scope import resolve
from .store import SENTENCE_VECTORS, Store, is_connection_error, read_record, unpack_vectors


class HybridRetriever(BaseRetriever):
    """A LangChain retriever over the passage collection: ``invoke(query, k=...)``."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    store: Store
    embedder: Any  # an ``Embedder``: embeds the query when ``search`` is given no vector
    k: int = Settings.model_fields["top_k"].default  # passages returned
    candidates: int = Settings.model_fields["candidates"].default  # fetched from each ranking before fusion
    tuning: Tuning = DEFAULT_TUNING
    refresh_seconds: float = 2.0  # how often to check a shared store for changes
    cache_dir: Path | None = None  # where builds are saved for the next start; None: memory only

    _lexical: LexicalIndex | None = PrivateAttr(default=None)
    _lexical_count: int = PrivateAttr(default=-1)
    _checked_at: float = PrivateAttr(default=0.0)
    _lock: Any = PrivateAttr(default_factory=threading.Lock)

    # -- the lexical mirror
    def invalidate(self) -> None:
        """Forget the BM25 index; the next query rebuilds it (call after an ingest)."""
        with self._lock:
            self._lexical = None
            self._lexical_count = -1

    def lexical(self) -> LexicalIndex:
        now = time.monotonic()
        if self._lexical is not None and now - self._checked_at < self.refresh_seconds:
            return self._lexical
        with self._lock:
            if self.store.changed_elsewhere() and self.store.reload():
                self._lexical = None  # another process's ingest: read its passages afresh
            count = self.store.count()
            self._checked_at = now
            if self._lexical is None or count != self._lexical_count:
                self._lexical = self._load_or_build(count)
                self._lexical_count = count
            return self._lexical

    def _load_or_build(self, count: int) -> LexicalIndex:
        """The saved index when it was built from exactly these records, else a new build (saved)."""
        if self.cache_dir is None or count == 0:
            return LexicalIndex.build(self._texts())
        wanted = sorted(self.store.ids())
        folder = self.cache_dir / hashlib.sha1("\n".join(wanted).encode()).hexdigest()[:20]
        try:
            saved = LexicalIndex.load(folder)
            if sorted(saved.ids) == wanted and (saved.bm25 is not None or not saved.vocab):
                return saved
        except Exception:  # noqa: S110 - absent or damaged: rebuilt below, nothing is lost
            pass
        index = LexicalIndex.build(self._texts())
        if sorted(index.ids) == wanted:  # unchanged while we read it: safe to save under that hash
            try:
                for old in self.cache_dir.glob("*"):  # one saved index per collection
                    shutil.rmtree(old, ignore_errors=True)
                index.save(folder)
            except OSError:  # a read-only or full disk costs the next start time, not this answer
                pass
        return index

    def _texts(self):  # noqa: ANN202 - Iterator[tuple[str, str, str, str]]
        """(id, text, source, title) of every passage, a page at a time."""
        for rid, meta in self.store.records():
            r = read_record(meta)
            yield rid, r["text"], r["source"], r.get("title") or r["source"]

    # -- scope: the documents a question is about
    def documents(self) -> dict[str, str]:
        """Every document the store holds: source id -> title (from the BM25 mirror, so always in step)."""
        return dict(self.lexical().titles)

    def scope(self, names: Iterable[str] | None) -> frozenset[str] | None:
        """The source ids ``names`` (file names, paths or titles) stand for; None: every document.

        Unknown names raise ``UnknownDocument`` with the closest matches (``index.scope``).
        """
        return resolve(names, self.lexical().titles)

    def _recover(self, epoch: int) -> bool:
        """After a failed read: open the store afresh (once, however many threads failed) and drop the mirror."""
        if not self.store.reload(if_epoch=epoch):
            return False
        self.invalidate()
        return True

    # -- search
    def search(self, query: str, k: int | None = None, query_vector: np.ndarray | None = None,
               sources: frozenset[str] | None = None) -> list[ScoredPassage]:
        """Top-``k`` passages for ``query`` by reciprocal rank fusion of dense and BM25 ranks.

        ``sources``: search only these documents (source ids, as ``scope`` returns them);
        both rankings are limited, Chroma's by its metadata filter and BM25's by a mask.
        A read that fails on a stale view of the store is retried once on a fresh one;
        a lost server connection is reported at once (reopening cannot help).
        """
        epoch = self.store.epoch
        try:
            return self._search(query, k, query_vector, sources)
        except StoreError as exc:
            if is_connection_error(exc) or not self._recover(epoch):
                raise
            return self._search(query, k, query_vector, sources)

    def _search(self, query: str, k: int | None, query_vector: np.ndarray | None,
                sources: frozenset[str] | None = None) -> list[ScoredPassage]:
        k = k or self.k
        n = max(self.candidates, k)
        rrf_k = self.tuning.rrf_k
        lex = self.lexical()
        size = lex.n_docs if sources is None else int(lex.mask(sources).sum())
        if size == 0:
            return []
        qvec = query_vector if query_vector is not None else self.embedder.embed_query_vector(query)
        found: dict[str, ScoredPassage] = {}  # by record id
        for rank, (rid, meta, dist) in enumerate(self.store.query(qvec, min(n, size), sources)):
            p = _passage(meta, len(qvec))
            p.dense = 1.0 - float(dist)
            p.score += 1.0 / (rrf_k + rank + 1)
            found[rid] = p
        bm25_hits = lex.search(terms(query), n, within=sources)
        missing = list(dict.fromkeys(lex.ids[i] for i, _ in bm25_hits if lex.ids[i] not in found))
        for rid, meta, emb in self.store.get(missing):
            p = _passage(meta, len(qvec))
            p.dense = float(np.dot(emb, qvec))
            found[rid] = p
        for rank, (i, score) in enumerate(bm25_hits):
            p = found.get(lex.ids[i])
            if p is not None:
                p.bm25 = score
                p.score += 1.0 / (rrf_k + rank + 1)
        # the third list: candidates by their best sentence. A long paragraph that
        # mixes topics can look average as a whole while one sentence answers
        # squarely; the packed sentence vectors make this a few dot products.
        best = {rid: float((p.sentence_matrix @ qvec).max()) for rid, p in found.items()}
        for rank, rid in enumerate(sorted(best, key=best.__getitem__, reverse=True)):
            found[rid].score += self.tuning.sentence_weight / (rrf_k + rank + 1)
        ranked = sorted(found.values(), key=lambda p: (-p.score, -p.dense))
        return ranked[:k]

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, k: int | None = None
    ) -> list[Document]:
        return [p.to_document() for p in self.search(query, k=k)]


def _passage(meta: dict, dim: int) -> ScoredPassage:
    r = read_record(meta)
    return ScoredPassage(
        id=r["passage_id"], text=r["text"], source=r["source"], title=r.get("title", r["source"]),
        start=int(r["start"]), end=int(r["end"]), sentences=[tuple(x) for x in r["sentences"]],
        sentence_matrix=unpack_vectors(r[SENTENCE_VECTORS], dim), date=str(r.get("date") or ""),
        section=str(r.get("section") or ""), ordinal=int(r.get("ordinal") or 0),
        skip=frozenset(int(i) for i in r.get("skip") or ()), years=frozenset(str(r.get("years") or "").split()),
        pages=tuple((int(o), int(n)) for o, n in r.get("pages") or ()),
    )


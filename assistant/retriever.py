"""Hybrid retrieval: dense passages, dense sentences (Chroma, cosine) and BM25, fused by reciprocal rank.

Dense search finds paraphrases, BM25 finds rare exact words (names, numbers)
that MiniLM blurs; reciprocal rank fusion needs no score calibration between
the two. The BM25 index mirrors the passage collection in memory and is rebuilt
only when the collection changes (an ingest here, or another process writing
to a shared Chroma server), never per query.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, PrivateAttr

from .store import wrap_store_error
from .text import terms

RRF_K = 60  # the constant from Cormack et al. (2009); robust across collections


@dataclass
class ScoredPassage:
    id: str
    text: str
    source: str
    title: str
    start: int
    end: int
    sentences: list[tuple[int, int]]
    score: float = 0.0  # fused RRF score
    dense: float = 0.0  # cosine similarity to the query (0 when not in the dense list)
    bm25: float = 0.0

    def to_document(self) -> Document:
        return Document(
            page_content=self.text,
            id=self.id,
            metadata={
                "passage_id": self.id, "source": self.source, "title": self.title, "start": self.start,
                "end": self.end, "score": self.score, "dense": self.dense, "bm25": self.bm25,
            },
        )


@dataclass
class LexicalIndex:
    """BM25 over the passages, plus document frequencies for term weighting."""

    ids: list[str] = field(default_factory=list)
    bm25: Any = None
    df: Counter = field(default_factory=Counter)
    n_docs: int = 0
    vocab: set[str] = field(default_factory=set)

    @classmethod
    def build(cls, ids: list[str], texts: list[str]) -> LexicalIndex:
        import bm25s

        tokenized = [terms(t) for t in texts]
        df: Counter = Counter()
        for toks in tokenized:
            df.update(set(toks))
        index = cls(ids=ids, df=df, n_docs=len(ids), vocab=set(df))
        if ids:
            model = bm25s.BM25()
            model.index(tokenized, show_progress=False)
            index.bm25 = model
        return index

    def idf(self, term: str) -> float:
        """Smoothed idf; unseen terms get the maximum so a missing name weighs heavily."""
        return math.log(1 + (self.n_docs + 1) / (self.df.get(term, 0) + 0.5))

    def search(self, query_terms: list[str], k: int) -> list[tuple[int, float]]:
        known = [t for t in query_terms if t in self.vocab]
        if not known or self.bm25 is None:
            return []
        k = min(k, self.n_docs)
        docs, scores = self.bm25.retrieve([known], k=k, show_progress=False)
        return [(int(d), float(s)) for d, s in zip(docs[0], scores[0]) if s > 0]


class HybridRetriever(BaseRetriever):
    """A LangChain retriever over the passage collection: ``invoke(query, k=...)``."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    store: Any
    embedder: Any
    k: int = 5
    candidates: int = 20
    refresh_seconds: float = 2.0  # how often to check a shared store for changes

    _lexical: LexicalIndex | None = PrivateAttr(default=None)
    _lexical_count: int = PrivateAttr(default=-1)
    _sentence_count: int = PrivateAttr(default=1)  # refreshed with the BM25 mirror, not per query
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
            col = self.store.passage_collection
            try:
                count = int(col.count())
            except Exception as exc:
                raise wrap_store_error(exc) from exc
            self._checked_at = now
            if self._lexical is None or count != self._lexical_count:
                ids: list[str] = []
                texts: list[str] = []
                page = 5000
                try:
                    for offset in range(0, count, page):
                        got = col.get(include=["documents", "metadatas"], limit=page, offset=offset)
                        for meta, doc in zip(got["metadatas"], got["documents"]):
                            ids.append(meta["passage_id"])
                            texts.append(doc)
                except Exception as exc:
                    raise wrap_store_error(exc) from exc
                self._lexical = LexicalIndex.build(ids, texts)
                self._lexical_count = count
                try:
                    self._sentence_count = max(1, int(self.store.sentence_collection.count()))
                except Exception as exc:
                    raise wrap_store_error(exc) from exc
            return self._lexical

    # -- search
    def search(self, query: str, k: int | None = None, query_vector: np.ndarray | None = None) -> list[ScoredPassage]:
        """Top-``k`` passages for ``query`` by reciprocal rank fusion of dense and BM25 ranks."""
        k = k or self.k
        n = max(self.candidates, k)
        lex = self.lexical()
        if lex.n_docs == 0:
            return []
        qvec = query_vector if query_vector is not None else self.embedder.embed_query_vector(query)
        col = self.store.passage_collection
        try:
            dense = col.query(query_embeddings=[qvec.tolist()], n_results=min(n, lex.n_docs),
                              include=["documents", "metadatas", "distances"])
        except Exception as exc:
            raise wrap_store_error(exc) from exc
        found: dict[str, ScoredPassage] = {}
        for rank, (doc, meta, dist) in enumerate(zip(dense["documents"][0], dense["metadatas"][0], dense["distances"][0])):
            p = _passage(doc, meta)
            p.dense = 1.0 - float(dist)
            p.score += 1.0 / (RRF_K + rank + 1)
            found[p.id] = p
        # sentence-level dense search: a passage with one sentence squarely on the
        # question can look average as a whole (long paragraphs mix topics)
        try:
            sent = self.store.sentence_collection.query(
                query_embeddings=[qvec.tolist()], n_results=min(n, self._sentence_count),
                include=["metadatas", "distances"])
        except Exception as exc:
            raise wrap_store_error(exc) from exc
        sentence_rank: list[str] = []
        for meta in sent["metadatas"][0]:
            if meta["passage_id"] not in sentence_rank:
                sentence_rank.append(meta["passage_id"])
        bm25_hits = lex.search(terms(query), n)
        wanted = [lex.ids[i] for i, _ in bm25_hits] + sentence_rank
        missing = list(dict.fromkeys(pid for pid in wanted if pid not in found))
        if missing:
            try:
                got = col.get(where={"passage_id": {"$in": missing}}, include=["documents", "metadatas", "embeddings"])
            except Exception as exc:
                raise wrap_store_error(exc) from exc
            for doc, meta, emb in zip(got["documents"], got["metadatas"], got["embeddings"]):
                p = _passage(doc, meta)
                p.dense = float(np.dot(np.asarray(emb, dtype=np.float32), qvec))
                found[p.id] = p
        for rank, (i, score) in enumerate(bm25_hits):
            p = found.get(lex.ids[i])
            if p is not None:
                p.bm25 = score
                p.score += 1.0 / (RRF_K + rank + 1)
        for rank, pid in enumerate(sentence_rank):
            p = found.get(pid)
            if p is not None:
                p.score += 1.0 / (RRF_K + rank + 1)
        ranked = sorted(found.values(), key=lambda p: (-p.score, -p.dense))
        return ranked[:k]

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, k: int | None = None
    ) -> list[Document]:
        return [p.to_document() for p in self.search(query, k=k)]


def _passage(doc: str, meta: dict) -> ScoredPassage:
    return ScoredPassage(
        id=meta["passage_id"], text=doc, source=meta["source"], title=meta.get("title", meta["source"]),
        start=int(meta["start"]), end=int(meta["end"]),
        sentences=[tuple(x) for x in json.loads(meta.get("sentences", "[]"))],
    )


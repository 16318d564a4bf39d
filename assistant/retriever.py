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
import json
import math
import re
import shutil
import threading
import time
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, PrivateAttr

from .errors import StoreError
from .files import replace_dir, temp_path
from .settings import Settings
from .store import SENTENCE_VECTORS, is_connection_error, read_record, unpack_vectors, wrap_store_error
from .text import STOPWORDS, near_word, terms
from .tuning import DEFAULT_TUNING, Tuning
from .types import ScoredPassage

# a word not opening a sentence (its case then says whether it is a name)
_MID_SENTENCE_WORD = re.compile(r"(?<=[a-z0-9,;)] )[A-Za-z][A-Za-z'-]{2,}")


def _proper_stems(cases: Counter) -> set[str]:
    """Stems of words the corpus writes with a capital inside sentences at least four times in five.

    A user who types "sakhalin mitsui stake" in lower case still names things; this is how
    the question's words are recognised as names without a dictionary.
    """
    seen: dict[str, list[int]] = {}
    for form, n in cases.items():
        low = form.lower()
        counts = seen.setdefault(low, [0, 0])
        counts[0 if form[0].isupper() else 1] += n
    out = set()
    for low, (upper, lower) in seen.items():
        if upper >= 2 and upper >= 4 * lower:
            out.update(terms(low))
    return out - STOPWORDS


@dataclass
class LexicalIndex:
    """BM25 over the passages, plus document frequencies for term weighting."""

    ids: list[str] = field(default_factory=list)
    bm25: Any = None
    df: Counter = field(default_factory=Counter)
    n_docs: int = 0
    vocab: set[str] = field(default_factory=set)
    proper: set[str] = field(default_factory=set)  # stems the corpus writes as names ("mitsui", "sakhalin")
    _by_prefix: dict[str, list[str]] | None = field(default=None, repr=False)

    @classmethod
    def build(cls, records: Iterable[tuple[str, str]]) -> LexicalIndex:
        """Index ``(id, text)`` pairs, streaming: each text becomes a compact array of term ids at once.

        Lists of term strings for 100k passages would hold ~13M string objects
        (about 1 GB); arrays of ids hold 4 bytes a term.
        """
        import bm25s

        ids: list[str] = []
        vocab: dict[str, int] = {}
        docs: list[array] = []
        df: Counter = Counter()
        cases: Counter = Counter()  # word form -> occurrences, to tell names from common words
        for rid, text in records:
            toks = terms(text)
            df.update(set(toks))
            docs.append(array("I", [vocab.setdefault(t, len(vocab)) for t in toks]))
            ids.append(rid)
            cases.update(_MID_SENTENCE_WORD.findall(text))
        index = cls(ids=ids, df=df, n_docs=len(ids), vocab=set(df), proper=_proper_stems(cases))
        if ids and vocab:
            model = bm25s.BM25()
            model.index((docs, vocab), show_progress=False)
            index.bm25 = model
        return index

    def save(self, folder: Path) -> None:
        """Write the index to ``folder`` atomically (a reader never sees half of it)."""
        tmp = temp_path(folder)
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if self.bm25 is not None:
            self.bm25.save(str(tmp / "bm25"), show_progress=False)
        data = {"ids": self.ids, "df": self.df, "proper": sorted(self.proper)}
        (tmp / "index.json").write_text(json.dumps(data), encoding="utf-8")
        replace_dir(tmp, folder)  # False: another process saved the same index first

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex:
        import bm25s

        data = json.loads((folder / "index.json").read_text(encoding="utf-8"))
        df = Counter(data["df"])
        if "proper" not in data:
            raise ValueError("saved by an older version")  # rebuilt by the caller
        index = cls(ids=data["ids"], df=df, n_docs=len(data["ids"]), vocab=set(df), proper=set(data["proper"]))
        if (folder / "bm25").exists():
            index.bm25 = bm25s.BM25.load(str(folder / "bm25"), show_progress=False)
        return index

    def near(self, term: str) -> bool:
        """Is a word of the corpus one typo away from ``term`` ("Kishda" → "kishida")? Only for words of 5+ letters."""
        if len(term) < 5 or not term.isalpha():
            return False
        if self._by_prefix is None:
            index: dict[str, list[str]] = {}
            for t in self.vocab:
                if t.isalpha() and len(t) >= 4:
                    index.setdefault(t[:2], []).append(t)
            self._by_prefix = index
        return near_word(term, self._by_prefix.get(term[:2], []))

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
            changed = getattr(self.store, "changed_elsewhere", None)
            if changed is not None and changed() and self.store.reload():
                self._lexical = None  # another process's ingest: read its passages afresh
            col = self.store.passage_collection
            try:
                count = int(col.count())
            except Exception as exc:
                raise wrap_store_error(exc, self._data_dir) from exc
            self._checked_at = now
            if self._lexical is None or count != self._lexical_count:
                self._lexical = self._load_or_build(col, count)
                self._lexical_count = count
            return self._lexical

    def _load_or_build(self, col: Any, count: int) -> LexicalIndex:
        """The saved index when it was built from exactly these records, else a new build (saved)."""
        if self.cache_dir is None or count == 0:
            return LexicalIndex.build(self._records(col, count))
        try:
            ids = col.get(include=[])["ids"]
        except Exception as exc:
            raise wrap_store_error(exc, self._data_dir) from exc
        wanted = sorted(ids)
        folder = self.cache_dir / hashlib.sha1("\n".join(wanted).encode()).hexdigest()[:20]
        try:
            saved = LexicalIndex.load(folder)
            if sorted(saved.ids) == wanted and (saved.bm25 is not None or not saved.vocab):
                return saved
        except Exception:  # noqa: S110 - absent or damaged: rebuilt below, nothing is lost
            pass
        index = LexicalIndex.build(self._records(col, count))
        if sorted(index.ids) == wanted:  # unchanged while we read it: safe to save under that hash
            try:
                for old in self.cache_dir.glob("*"):  # one saved index per collection
                    shutil.rmtree(old, ignore_errors=True)
                index.save(folder)
            except OSError:  # a read-only or full disk costs the next start time, not this answer
                pass
        return index

    @staticmethod
    def _records(col: Any, count: int, page: int = 5000) -> Iterator[tuple[str, str]]:
        """(id, text) of every passage, a page at a time."""
        try:
            for offset in range(0, count, page):
                got = col.get(include=["metadatas"], limit=page, offset=offset)
                for rid, meta in zip(got["ids"], got["metadatas"]):
                    yield rid, read_record(meta)["text"]
        except Exception as exc:
            raise wrap_store_error(exc) from exc

    @property
    def _data_dir(self) -> Path | None:
        return getattr(self.store, "data_dir", None)

    def _recover(self, epoch: int) -> bool:
        """After a failed read: open the store afresh (once, however many threads failed) and drop the mirror."""
        reload = getattr(self.store, "reload", None)
        if reload is None or not reload(if_epoch=epoch):
            return False
        self.invalidate()
        return True

    # -- search
    def search(self, query: str, k: int | None = None, query_vector: np.ndarray | None = None) -> list[ScoredPassage]:
        """Top-``k`` passages for ``query`` by reciprocal rank fusion of dense and BM25 ranks.

        A read that fails on a stale view of the store is retried once on a fresh one;
        a lost server connection is reported at once (reopening cannot help).
        """
        epoch = getattr(self.store, "epoch", 0)
        try:
            return self._search(query, k, query_vector)
        except StoreError as exc:
            if is_connection_error(exc) or not self._recover(epoch):
                raise
            return self._search(query, k, query_vector)

    def _search(self, query: str, k: int | None, query_vector: np.ndarray | None) -> list[ScoredPassage]:
        k = k or self.k
        n = max(self.candidates, k)
        rrf_k = self.tuning.rrf_k
        lex = self.lexical()
        if lex.n_docs == 0:
            return []
        qvec = query_vector if query_vector is not None else self.embedder.embed_query_vector(query)
        col = self.store.passage_collection
        try:
            dense = col.query(query_embeddings=[qvec.tolist()], n_results=min(n, lex.n_docs),
                              include=["metadatas", "distances"])
        except Exception as exc:
            raise wrap_store_error(exc, self._data_dir) from exc
        found: dict[str, ScoredPassage] = {}  # by record id
        for rank, (rid, meta, dist) in enumerate(zip(dense["ids"][0], dense["metadatas"][0], dense["distances"][0])):
            p = _passage(meta, len(qvec))
            p.dense = 1.0 - float(dist)
            p.score += 1.0 / (rrf_k + rank + 1)
            found[rid] = p
        bm25_hits = lex.search(terms(query), n)
        missing = list(dict.fromkeys(lex.ids[i] for i, _ in bm25_hits if lex.ids[i] not in found))
        if missing:
            try:
                got = col.get(ids=missing, include=["metadatas", "embeddings"])
            except Exception as exc:
                raise wrap_store_error(exc, self._data_dir) from exc
            for rid, meta, emb in zip(got["ids"], got["metadatas"], got["embeddings"]):
                p = _passage(meta, len(qvec))
                p.dense = float(np.dot(np.asarray(emb, dtype=np.float32), qvec))
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
    )


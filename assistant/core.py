"""The ``Assistant``: the one public entry point of the package.

It wires the injected parts (settings, embedder, store, answerer) into the
question-answering flow: validate → resolve follow-ups → hybrid retrieval →
sentence scoring → answer with citations (extractive by default, an LLM when
configured).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from . import followup
from .embedder import Embedder
from .errors import InvalidQuestion
from .extractive import ExtractiveAnswerer, Retrieval, score_sentences
from .retriever import HybridRetriever, ScoredPassage
from .settings import Settings
from .store import Store
from .text import aliases, key_terms
from .types import Answer

if TYPE_CHECKING:
    from ingest import Ingestor, IngestReport


log = logging.getLogger(__name__)

SENTENCE_CACHE_PASSAGES = 20_000  # only passages of pre-0.2 stores; ~5 x 384 floats each, 150 MB at most


def _known(stems: list[str], vocab: set[str]) -> bool:
    """A name is known when it, or one of its aliases ("US" → "United States"), is in the corpus."""
    return all(s in vocab for s in stems) or any(all(s in vocab for s in alt) for alt in aliases(stems))


class Assistant:
    """Cited question answering over the documents in ``knowledge/``.

    Everything heavy can be passed in (``embedder``, ``store``, ``chat_model``)
    so tests and programs share one model or point at their own store.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        embedder: Embedder | None = None,
        store: Store | None = None,
        chat_model: Any | None = None,
        auto_ingest: bool | None = None,
    ) -> None:
        self.settings = settings or Settings()
        self.embedder = embedder or Embedder(
            self.settings.model_path, backend=self.settings.embed_backend, cache_dir=self.settings.data_dir / "models"
        )
        self.store = store or Store.open(self.settings, self.embedder)
        self.retriever = HybridRetriever(
            store=self.store, embedder=self.embedder, k=self.settings.top_k, candidates=self.settings.candidates,
            cache_dir=self.settings.lexical_dir / self.settings.collection,
        )
        self.extractive = ExtractiveAnswerer()
        self.answerer: Any = self.extractive
        if chat_model is not None or self.settings.llm:
            from .generative import GenerativeAnswerer

            self.answerer = GenerativeAnswerer.from_settings(
                self.settings, chat_model=chat_model, fallback=self.extractive, embedder=self.embedder
            )
        self._ingestor: Ingestor | None = None
        self._sentence_cache: dict[str, np.ndarray] = {}
        if self.settings.auto_ingest if auto_ingest is None else auto_ingest:
            self.refresh()

    # -- documents
    @property
    def ingestor(self) -> Ingestor:
        if self._ingestor is None:
            from ingest import Ingestor

            self._ingestor = Ingestor(self.store, self.settings, on_change=self.retriever.invalidate)
        return self._ingestor

    def ingest(self, paths: list[Path] | None = None, *, progress: bool = True) -> IngestReport:
        """Bring the store in step with ``paths`` (default: the knowledge folder)."""
        return self.ingestor.run(paths, progress=progress)

    def refresh(self) -> IngestReport | None:
        """Ingest the knowledge folder if the store is empty or the folder changed since it was ingested.

        Why at start-up: a user who drops a file into ``knowledge/`` (or upgrades to a
        splitter that cuts passages differently) and restarts expects answers from it.
        Unchanged files cost a stat each; changed ones are re-embedded, nothing else is.
        """
        if self.store.count():
            if not Path(self.settings.knowledge_dir).is_dir():
                # an unmounted or renamed folder must not read as "every file deleted"
                log.warning("knowledge folder %s is missing; answering from the store as it is",
                            self.settings.knowledge_dir)
                return None
            if not self.ingestor.knowledge_changed():
                return None
        report = self.ingest(progress=False)
        if report.changed or report.errors:
            log.info("knowledge folder refreshed: %s", report.summary())
        return report

    def source_text(self, path: str) -> str:
        """The text a citation's ``start``/``end`` index into, for ``Citation.path``."""
        return self.ingestor.source_text(path)

    # -- questions
    def validate(self, question: Any) -> str:
        return self.validate_question(question, self.settings.max_question_chars)

    @staticmethod
    def validate_question(question: Any, limit: int = 2000) -> str:
        """The stripped question, or InvalidQuestion saying what is wrong with it."""
        if not isinstance(question, str) or not question.strip():
            raise InvalidQuestion("The question is empty.", "Type a question about the documents.")
        if len(question) > limit:
            raise InvalidQuestion(
                f"The question is {len(question):,} characters long; the limit is {limit:,}.",
                "Shorten it to the question itself.",
            )
        return question.strip()

    def retrieve(self, question: str, history: list[dict] | None = None) -> Retrieval:
        """Resolve follow-ups, find the top passages and score their sentences."""
        question = self.validate(question)
        condense = getattr(self.answerer, "condense", None)  # an LLM rewrites follow-ups when there is one
        standalone = condense(question, history) if condense else followup.resolve(question, history)
        qvec = self.embedder.embed_query_vector(standalone)
        passages = self.retriever.search(standalone, k=self.settings.top_k, query_vector=qvec)
        lex = self.retriever.lexical()
        vectors = self._sentence_vectors(passages)
        sentences = score_sentences(question, standalone, qvec, passages, vectors, lex)
        missing = [phrase for phrase, stems in key_terms(question) if not _known(stems, lex.vocab)]
        return Retrieval(question, standalone, passages, sentences, missing)

    def _sentence_vectors(self, passages: list[ScoredPassage]) -> dict[tuple[str, int], np.ndarray]:
        """Per-sentence vectors of these passages: from their records, else computed once and cached.

        Records written before 0.2 carry no packed vectors. A passage id hashes the
        passage's source and text, so computed vectors never go stale.
        """
        cache = self._sentence_cache
        bare = [p for p in passages if p.sentence_matrix is None and p.id not in cache]
        if bare:
            if len(cache) + len(bare) > SENTENCE_CACHE_PASSAGES:
                cache.clear()
            _, rows = self.embedder.encode_passages(
                [p.text for p in bare], [[(s - p.start, e - p.start) for s, e in p.sentences] for p in bare]
            )
            cache.update({p.id: r for p, r in zip(bare, rows)})
        return {
            (p.id, i): vec
            for p in passages
            for i, vec in enumerate(p.sentence_matrix if p.sentence_matrix is not None else cache.get(p.id, ()))
        }

    def ask(self, question: str, history: list[dict] | None = None) -> Answer:
        """Answer ``question`` (with optional role/content ``history``) citing source passages."""
        t0 = time.perf_counter()
        r = self.retrieve(question, history)
        t1 = time.perf_counter()
        ans = self.answerer.answer(r, history)
        self._finish(ans, r, t0, t1)
        return ans

    def stream(self, question: str, history: list[dict] | None = None) -> Iterator[str | Answer]:
        """Yield the answer text piece by piece as it is produced, then the final ``Answer``."""
        t0 = time.perf_counter()
        r = self.retrieve(question, history)
        t1 = time.perf_counter()
        for item in self.answerer.stream(r, history):
            if isinstance(item, Answer):
                self._finish(item, r, t0, t1)
            yield item

    @staticmethod
    def _finish(ans: Answer, r: Retrieval, t0: float, t1: float) -> None:
        ans.question = r.question
        ans.standalone_question = r.standalone
        ans.timings_ms = {
            "retrieve": round((t1 - t0) * 1000, 2),
            "total": round((time.perf_counter() - t0) * 1000, 2),
        }



__all__ = ["Assistant"]

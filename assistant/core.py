"""The ``Assistant``: the one public entry point of the package.

It wires the injected parts (settings, embedder, store, ranker, answerer) into
the question-answering flow, so that a reader can follow one question here, in
three stages and an answer:

1. *Question* — ``validate`` → resolve follow-ups (``answering.followup`` or the
   LLM's ``condense``) → ``answering.question.analyse``: a frozen ``Question``.
2. *Evidence* — ``index.retriever.HybridRetriever.search`` → passages →
   ``answering.evidence.candidates``: sentences with named features.
3. *Decision* — ``answering.decision.Ranker``: ``rank`` orders the candidates,
   ``decide`` answers with evidence windows or refuses, and says why.

Then the answerer shapes the decision: ``answering.extractive`` quotes it,
``answering.generative`` asks an LLM and verifies every sentence → ``Answer``
with ``Citation`` s (``types``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .answering.decision import READER_WEIGHTS_FILE, Ranker, Weights
from .answering.evidence import candidates
from .answering.extractive import ExtractiveAnswerer
from .answering.followup import message_text
from .answering.question import analyse
from .answering.reader import Reader
from .answering.reader import available as reader_available
from .errors import AssistantError, InvalidQuestion
from .index.embedder import Embedder
from .index.retriever import HybridRetriever
from .index.store import Store
from .settings import Settings
from .text import clean_question
from .tuning import DEFAULT_TUNING, Tuning
from .types import Answer, Answerer, Retrieval

if TYPE_CHECKING:
    from langchain_core.runnables import Runnable

    from ingest import Ingestor, IngestReport


log = logging.getLogger(__name__)


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
        answerer: Answerer | None = None,
        tuning: Tuning = DEFAULT_TUNING,
        ranker: Ranker | None = None,
        auto_ingest: bool | None = None,
    ) -> None:
        self.settings = settings or Settings()
        self.tuning = tuning
        self.embedder = embedder or Embedder(
            self.settings.model_path, backend=self.settings.embed_backend, cache_dir=self.settings.data_dir / "models"
        )
        self.store = store or Store.open(self.settings, self.embedder)
        self.retriever = HybridRetriever(
            store=self.store, embedder=self.embedder, k=self.settings.top_k, candidates=self.settings.candidates,
            cache_dir=self.settings.lexical_dir / self.settings.collection, tuning=tuning,
        )
        # the one component that ranks candidates and decides answer or refuse; both answerers ask it
        self.ranker = ranker or self._ranker(tuning)
        self.extractive = ExtractiveAnswerer(self.ranker, tuning)
        self.answerer: Answerer = answerer or self.extractive
        if answerer is None and (chat_model is not None or self.settings.llm):
            from .answering.generative import GenerativeAnswerer

            self.answerer = GenerativeAnswerer.from_settings(
                self.settings, chat_model=chat_model, fallback=self.extractive, embedder=self.embedder, tuning=tuning
            )
        self._ingestor: Ingestor | None = None
        self.refresh_error: AssistantError | None = None  # why the start-up refresh failed, if it did
        if self.settings.auto_ingest if auto_ingest is None else auto_ingest:
            self.refresh()

    def _ranker(self, tuning: Tuning) -> Ranker:
        """The decision component: with the trained reader when the settings ask for it (``ASSISTANT_READER``,
        on by default) and one is there, with the weights fitted for that reader."""
        folder = self.settings.reader_dir
        if not self.settings.reader:
            return Ranker(tuning=tuning)
        if not reader_available(folder):
            log.warning("No trained reader at %s; ranking by the features alone.", folder or "the package")
            return Ranker(tuning=tuning)
        own = folder / READER_WEIGHTS_FILE if folder else None
        weights = Weights.load(own) if own and own.is_file() else Weights.load(reader=True)
        return Ranker(weights, tuning=tuning, reader=Reader(folder))

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
        """Bring the store in step with the knowledge folder, when it is not (``Ingestor.pending``).

        Why at start-up: a user who drops a file into ``knowledge/`` (or upgrades to a
        splitter that cuts passages differently) and restarts expects answers from it;
        a store that lost passages is re-filled, an interrupted ingest is finished.
        Unchanged files cost a stat each; changed ones are re-embedded, nothing else is.
        A refresh that fails (a full disk, another process indexing, damaged records)
        does not stop the app: it answers from the store as it is, with a warning,
        unless the store is empty and there is nothing to answer from.
        """
        try:
            return self._refresh()
        except AssistantError as exc:
            try:
                count = self.store.count()
            except AssistantError:
                count = 0
            if not count:
                raise
            log.warning("Could not bring the store up to date: %s Answering from the %s passages it holds.",
                        exc, f"{count:,}")
            self.refresh_error = exc
            return None

    def _refresh(self) -> IngestReport | None:
        if self.store.count() and self.store.outdated():
            log.warning("the store was written by an older version; re-indexing the knowledge folder")
            self.ingestor.clear()
        roots = self.ingestor.pending()
        if roots is None:
            return None
        if self.ingestor.interrupted():  # minutes, not a stat per file: shown with a bar and in ``status``
            from ingest import RESUME_LABEL

            report = self.ingestor.run(roots, progress=True, label=RESUME_LABEL)
        else:
            report = self.ingest(roots, progress=False)
        if report.changed or report.errors:
            log.info("knowledge folder refreshed: %s", report.summary())
        return report

    @property
    def status(self) -> str:
        """What an ingest in this process is doing now, for a page to show ("Finishing an interrupted ingest:
        40 %"); "" when none runs."""
        return self._ingestor.status if self._ingestor is not None else ""

    def resume_pending(self) -> bool:
        """Would a refresh finish an interrupted ingest, with passages to answer from meanwhile?

        ``serve`` then starts the page first and finishes the ingest behind it, showing ``status``.
        """
        from ingest import failed_resume

        try:
            return (self.ingestor.interrupted() and failed_resume(self.settings) is None
                    and self.store.count() > 0)
        except AssistantError:
            return False

    def source_text(self, path: str) -> str:
        """The text a citation's ``start``/``end`` index into, for ``Citation.path``."""
        return self.ingestor.source_text(path)

    # -- questions
    def validate(self, question: Any) -> str:
        return self.validate_question(question, self.settings.max_question_chars)

    @staticmethod
    def validate_question(question: Any, limit: int) -> str:
        """The stripped question, or InvalidQuestion saying what is wrong with it."""
        if not isinstance(question, str) or not question.strip():
            raise InvalidQuestion("The question is empty.", "Type a question about the documents.")
        try:
            question.encode("utf-8")
        except UnicodeEncodeError as exc:  # a lone surrogate (e.g. "\ud800"): not text any encoder accepts
            raise InvalidQuestion(
                f"The question contains invalid text (an unpaired surrogate at character {exc.start + 1:,}).",
                "Re-type the question, or paste it as plain text.",
            ) from exc
        if len(question) > limit:
            raise InvalidQuestion(
                f"The question is {len(question):,} characters long; the limit is {limit:,}.",
                "Shorten it to the question itself.",
            )
        return question.strip()

    def history(self, history: Any) -> list[dict]:
        """``history`` checked and cut to this assistant's budget (``validate_history``)."""
        return self.validate_history(history, self.settings.history_chars, self.settings.history_messages)

    @staticmethod
    def validate_history(history: Any, chars: int, messages: int) -> list[dict]:
        """The role/content messages a question may use: valid text, at most ``messages`` of them and
        ``chars`` characters together, older turns dropped first; else InvalidQuestion saying what is wrong.

        Why: the history reaches follow-up resolution and every feature of every candidate (its
        words join the standalone question), so its size, not the 2,000-character question, would
        decide a request's cost; and text no encoder accepts (a lone surrogate) would fail deep in
        the tokenizer instead of being named here. A turn is a user message with the replies after
        it; it is kept whole or dropped whole. A latest turn longer than ``chars`` on its own is
        refused rather than cut, since cutting it would answer a follow-up about text the user
        never sees dropped.
        """
        if history is None:
            return []
        if not isinstance(history, list):
            raise InvalidQuestion('The history must be a list of {"role", "content"} messages.',
                                  "Pass [] or leave it out for a new conversation.")
        sizes: list[int] = []
        for i, m in enumerate(history, 1):
            if not isinstance(m, dict) or not isinstance(m.get("role", ""), str):
                raise InvalidQuestion(f'Message {i:,} of the history is not a {{"role", "content"}} message.',
                                      "Pass [] or leave it out for a new conversation.")
            text = message_text(m)
            for part, what in ((m.get("role", ""), "role"), (text, "content")):
                try:
                    part.encode("utf-8")
                except UnicodeEncodeError as exc:
                    raise InvalidQuestion(
                        f"Message {i:,} of the history contains invalid text in its {what} "
                        f"(an unpaired surrogate at character {exc.start + 1:,}).",
                        "Send the conversation as plain text, or start a new one.",
                    ) from exc
            sizes.append(len(text))
        first = max(0, len(history) - messages)
        starts = [i for i in range(first, len(history)) if i == first or history[i].get("role") == "user"]
        kept, total = len(history), 0
        for start in reversed(starts):
            size = sum(sizes[start:kept])
            if total + size > chars:
                break
            total += size
            kept = start
        if kept == len(history) and history[first:]:
            turn = sum(sizes[starts[-1]:])
            raise InvalidQuestion(
                f"The history's latest turn is {turn:,} characters long; the limit for the whole history "
                f"is {chars:,}.",
                "Start a new conversation, or send only the last question and its answer, shortened.",
            )
        if kept:
            log.debug("history: %d of %d messages dropped to fit %d characters", kept, len(history), chars)
        return history[kept:]

    def retrieve(self, question: str, history: list[dict] | None = None,
                 sources: Iterable[str] | None = None) -> Retrieval:
        """The three stages before an answer: the question analysed, its evidence found, the evidence ranked.

        1. *Question*: validated, follow-ups resolved (``Answerer.condense``) and analysed once
           against the corpus (``answering.question.analyse``).
        2. *Evidence*: passages by hybrid search (``index.retriever``), their sentences as
           candidates with named features (``answering.evidence.candidates``).
        3. *Ranking*: the decision component orders them (``answering.decision.Ranker.rank``);
           the answerer then asks it to decide (``Ranker.decide``).

        ``sources`` limits the evidence to the named documents (file names, paths or titles,
        ``index.scope``); an unknown name raises ``UnknownDocument`` with the closest matches.
        """
        text = clean_question(self.validate(question)) or question
        history = self.history(history)
        within = self.retriever.scope(sources)
        standalone = self.answerer.condense(text, history)
        q = analyse(text, standalone, self.retriever.lexical())
        qvec = self.embedder.embed_query_vector(standalone)
        passages = self.retriever.search(standalone, k=self.settings.top_k, query_vector=qvec, sources=within)
        # a follow-up's own words say what is asked now; the earlier turns only say about what
        own = self.embedder.embed_query_vector(text) if standalone != text else qvec
        found = self.ranker.rank(q, candidates(q, passages, qvec, own_vector=own))
        return Retrieval(q, passages, found)

    def ask(self, question: str, history: list[dict] | None = None, sources: Iterable[str] | None = None) -> Answer:
        """Answer ``question`` (with optional role/content ``history``) citing source passages.

        ``sources``: answer only from these documents (as the Documents tab names them); None: all.
        """
        t0 = time.perf_counter()
        self.validate(question)  # the question's own problem is named before the history's
        history = self.history(history)
        r = self.retrieve(question, history, sources)
        t1 = time.perf_counter()
        ans = self.answerer.answer(r, history)
        self._finish(ans, r, t0, t1)
        return ans

    def stream(self, question: str, history: list[dict] | None = None,
               sources: Iterable[str] | None = None) -> Iterator[str | Answer]:
        """Yield the answer text piece by piece as it is produced, then the final ``Answer`` (``sources``: as ``ask``)."""
        t0 = time.perf_counter()
        self.validate(question)
        history = self.history(history)
        r = self.retrieve(question, history, sources)
        t1 = time.perf_counter()
        for item in self.answerer.stream(r, history):
            if isinstance(item, Answer):
                self._finish(item, r, t0, t1)
            yield item

    @staticmethod
    def _finish(ans: Answer, r: Retrieval, t0: float, t1: float) -> None:
        ans.question = r.text
        ans.standalone_question = r.standalone
        ans.timings_ms = {
            "retrieve": round((t1 - t0) * 1000, 2),
            "total": round((time.perf_counter() - t0) * 1000, 2),
        }

    # -- LangChain
    def as_runnable(self) -> Runnable[dict[str, Any], dict[str, Any]]:
        """This assistant as a LangChain ``Runnable``: ``{"question", "history"}`` in, the ``Answer`` dict out.

        It streams (text pieces, then the final answer dict), batches, has async forms
        and reports to callbacks, so it composes in LCEL pipelines and LangServe-style servers.
        """
        from .runnable import AssistantRunnable

        return AssistantRunnable(assistant=self)


__all__ = ["Assistant"]

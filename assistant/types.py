"""The types one question passes through, in the order it meets them.

``Retrieval`` (the analysed ``Question``, the ``ScoredPassage`` s found and their
sentences as ``Candidate`` s) goes into an ``Answerer``, which returns an
``Answer`` with ``Citation`` s. They
live here, apart from the modules that make them, so a reader finds the whole
contract in one file, and so that pure text modules (verification, evidence) do
not import the store to name a passage.

Plain dataclasses (not pydantic): cheap to build per query and easy to turn
into JSON for the CLI, the web API and the eval runner.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from .answering.question import Question

# -- retrieval


@dataclass
class ScoredPassage:
    """A stored passage with the scores retrieval gave it for one question."""

    id: str
    text: str
    source: str  # path of the source, relative to the knowledge folder when inside it
    title: str
    start: int  # offsets of the passage in the source text
    end: int
    sentences: list[tuple[int, int]]  # absolute offsets of each sentence
    score: float = 0.0  # fused rank score
    dense: float = 0.0  # cosine similarity to the query
    bm25: float = 0.0
    sentence_matrix: np.ndarray | None = None  # one unit vector per sentence
    date: str = ""  # the document's date (sidecar or front matter), as written there
    section: str = ""  # the heading the passage sits under, if any
    ordinal: int = 0  # position of the passage in its document (0-based)
    skip: frozenset[int] = frozenset()  # sentence indices that are headings or bylines: never an answer
    years: frozenset[str] = frozenset()  # every year the passage's document mentions
    pages: tuple[tuple[int, int], ...] = ()  # PDF: (absolute offset, page number) from the passage's start

    def page_at(self, offset: int) -> int | None:
        """The page (1-based) the text at absolute ``offset`` is on; None for documents without pages."""
        page = None
        for start, number in self.pages:
            if start > offset:
                break
            page = number
        return page

    def to_document(self) -> Any:
        """The passage as a LangChain ``Document`` (what ``HybridRetriever.invoke`` returns)."""
        from langchain_core.documents import Document

        return Document(
            page_content=self.text,
            id=self.id,
            metadata={
                "passage_id": self.id, "source": self.source, "title": self.title, "start": self.start,
                "end": self.end, "score": self.score, "dense": self.dense, "bm25": self.bm25,
            },
        )


@dataclass
class Candidate:
    """One body sentence of a retrieved passage, as a possible answer (``answering.evidence``).

    ``features`` are keyed by the names in ``answering.evidence.FEATURES``; the
    decision component (``answering.decision.Ranker``) turns them into ``logit``
    and ``score`` (its softmax share among the question's candidates).
    """

    passage: ScoredPassage
    start: int  # absolute offsets in the source text
    end: int
    text: str
    index: int = 0  # position of the sentence in its passage
    features: dict[str, float] = field(default_factory=dict)
    logit: float = 0.0  # the ranker's raw output
    score: float = 0.0  # its share of the question's probability mass among all candidates

    @property
    def dense(self) -> float:
        """Cosine of the sentence to the standalone question."""
        return self.features.get("dense", 0.0)

    @property
    def lexical(self) -> float:
        """Idf-weighted share of the question's content words the sentence holds."""
        return self.features.get("lexical", 0.0)

    @property
    def key(self) -> tuple[str, int]:
        """Where it sits: (passage id, sentence index)."""
        return (self.passage.id, self.index)


@dataclass
class Retrieval:
    """What retrieval found for one question; every answerer starts here."""

    question: Question  # analysed once (``answering.question.analyse``)
    passages: list[ScoredPassage]
    candidates: list[Candidate] = field(default_factory=list)  # best first

    @property
    def text(self) -> str:
        """The question as asked."""
        return self.question.text

    @property
    def standalone(self) -> str:
        """The question with follow-ups resolved from the conversation."""
        return self.question.standalone


# -- answers

# Bounds on what one citation carries, so no answer or API reply grows with a source's
# longest line: the splitter already caps sentences and passages under these (900
# characters), and a store written before that cap is bounded here.
MAX_QUOTE_CHARS = 1000
MAX_CONTEXT_CHARS = 2000


@dataclass(frozen=True)
class Citation:
    """One quoted span of a source that backs a claim marked ``[n]`` in the answer.

    ``quote == source_text[start:end]`` always holds, where ``source_text`` is the
    source's text as ingested (``Assistant.source_text(path)``).
    """

    n: int  # the marker number in the answer text: [n]
    source: str  # the source's title
    path: str  # the source's path, relative to the knowledge folder when inside it
    passage_id: str  # stable id of the passage the quote sits in
    quote: str  # the cited sentence(s), verbatim
    start: int  # character offset of the quote in the source text
    end: int  # character offset just past the quote
    score: float  # relevance of the quote to the question (higher is better)
    passage: str = ""  # the whole passage, for showing the quote in context
    passage_start: int = 0  # character offset of the passage in the source text
    passage_end: int = 0
    supported: bool = True  # False when a generated claim was not backed by this quote
    date: str = ""  # the document's date, as its sidecar or front matter gives it
    section: str = ""  # the heading the quote sits under
    paragraph: int = 0  # 1-based number of the passage in its document
    page: int | None = None  # the PDF page (1-based) the quote starts on; None for other formats

    @classmethod
    def of(cls, n: int, passage: ScoredPassage, start: int, end: int, score: float,
           supported: bool = True) -> Citation:
        """The citation of ``passage``'s text between absolute offsets ``start`` and ``end``.

        The quote is cut from the passage itself, so it is verbatim at its offsets by construction;
        quote and context are cut to ``MAX_QUOTE_CHARS`` / ``MAX_CONTEXT_CHARS`` around it.
        """
        end = min(end, start + MAX_QUOTE_CHARS)
        quote = passage.text[start - passage.start : end - passage.start]
        ctx_start, ctx_end = passage.start, passage.end
        if ctx_end - ctx_start > MAX_CONTEXT_CHARS:
            room = max(0, MAX_CONTEXT_CHARS - (end - start)) // 2
            ctx_start, ctx_end = max(passage.start, start - room), min(passage.end, end + room)
        return cls(
            n=n, source=passage.title, path=passage.source, passage_id=passage.id, quote=quote, start=start,
            end=end, score=round(float(score), 4), passage=passage.text[ctx_start - passage.start : ctx_end - passage.start],
            passage_start=ctx_start, passage_end=ctx_end, supported=supported, date=passage.date,
            section=passage.section, paragraph=passage.ordinal + 1, page=passage.page_at(start),
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# The fixed refusal. The web chat, follow-up resolution and the LLM prompt all recognise
# it, so it is written once here; REFUSAL_CUES also catches a model's rewording of it.
REFUSAL = "The sources don't cover this question; I found no passage that answers it."
REFUSAL_CUES = re.compile(
    r"sources (?:don'?t|do not|does not|doesn'?t) (?:cover|answer)|no passage (?:that )?answers", re.I
)


def is_refusal(text: str) -> bool:
    """True for the assistant's refusal sentences (and an LLM's paraphrase of them)."""
    return bool(REFUSAL_CUES.search(text or ""))


@dataclass
class Answer:
    """A reply with its citations. ``answered`` is False when the sources do not answer."""

    text: str
    answered: bool
    citations: list[Citation] = field(default_factory=list)
    question: str = ""  # the question as asked
    standalone_question: str = ""  # the question after resolving follow-ups from history
    mode: str = "extractive"  # extractive | generative | fallback
    notice: str = ""  # e.g. why a generative answer fell back to the extractive one
    reason: str = ""  # the decision's step that answered or refused (``answering.decision.STEPS``)
    unsupported: list[str] = field(default_factory=list)  # generated sentences no passage backs
    timings_ms: dict[str, float] = field(default_factory=dict)

    @classmethod
    def refusal(cls, question: str, missing: list[str] | None = None, hint: str = "", **kwargs: Any) -> Answer:
        """The refusal, naming up to three of the question's terms that no source mentions; ``hint``
        (one sentence) says what to ask instead."""
        if missing:
            what = ", ".join(f"“{m}”" for m in missing[:3])
            text = f"The sources don't cover {what}, so I can't answer that from them."
        else:
            text = REFUSAL
        if hint:
            text = f"{text} {hint}"
        return cls(text=text, answered=False, citations=[], question=question, **kwargs)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["citations"] = [c.to_dict() for c in self.citations]
        return data


@runtime_checkable
class Answerer(Protocol):
    """What turns a ``Retrieval`` into an ``Answer``: the extractive default or an LLM.

    ``stream`` yields text pieces as they are produced and the final ``Answer``
    last (a UI shows the pieces, then replaces them with ``Answer.text``).
    ``condense`` turns a follow-up into a standalone question before retrieval:
    the extractive answerer uses word rules (``followup.resolve``), an LLM
    answerer may ask its model.
    """

    mode: str

    def condense(self, question: str, history: list[dict] | None) -> str: ...

    def answer(self, r: Retrieval, history: list[dict] | None = None) -> Answer: ...

    def stream(self, r: Retrieval, history: list[dict] | None = None) -> Iterator[str | Answer]: ...

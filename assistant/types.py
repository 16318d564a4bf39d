"""The public answer types: what ``Assistant.ask`` returns.

Plain dataclasses (not pydantic) so they are cheap to build per query and easy
to turn into JSON for the CLI, the web API and the eval runner.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


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
    unsupported: list[str] = field(default_factory=list)  # generated sentences no passage backs
    timings_ms: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["citations"] = [c.to_dict() for c in self.citations]
        return data

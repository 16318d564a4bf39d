"""The default answerer: quote the source sentences that best answer, verbatim, with their citations.

It needs no LLM and cannot invent a fact: every claim is a verbatim quote. What
to quote, and whether to refuse, is the decision component's (``decision.Ranker``);
this module only turns a ``Decision`` into text: for "how much / how many /
when / who" questions the asked-for span comes first ("About 2,000 — Japan has
also taken in about 2,000 Ukrainians. [1]"); "which document" questions name
the document; documents that disagree are told apart by their dates. What is
shown is tidied (markdown marks and a leading "In addition," dropped), while
each citation's ``quote`` stays the verbatim text at its offsets.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from .. import lexicon as lx
from ..text import stream_words, words
from ..tuning import DEFAULT_TUNING, Tuning
from ..types import Answer, Citation, Retrieval
from . import followup
from .decision import Decision, Ranker
from .spans import asked_span

# what to do instead, after the refusal of a decision step whose cause is the question rather than the sources
REFUSAL_HINTS = {"no_words": "Ask the question in words: a figure alone does not say what you want to know."}
_MARKUP = re.compile(r"\*\*|__|(?<!\w)[*_](?=\w)|(?<=\w)[*_](?!\w)|`")
_LINE_LEAD = re.compile(r"^\s*(?:[-*+•·▪◦‣>]|#{1,6}|\d{1,2}[.)])\s+", re.M)


def tidy(quote: str) -> str:
    """A quote as shown in an answer: markdown marks and a leading linking word dropped, first letter capital."""
    text = _LINE_LEAD.sub("", quote)
    text = _MARKUP.sub("", text)
    text = " ".join(text.split())
    text = lx.LEADING_CONNECTIVE.sub("", text)
    return text[:1].upper() + text[1:] if text else text


class ExtractiveAnswerer:
    """Answers by quoting the windows the decision chose, verbatim."""

    mode = "extractive"

    def __init__(self, ranker: Ranker | None = None, tuning: Tuning = DEFAULT_TUNING) -> None:
        self.ranker = ranker or Ranker(tuning=tuning)

    def condense(self, question: str, history: list[dict] | None) -> str:
        return followup.resolve(question, history)

    def answer(self, r: Retrieval, history: list[dict] | None = None) -> Answer:
        return self.shape(r, self.ranker.decide(r))

    def shape(self, r: Retrieval, d: Decision) -> Answer:
        """The decision as an answer: its windows quoted and cited, or the refusal."""
        q = r.question
        if d.refused:
            missing = list(q.unknown_terms) if d.reason == "unknown_term" else None
            return Answer.refusal(q.text, missing, REFUSAL_HINTS.get(d.reason, ""), reason=d.reason)
        pieces = d.windows
        citations = [Citation.of(i + 1, w.first.passage, w.start, w.end, w.score) for i, w in enumerate(pieces)]
        # documents that disagree are told apart by their dates ("… $7.1 billion [1] (2023-03-24) … $7.6 billion [2] (2024-03-04)")
        dated = len({c.path for c in citations}) > 1 and len({c.date for c in citations}) > 1 and all(c.date for c in citations)
        parts = [f"{tidy(c.quote)} [{c.n}]" + (f" ({c.date})" if dated else "") for c in citations]
        text = " ".join(parts)
        if q.which_document:
            c = citations[0]
            text = f"“{c.source}”" + (f" ({c.date})" if c.date else "") + f" — {text}"
        else:
            span = next((s for w in pieces if (s := asked_span(q.asked, w.text))), "")
            shown = tidy(citations[0].quote)
            if (span and len(words(span)) <= 8 and (q.kind != "name" or len(span.split()) >= 2)
                    and span.lower() not in " ".join(shown.split()[:10]).lower()):  # no echo of the quote's opening
                text = f"{span[:1].upper() + span[1:]} — {text}"
        return Answer(text=text, answered=True, citations=citations, question=q.text, standalone_question=q.standalone,
                      reason=d.reason)

    def stream(self, r: Retrieval, history: list[dict] | None = None) -> Iterator[str | Answer]:
        """Yield the answer text in word-sized pieces, then the Answer (for a uniform UI)."""
        ans = self.answer(r, history)
        yield from stream_words(ans.text)
        yield ans

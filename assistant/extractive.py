"""The default answerer: quote the one or two source sentences that best answer.

It needs no LLM and cannot invent anything: every word of an answer is a
verbatim quote. The answer is refused, not guessed, when the question names
something (a country, a year) that no source mentions, when even the best
sentence scores too low (``Tuning.min_score``), or when a "how many"/"when"
question's best sentences hold no figure or date.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from . import followup
from .scoring import ANAPHORIC_START, answer_type
from .text import stream_words, terms, words
from .tuning import DEFAULT_TUNING, Tuning
from .types import Answer, Citation, Retrieval, ScoredSentence

_QUESTION_NUMBER = re.compile(r"\d[\d,.]*\d|\d")


def _citation(n: int, s: ScoredSentence) -> Citation:
    return Citation.of(n, s.passage, s.start, s.end, s.score)


class ExtractiveAnswerer:
    """Answers by quoting source sentences verbatim."""

    mode = "extractive"

    def __init__(self, tuning: Tuning = DEFAULT_TUNING) -> None:
        self.tuning = tuning

    def condense(self, question: str, history: list[dict] | None) -> str:
        return followup.resolve(question, history)

    def answerable(self, r: Retrieval) -> bool:
        """Does retrieval hold a sentence good enough to answer? (The LLM answerer's gate too.)"""
        if r.missing_terms or not r.sentences or not r.passages:
            return False
        best_dense = max(p.dense for p in r.passages)
        return r.sentences[0].score >= self.tuning.min_score and best_dense >= self.tuning.min_dense

    def answer(self, r: Retrieval, history: list[dict] | None = None) -> Answer:
        if not self.answerable(r):
            return Answer.refusal(r.question, r.missing_terms)
        chosen = self.select(r)
        kind = answer_type(r.question)
        if kind in ("number", "money", "date") and not any(s.type_match for s in chosen):
            # "how many"/"how much money"/"when" cannot be answered by a sentence without
            # a quantity, an amount of money or a date
            return Answer.refusal(r.question)
        context = " ".join(s.passage.text for s in chosen)
        unmatched = [n for n in _QUESTION_NUMBER.findall(r.question) if n not in context]
        if unmatched:
            # a year or figure the question is about must be where the answer is ("a 2014 poll")
            return Answer.refusal(r.question, unmatched)
        citations = [_citation(i + 1, s) for i, s in enumerate(chosen)]
        text = " ".join(f"{c.quote} [{c.n}]" for c in citations)
        return Answer(text=text, answered=True, citations=citations, question=r.question, standalone_question=r.standalone)

    def select(self, r: Retrieval) -> list[ScoredSentence]:
        """The best sentence, plus one more when it completes the answer and fits the word budget.

        The extra sentence is, in order of preference: the sentence before the best
        one when the best opens with a pronoun ("It is designed to…"); the sentence
        after it when that one continues the thought or the question asks why; or
        another high-scoring sentence that covers question words the first lacks.
        """
        t = self.tuning
        best = r.sentences[0]
        by_pos = {(x.passage.id, x.index): x for x in r.sentences}
        budget = t.max_answer_words - len(words(best.text))
        prev = by_pos.get((best.passage.id, best.index - 1))
        nxt = by_pos.get((best.passage.id, best.index + 1))
        reason = answer_type(r.question) == "reason"
        if prev is not None and ANAPHORIC_START.match(best.text) and len(words(prev.text)) <= budget:
            return [prev, best]
        if nxt is not None and (reason or ANAPHORIC_START.match(nxt.text)) and len(words(nxt.text)) <= budget \
                and nxt.score >= t.next_ratio * best.score:
            return [best, nxt]
        covered = set(terms(best.text))
        # a figure, date or name already answers a factoid question (type_match); another
        # document's figure next to it is a rival answer, not a completion
        settled = best.type_match
        for cand in r.sentences[1:4]:
            if cand.score < t.second_ratio * best.score:
                break
            if settled and cand.passage.source != best.passage.source:
                continue
            new_terms = set(terms(r.standalone)) & (set(terms(cand.text)) - covered)
            if len(words(cand.text)) <= budget and new_terms:
                pair = [best, cand]
                if cand.passage.id == best.passage.id and cand.index < best.index:
                    pair.reverse()  # keep source order within a passage: reads naturally
                return pair
        return [best]

    def stream(self, r: Retrieval, history: list[dict] | None = None) -> Iterator[str | Answer]:
        """Yield the answer text in word-sized pieces, then the Answer (for a uniform UI)."""
        ans = self.answer(r, history)
        yield from stream_words(ans.text)
        yield ans

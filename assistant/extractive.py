"""The default answerer: quote the source sentences that best answer, verbatim, with their citations.

It needs no LLM and cannot invent a fact: every claim is a verbatim quote. The
answer is refused, not guessed, when the question names something (a country,
a year) that no source mentions, when the ranker's best candidate is not
likely enough to answer (``Tuning.min_prob``), or when a "how many"/"when"
question's evidence holds no figure or date.

An answer is built from *windows*: the best sentence with the neighbours it
needs (the sentence it refers back to, the one holding the figure it mentions,
the list its colon introduces), cited as one contiguous span. For "how much /
how many / when / who" questions the asked-for span comes first ("About 2,000
— Japan has also taken in about 2,000 Ukrainians. [1]"); "which document"
questions name the document. What is shown is tidied (markdown marks and a
leading "In addition," dropped), while each citation's ``quote`` stays the
verbatim text at its offsets.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace

from . import followup
from .scoring import (
    ANAPHORIC_START,
    ATTRIBUTED,
    FEATURES,
    answer_type,
    asked_span,
    figure_match,
    gate_features,
    sigmoid,
    type_match,
)
from .text import stream_words, terms, words
from .tuning import DEFAULT_TUNING, Tuning
from .types import Answer, Citation, Retrieval, ScoredSentence

# a question that asks what someone claims: then the claim is the answer
ASKS_CLAIM = re.compile(r"\baccording to\b|\b(say|says|said|claim\w*|argue\w*|accus\w*|blam\w*|believ\w*|"
                        r"allege\w*|insist\w*|assert\w*)\b", re.I)
# a question whose answer is several items: the list around the best sentence is shown, as far as it fits
LIST_QUESTION = re.compile(
    r"\bwhat (kinds?|types?|sorts?|forms?) of\b|\bwhich (measures|steps|items|goods|products|sectors|areas|fields|"
    r"categories|countries|companies|banks|organi[sz]ations)\b|\blist\b|\bwhat (measures|steps|goods|items|"
    r"equipment|sanctions|support|help|aid|assistance|categories|conditions|commitments)\b|\bwhat else\b",
    re.I,
)
_DOCUMENT_NOUN = (r"(?:doc|document|article|report|source|brief|briefing|story|piece|paper|text|file|analysis|explainer|"
                  r"release|press release|feature|wire|publication|outlet|transcript|digest|pdf|page)s?")
WHICH_DOCUMENT = re.compile(
    rf"\b(which|what) {_DOCUMENT_NOUN}\b|\bin which {_DOCUMENT_NOUN}\b|"
    r"\bwhere (can|could|do|would|should) (i|we|you) (read|find|see)\b",
    re.I,
)
# connectives that only link the sentence to the one before: dropped from the front of what is shown
_LEADING_CONNECTIVE = re.compile(
    r"^(in addition|additionally|also|for one|moreover|furthermore|besides|separately|meanwhile|on top of that|"
    r"at the same time|what is more|and|but|so|yet|however|still)\s*,?\s+(?=\S)",
    re.I,
)
_MARKUP = re.compile(r"\*\*|__|(?<!\w)[*_](?=\w)|(?<=\w)[*_](?!\w)|`")
_LINE_LEAD = re.compile(r"^\s*(?:[-*+•·▪◦‣>]|#{1,6}|\d{1,2}[.)])\s+", re.M)
@dataclass
class Evidence:
    """A contiguous run of sentences of one passage, cited as one span."""

    sentences: list[ScoredSentence]  # in source order

    @property
    def first(self) -> ScoredSentence:
        return self.sentences[0]

    @property
    def text(self) -> str:
        p = self.first.passage
        return p.text[self.start - p.start : self.end - p.start]

    @property
    def start(self) -> int:
        return self.sentences[0].start

    @property
    def end(self) -> int:
        return self.sentences[-1].end

    @property
    def score(self) -> float:
        return max(s.score for s in self.sentences)

    def words(self) -> int:
        return len(words(self.text))


def tidy(quote: str) -> str:
    """A quote as shown in an answer: markdown marks and a leading linking word dropped, first letter capital."""
    text = _LINE_LEAD.sub("", quote)
    text = _MARKUP.sub("", text)
    text = " ".join(text.split())
    text = _LEADING_CONNECTIVE.sub("", text)
    return text[:1].upper() + text[1:] if text else text


def _conflicts(s: ScoredSentence) -> bool:
    return s.features is not None and s.features[FEATURES.index("conflict")] > 0


def _names_all(s: ScoredSentence) -> bool:
    """Does the sentence's window hold every name and figure of the question (``key_window`` feature)?"""
    return s.features is not None and s.features[FEATURES.index("key_window")] >= 1.0


class ExtractiveAnswerer:
    """Answers by quoting source sentences verbatim."""

    mode = "extractive"

    def __init__(self, tuning: Tuning = DEFAULT_TUNING) -> None:
        self.tuning = tuning

    def condense(self, question: str, history: list[dict] | None) -> str:
        return followup.resolve(question, history)

    def answerable_prob(self, r: Retrieval) -> float:
        """The gate's probability that the sources answer the question (0 when a name or figure is unknown)."""
        if r.missing_terms or not r.sentences or not r.passages:
            return 0.0
        t = self.tuning
        top = r.sentences[0]
        if max(s.dense for s in r.sentences) < t.min_dense or top.features[FEATURES.index("lexical_window")] < t.min_lexical:
            return 0.0
        return sigmoid(float(gate_features(r.question, r.sentences) @ t.gate))

    def answerable(self, r: Retrieval) -> bool:
        """Does retrieval hold a candidate likely enough to answer? (The LLM answerer's gate too.)"""
        return self.answerable_prob(r) >= self.tuning.min_prob

    def answer(self, r: Retrieval, history: list[dict] | None = None) -> Answer:
        if not self.answerable(r):
            return Answer.refusal(r.question, r.missing_terms)
        if _conflicts(r.sentences[0]):
            # the best evidence states another year, month or ordinal than the question: another event.
            # A close candidate without that conflict may still answer; otherwise refuse.
            best = r.sentences[0]
            alt = next((s for s in r.sentences[1:] if not _conflicts(s)
                        and s.logit >= best.logit - self.tuning.second_margin), None)
            if alt is None:
                return Answer.refusal(r.question)
            r = replace(r, sentences=[alt, *(s for s in r.sentences if s is not alt)])
        kind = answer_type(r.question)
        pieces = self.select(r)
        if (kind in ("number", "money", "date") and not WHICH_DOCUMENT.search(r.question)
                and not any(figure_match(kind, r.standalone, e.text) for e in pieces)):
            # "how many"/"how much money"/"when"/"what share" cannot be answered without a figure
            # (a percentage, a duration…) or a date the question does not already state; "which document
            # says how long…" asks for a document, not a figure
            return Answer.refusal(r.question)
        citations = [Citation.of(i + 1, e.first.passage, e.start, e.end, e.score) for i, e in enumerate(pieces)]
        # documents that disagree are told apart by their dates ("… $7.1 billion [1] (2023-03-24) … $7.6 billion [2] (2024-03-04)")
        dated = len({c.path for c in citations}) > 1 and len({c.date for c in citations}) > 1 and all(c.date for c in citations)
        parts = [f"{tidy(c.quote)} [{c.n}]" + (f" ({c.date})" if dated else "") for c in citations]
        text = " ".join(parts)
        if WHICH_DOCUMENT.search(r.question):
            c = citations[0]
            text = f"“{c.source}”" + (f" ({c.date})" if c.date else "") + f" — {text}"
        else:
            span = next((s for e in pieces if (s := asked_span(kind, r.standalone, e.text))), "")
            shown = tidy(citations[0].quote)
            if (span and len(words(span)) <= 8 and (kind != "name" or len(span.split()) >= 2)
                    and span.lower() not in " ".join(shown.split()[:10]).lower()):  # no echo of the quote's opening
                text = f"{span[:1].upper() + span[1:]} — {text}"
        return Answer(text=text, answered=True, citations=citations, question=r.question,
                      standalone_question=r.standalone)

    # -- choosing the evidence
    def window(self, r: Retrieval, best: ScoredSentence) -> Evidence:
        """The best sentence with the neighbours it needs to be understood and to answer."""
        t = self.tuning
        kind = answer_type(r.question)
        by_pos = {(x.passage.id, x.index): x for x in r.sentences}
        prev = by_pos.get((best.passage.id, best.index - 1))
        nxt = by_pos.get((best.passage.id, best.index + 1))
        chosen = [best]
        budget = t.max_answer_words - len(words(best.text))
        needs_type = kind in ("number", "money", "date", "name") and not type_match(kind, best.text)
        if prev is not None and len(words(prev.text)) <= budget and (
            ANAPHORIC_START.match(best.text) or (needs_type and type_match(kind, prev.text))
        ):
            chosen.insert(0, prev)
            budget -= len(words(prev.text))
            needs_type = False
        if nxt is not None and len(words(nxt.text)) <= budget and (
            (needs_type and type_match(kind, nxt.text))
            or best.text.rstrip().endswith(":")
            or ((kind == "reason" or ANAPHORIC_START.match(nxt.text)) and nxt.logit >= best.logit - t.next_margin)
        ):
            chosen.append(nxt)
            budget -= len(words(nxt.text))
            # a colon introduces a list: take its items while they fit
            if best.text.rstrip().endswith(":"):
                j = nxt.index + 1
                while (item := by_pos.get((best.passage.id, j))) is not None and len(words(item.text)) <= budget:
                    chosen.append(item)
                    budget -= len(words(item.text))
                    j += 1
        if LIST_QUESTION.search(r.question):
            # the items of a list sit in the lines after the best one (bullets, a run of short sentences)
            j = chosen[-1].index + 1
            while (item := by_pos.get((best.passage.id, j))) is not None and len(words(item.text)) <= budget:
                chosen.append(item)
                budget -= len(words(item.text))
                j += 1
        return Evidence(chosen)

    def select(self, r: Retrieval) -> list[Evidence]:
        """The best window, plus a second piece of evidence when it adds to the answer and fits the budget.

        The second one must score close to the best (``Tuning.second_margin``) and either
        cover question words the first lacks, or, from another document, give its own
        figure for a how-much/how-many question (sources that disagree are both shown).
        """
        t = self.tuning
        first = self.window(r, r.sentences[0])
        if answer_type(r.question) == "reason" and not ASKS_CLAIM.search(r.question):
            first = self._own_reason(r, first)
        out = [first]
        if WHICH_DOCUMENT.search(r.question):
            return out  # the answer is the document: one quote shows where it says so
        used = {(s.passage.id, s.index) for s in first.sentences}
        budget = t.max_answer_words - first.words()
        covered = set(terms(first.text))
        kind = answer_type(r.question)
        settled = bool(asked_span(kind, r.standalone, first.text))  # the first already holds the asked-for figure
        for cand in r.sentences[1:5]:
            if cand.logit < r.sentences[0].logit - t.second_margin:
                break
            if (cand.passage.id, cand.index) in used:
                continue
            ev = self.window(r, cand)
            if any((s.passage.id, s.index) in used for s in ev.sentences) or ev.words() > budget:
                continue
            new_terms = set(terms(r.standalone)) & (set(terms(ev.text)) - covered)
            if settled and cand.passage.source != first.first.passage.source:
                new_terms = set()  # another document's words next to a settled figure would be a rival, not a completion
            # another document's own figure for the same thing: it must name everything the question names
            rival_figure = (kind in ("number", "money", "date") and cand.passage.source != first.first.passage.source
                            and _names_all(cand) and bool(asked_span(kind, r.standalone, ev.text))
                            and bool(asked_span(kind, r.standalone, first.text)))
            if new_terms or rival_figure:
                out.append(ev)
                if ev.first.passage.id == first.first.passage.id and ev.start < first.start:
                    out.reverse()  # keep source order within a passage: reads naturally
                break
        return out

    def _own_reason(self, r: Retrieval, ev: Evidence) -> Evidence:
        """A "why" answer does not lead with what someone else claims or believes the reason is.

        "The Kremlin may believe that … Japan joined only under pressure" is reported as a
        misreading; the writer's own explanation follows it. Such a sentence is dropped from the
        front of the window, or, standing alone, yields to a close candidate that is not one.
        """
        def own(sentences: list[ScoredSentence]) -> list[ScoredSentence]:
            while len(sentences) > 1 and ATTRIBUTED.search(sentences[0].text):
                sentences = sentences[1:]
            return sentences

        sentences = own(list(ev.sentences))
        if len(sentences) == 1 and ATTRIBUTED.search(sentences[0].text):
            best = sentences[0]
            alt = next((c for c in r.sentences[1:] if not ATTRIBUTED.search(c.text)
                        and c.logit >= best.logit - self.tuning.second_margin), None)
            if alt is not None:
                return Evidence(own(list(self.window(r, alt).sentences)))
        return Evidence(sentences)

    def stream(self, r: Retrieval, history: list[dict] | None = None) -> Iterator[str | Answer]:
        """Yield the answer text in word-sized pieces, then the Answer (for a uniform UI)."""
        ans = self.answer(r, history)
        yield from stream_words(ans.text)
        yield ans

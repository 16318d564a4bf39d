"""Evidence windows: a candidate with the neighbours it needs to be understood and to answer.

Why a step of its own: a sentence that opens "That amount…" means nothing
without the one before it, a "how many" sentence may name the thing and leave
the figure to the next one, a colon introduces a list. The decision quotes
windows, not bare sentences, and checks the asked-for figure in the window it
will show (``decision.Ranker.decide``); the extractive answerer only formats them.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import lexicon as lx
from ..text import terms, words
from ..tuning import Tuning
from ..types import Candidate
from .question import Question
from .spans import asked_span, type_match


@dataclass(frozen=True)
class Window:
    """A contiguous run of sentences of one passage, cited as one span."""

    sentences: tuple[Candidate, ...]  # in source order

    @property
    def first(self) -> Candidate:
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


class WindowBuilder:
    """Builds windows over one question's ranked candidates (``ranked[0]`` is the best)."""

    def __init__(self, q: Question, ranked: list[Candidate], margins: Margins) -> None:
        self.q = q
        self.ranked = ranked
        self.m = margins
        self.by_pos = {c.key: c for c in ranked}

    def window(self, best: Candidate) -> Window:
        """The best sentence with the neighbours it needs to be understood and to answer."""
        kind = self.q.kind
        prev = self.by_pos.get((best.passage.id, best.index - 1))
        nxt = self.by_pos.get((best.passage.id, best.index + 1))
        chosen = [best]
        budget = self.m.max_answer_words - len(words(best.text))
        needs_type = kind in ("number", "money", "date", "name") and not type_match(kind, best.text)
        if prev is not None and len(words(prev.text)) <= budget and (
            lx.ANAPHORIC_START.match(best.text) or (needs_type and type_match(kind, prev.text))
        ):
            chosen.insert(0, prev)
            budget -= len(words(prev.text))
            needs_type = False
        if nxt is not None and len(words(nxt.text)) <= budget and (
            (needs_type and type_match(kind, nxt.text))
            or best.text.rstrip().endswith(":")
            or ((kind == "reason" or lx.ANAPHORIC_START.match(nxt.text)) and nxt.logit >= best.logit - self.m.next_margin)
        ):
            chosen.append(nxt)
            budget -= len(words(nxt.text))
            # a colon introduces a list: take its items while they fit
            if best.text.rstrip().endswith(":"):
                j = nxt.index + 1
                while (item := self.by_pos.get((best.passage.id, j))) is not None and len(words(item.text)) <= budget:
                    chosen.append(item)
                    budget -= len(words(item.text))
                    j += 1
        if self.q.asks_list:
            # the items of a list sit in the lines after the best one (bullets, a run of short sentences)
            j = chosen[-1].index + 1
            while (item := self.by_pos.get((best.passage.id, j))) is not None and len(words(item.text)) <= budget:
                chosen.append(item)
                budget -= len(words(item.text))
                j += 1
        return Window(tuple(chosen))

    def select(self) -> list[Window]:
        """The best window, plus a second piece of evidence when it adds to the answer and fits the budget.

        The second one must score close to the best (``second_margin``) and either
        cover question words the first lacks, or, from another document, give its own
        figure for a how-much/how-many question (sources that disagree are both shown).
        """
        q, ranked = self.q, self.ranked
        first = self.window(ranked[0])
        if q.kind == "reason" and not q.asks_claim and self.m.own_reason:
            first = self.own_reason(first)
        out = [first]
        if q.which_document:
            return out  # the answer is the document: one quote shows where it says so
        used = {s.key for s in first.sentences}
        budget = self.m.max_answer_words - first.words()
        covered = set(terms(first.text))
        standalone_terms = set(terms(q.standalone))
        settled = bool(asked_span(q.asked, first.text))  # the first already holds the asked-for figure
        for cand in ranked[1:5]:
            if cand.logit < ranked[0].logit - self.m.second_margin:
                break
            if cand.key in used:
                continue
            ev = self.window(cand)
            if any(s.key in used for s in ev.sentences) or ev.words() > budget:
                continue
            new_terms = standalone_terms & (set(terms(ev.text)) - covered)
            if settled and cand.passage.source != first.first.passage.source:
                new_terms = set()  # another document's words next to a settled figure would be a rival, not a completion
            # another document's own figure for the same thing: it must name everything the question names
            rival_figure = (q.kind in ("number", "money", "date") and cand.passage.source != first.first.passage.source
                            and cand.features.get("key_window", 0.0) >= 1.0 and bool(asked_span(q.asked, ev.text))
                            and settled)
            if new_terms or rival_figure:
                out.append(ev)
                if ev.first.passage.id == first.first.passage.id and ev.start < first.start:
                    out.reverse()  # keep source order within a passage: reads naturally
                break
        return out

    def own_reason(self, ev: Window) -> Window:
        """A "why" answer does not lead with what someone else claims or believes the reason is.

        "The Kremlin may believe that … Japan joined only under pressure" is reported as a
        misreading; the writer's own explanation follows it. Such a sentence is dropped from the
        front of the window, or, standing alone, yields to a close candidate that is not one.
        """
        def own(sentences: list[Candidate]) -> list[Candidate]:
            while len(sentences) > 1 and lx.ATTRIBUTED.search(sentences[0].text):
                sentences = sentences[1:]
            return sentences

        sentences = own(list(ev.sentences))
        if len(sentences) == 1 and lx.ATTRIBUTED.search(sentences[0].text):
            best = sentences[0]
            alt = next((c for c in self.ranked[1:] if not lx.ATTRIBUTED.search(c.text)
                        and c.logit >= best.logit - self.m.second_margin), None)
            if alt is not None:
                return Window(tuple(own(list(self.window(alt).sentences))))
        return Window(tuple(sentences))


@dataclass(frozen=True)
class Margins:
    """How far below the best candidate's logit other evidence may join it (fitted; ``decision.Weights``)."""

    second_margin: float  # a second, separate piece of evidence
    next_margin: float  # the sentence after the best one (a "why" answer's continuation, a back-reference)
    max_answer_words: int  # an answer longer than this is not read at a glance
    own_reason: bool = True  # a why-answer does not lead with a reported claim (``WindowBuilder.own_reason``)

    @classmethod
    def of(cls, second_margin: float, next_margin: float, tuning: Tuning, own_reason: bool = True) -> Margins:
        return cls(second_margin, next_margin, tuning.max_answer_words, own_reason)

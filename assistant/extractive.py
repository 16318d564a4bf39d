"""The default answerer: quote the one or two source sentences that best answer.

Sentences inside the top passages are scored by their own embedding's cosine
to the question, an idf-weighted share of the question's content words they
contain, the passage's cosine, and whether they hold the kind of thing asked
for (a number for "how many", a date for "when", a name for "who"). The answer
is refused, not guessed, when the question names something (a country, a year)
that no source mentions, or when even the best sentence scores too low.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from .retriever import LexicalIndex, ScoredPassage
from .text import alias_terms, terms, words
from .types import Answer, Citation

# Weights and thresholds were fitted on evals/dataset.jsonl (answerable vs.
# unanswerable cases) with a coarse grid search, then rounded.
W_SENT_DENSE = 0.40
W_LEXICAL = 0.25
W_PASSAGE = 0.35
TYPE_BONUS = 0.06
MIN_SCORE = 0.42  # below this the best sentence does not answer the question
MIN_DENSE = 0.20  # the best passage must be at least this close in meaning
SECOND_RATIO = 0.85  # a second, non-adjacent sentence must score this close to the first…
NEXT_RATIO = 0.4  # the sentence after the best one joins it when it scores at least this share
MAX_ANSWER_WORDS = 70  # …and both must stay short enough to read at a glance

# a quantity: digits that are not a year, or a number word ("forty-nine", "hundreds")
_NUMBER = re.compile(
    r"(?<![\d,.])(?!(?:1[89]|20)\d\d(?!\d))\d[\d,.]*|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
    r"twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundreds?|thousands?|millions?|billions?|percent|dozens?)\b",
    re.I,
)
_DATE = re.compile(r"\b(1[89]\d\d|20\d\d|January|February|March|April|May|June|July|August|September|October|November|December|spring|summer|autumn|fall|winter|since|until|after|before)\b", re.I)
# a person or body: two capitalised words in a row ("Shinzo Abe") or a role noun
_NAME = re.compile(
    r"\b[A-Z][a-z]+\s+[A-Z][a-z]+\b|\b(?i:ministers?|president|officials?|leaders?|agency|ministry|government|"
    r"parliament|public|society|kremlin|chancellor|secretary|spokesperson|cabinet)\b"
)


_QUESTION_NUMBER = re.compile(r"\d[\d,.]*\d|\d")
# "how much" about money wants an amount of money, not any number ("3139 Ukrainians")
_MONEY_QUESTION = re.compile(
    r"\b(money|aid|fund(s|ing)?|pledged?|pa(y|id)|costs?|sp(e|a)nd|spent|worth|budget|loans?|grants?|"
    r"dollars|yen|euros|donated?|contributed?|financ(e|ial)|price)\b"
)
_MONEY = re.compile(r"[$€£¥]\s?\d|\b(dollars?|yen|euros?|pounds? sterling|rubles?|roubles?|USD|JPY|EUR|GBP)\b")


def answer_type(question: str) -> str:
    q = question.lower()
    if re.search(r"\bhow much\b|\bwhat amount\b", q) and _MONEY_QUESTION.search(q):
        return "money"
    if re.search(r"\bhow (many|much)\b|\bwhat (percentage|share|proportion|number|amount)\b|\bhow large\b", q):
        return "number"
    if re.search(r"\bwhen\b|\bwhat (year|date|month)\b|\bsince when\b", q):
        return "date"
    if re.search(r"^\s*why\b|\bwhy (do|does|did|is|are|was|were|would|has|have)\b|\breasons?\b|\bhow come\b|\bmotiv", q):
        return "reason"
    if re.search(r"\bwho\b|\bwhich (person|leader|official|minister|agency|ministry|company|country|countries)\b", q):
        return "name"
    return "other"


def _type_match(kind: str, sentence: str) -> bool:
    if kind == "money":
        return bool(_MONEY.search(sentence))
    if kind == "number":
        return bool(_NUMBER.search(sentence))
    if kind == "date":
        return bool(_DATE.search(sentence))
    if kind == "name":
        return bool(_NAME.search(sentence))
    return False


@dataclass
class ScoredSentence:
    passage: ScoredPassage
    start: int
    end: int
    text: str
    score: float
    dense: float
    lexical: float
    type_match: bool = False
    index: int = 0  # position of the sentence in its passage


@dataclass
class Retrieval:
    """What retrieval found for one question; answerers (extractive or LLM) start here."""

    question: str
    standalone: str
    passages: list[ScoredPassage]
    sentences: list[ScoredSentence] = field(default_factory=list)
    missing_terms: list[str] = field(default_factory=list)  # names/numbers no source mentions


_ANAPHORIC_START = re.compile(
    r"^(it|its|this|that|these|those|they|their|them|such|both|he|his|she|her|"
    r"the (move|step|decision|country|government|two)|to this end|for this reason|as a result|therefore|thus|"
    r"in other words|that is why|this is why)\b",
    re.I,
)


def score_sentences(
    question: str,
    query: str,
    qvec: np.ndarray,
    passages: list[ScoredPassage],
    sentence_vectors: dict[tuple[str, int], np.ndarray],
    lex: LexicalIndex,
) -> list[ScoredSentence]:
    """Score every sentence of ``passages``; ``query`` is the standalone form of ``question``.

    A sentence that opens with a pronoun ("It is designed to…") borrows half
    credit for the words of the sentence before it, which it refers to.
    """
    q_terms = list(dict.fromkeys(terms(query)))
    own_terms = set(terms(question))
    weights = {t: lex.idf(t) * (1.0 if t in own_terms else 0.5) for t in q_terms}
    for t in alias_terms(q_terms):
        weights.setdefault(t, 0.5 * lex.idf(t))
    total = sum(w for t, w in weights.items() if t in q_terms) or 1.0
    kind = answer_type(question)
    out: list[ScoredSentence] = []
    for p in passages:
        base = p.start
        prev_terms: set[str] = set()
        for i, (s, e) in enumerate(p.sentences):
            text = p.text[s - base : e - base]
            vec = sentence_vectors.get((p.id, i))
            dense = float(np.dot(vec, qvec)) if vec is not None else p.dense
            s_terms = set(terms(text))
            ctx = prev_terms if _ANAPHORIC_START.match(text) else set()
            lexical = min(1.0, sum(w if t in s_terms else 0.5 * w if t in ctx else 0.0 for t, w in weights.items()) / total)
            match = kind != "other" and _type_match(kind, text)
            score = W_SENT_DENSE * dense + W_LEXICAL * lexical + W_PASSAGE * p.dense + (TYPE_BONUS if match else 0.0)
            out.append(ScoredSentence(p, s, e, text, score, dense, lexical, match, i))
            prev_terms = s_terms
    out.sort(key=lambda x: -x.score)
    return out


def refusal(question: str, missing: list[str] | None = None) -> Answer:
    if missing:
        what = ", ".join(f"“{m}”" for m in missing[:3])
        text = f"The sources don't cover {what}, so I can't answer that from them."
    else:
        text = "The sources don't cover this question; I found no passage that answers it."
    return Answer(text=text, answered=False, citations=[], question=question)


def _citation(n: int, s: ScoredSentence) -> Citation:
    p = s.passage
    return Citation(
        n=n, source=p.title, path=p.source, passage_id=p.id, quote=s.text, start=s.start, end=s.end,
        score=round(s.score, 4), passage=p.text, passage_start=p.start, passage_end=p.end,
    )


class ExtractiveAnswerer:
    """Answers by quoting source sentences verbatim; needs no LLM."""

    mode = "extractive"

    def __init__(self, min_score: float = MIN_SCORE, min_dense: float = MIN_DENSE) -> None:
        self.min_score = min_score
        self.min_dense = min_dense

    def answerable(self, r: Retrieval) -> bool:
        if r.missing_terms or not r.sentences or not r.passages:
            return False
        best_dense = max(p.dense for p in r.passages)
        return r.sentences[0].score >= self.min_score and best_dense >= self.min_dense

    def answer(self, r: Retrieval, history: list[dict] | None = None) -> Answer:
        if not self.answerable(r):
            return refusal(r.question, r.missing_terms)
        chosen = self.select(r)
        kind = answer_type(r.question)
        if kind in ("number", "money", "date") and not any(s.type_match for s in chosen):
            # "how many"/"how much money"/"when" cannot be answered by a sentence without
            # a quantity, an amount of money or a date
            return refusal(r.question)
        context = " ".join(s.passage.text for s in chosen)
        unmatched = [n for n in _QUESTION_NUMBER.findall(r.question) if n not in context]
        if unmatched:
            # a year or figure the question is about must be where the answer is ("a 2014 poll")
            return refusal(r.question, unmatched)
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
        best = r.sentences[0]
        by_pos = {(x.passage.id, x.index): x for x in r.sentences}
        budget = MAX_ANSWER_WORDS - len(words(best.text))
        prev = by_pos.get((best.passage.id, best.index - 1))
        nxt = by_pos.get((best.passage.id, best.index + 1))
        reason = answer_type(r.question) == "reason"
        if prev is not None and _ANAPHORIC_START.match(best.text) and len(words(prev.text)) <= budget:
            return [prev, best]
        if nxt is not None and (reason or _ANAPHORIC_START.match(nxt.text)) and len(words(nxt.text)) <= budget \
                and nxt.score >= NEXT_RATIO * best.score:
            return [best, nxt]
        covered = set(terms(best.text))
        # a figure, date or name already answers a factoid question (type_match); another
        # document's figure next to it is a rival answer ("Ukraine pledged $69.9 billion to..."), not a completion
        settled = best.type_match
        for cand in r.sentences[1:4]:
            if cand.score < SECOND_RATIO * best.score:
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

    def stream(self, r: Retrieval, history: list[dict] | None = None):
        """Yield the answer text in word-sized pieces, then the Answer (for a uniform UI)."""
        ans = self.answer(r, history)
        yield from re.findall(r"\S+\s*", ans.text)
        yield ans

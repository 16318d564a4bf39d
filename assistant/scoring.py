"""Score the sentences of the retrieved passages as answers to the question.

Why its own module: both answerers start from this ranking (the extractive one
quotes its top, the LLM answerer checks that a kept answer rests on it), and it
is the part most worth changing when answers pick the wrong sentence. Each
sentence's score mixes its own embedding's cosine to the question, an
idf-weighted share of the question's content words it contains, the passage's
cosine, and whether it holds the kind of thing asked for (a number for "how
many", a date for "when", a name for "who"). Weights come from ``Tuning``.
"""

from __future__ import annotations

import re
from typing import Protocol

import numpy as np

from .text import alias_terms, terms
from .tuning import DEFAULT_TUNING, Tuning
from .types import ScoredPassage, ScoredSentence

# a quantity: digits that are not a year, or a number word ("forty-nine", "hundreds")
QUANTITY = re.compile(
    r"(?<![\d,.])(?!(?:1[89]|20)\d\d(?!\d))\d[\d,.]*|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
    r"twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundreds?|thousands?|millions?|billions?|percent|dozens?)\b",
    re.I,
)
DATE = re.compile(
    r"\b(1[89]\d\d|20\d\d|January|February|March|April|May|June|July|August|September|October|November|December|"
    r"spring|summer|autumn|fall|winter|since|until|after|before)\b",
    re.I,
)
# a person or body: two capitalised words in a row ("Shinzo Abe") or a role noun
PERSON_OR_BODY = re.compile(
    r"\b[A-Z][a-z]+\s+[A-Z][a-z]+\b|\b(?i:ministers?|president|officials?|leaders?|agency|ministry|government|"
    r"parliament|public|society|kremlin|chancellor|secretary|spokesperson|cabinet)\b"
)
# "how much" about money wants an amount of money, not any number ("3139 Ukrainians")
_MONEY_QUESTION = re.compile(
    r"\b(money|aid|fund(s|ing)?|pledged?|pa(y|id)|costs?|sp(e|a)nd|spent|worth|budget|loans?|grants?|"
    r"dollars|yen|euros|donated?|contributed?|financ(e|ial)|price)\b"
)
MONEY = re.compile(r"[$€£¥]\s?\d|\b(dollars?|yen|euros?|pounds? sterling|rubles?|roubles?|USD|JPY|EUR|GBP)\b")

# a sentence that opens by referring back to the one before it ("It is designed to…")
ANAPHORIC_START = re.compile(
    r"^(it|its|this|that|these|those|they|their|them|such|both|he|his|she|her|"
    r"the (move|step|decision|country|government|two)|to this end|for this reason|as a result|therefore|thus|"
    r"in other words|that is why|this is why)\b",
    re.I,
)


class Lexicon(Protocol):
    """What scoring needs from the BM25 index: inverse document frequencies."""

    def idf(self, term: str) -> float: ...


def answer_type(question: str) -> str:
    """The kind of thing the question asks for: money, number, date, reason, name or other."""
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


def type_match(kind: str, sentence: str) -> bool:
    """Does ``sentence`` hold the kind of thing ``answer_type`` asked for?"""
    if kind == "money":
        return bool(MONEY.search(sentence))
    if kind == "number":
        return bool(QUANTITY.search(sentence))
    if kind == "date":
        return bool(DATE.search(sentence))
    if kind == "name":
        return bool(PERSON_OR_BODY.search(sentence))
    return False


def score_sentences(
    question: str,
    query: str,
    qvec: np.ndarray,
    passages: list[ScoredPassage],
    sentence_vectors: dict[tuple[str, int], np.ndarray],
    lex: Lexicon,
    tuning: Tuning = DEFAULT_TUNING,
) -> list[ScoredSentence]:
    """Every sentence of ``passages``, best first; ``query`` is the standalone form of ``question``.

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
            ctx = prev_terms if ANAPHORIC_START.match(text) else set()
            lexical = min(1.0, sum(w if t in s_terms else 0.5 * w if t in ctx else 0.0 for t, w in weights.items()) / total)
            match = kind != "other" and type_match(kind, text)
            score = (tuning.w_sent_dense * dense + tuning.w_lexical * lexical + tuning.w_passage * p.dense
                     + (tuning.type_bonus if match else 0.0))
            out.append(ScoredSentence(p, s, e, text, score, dense, lexical, match, i))
            prev_terms = s_terms
    out.sort(key=lambda x: -x.score)
    return out

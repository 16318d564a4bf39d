"""Stage 1: the question, analysed once into a frozen ``Question`` that every later stage reads.

Why once: what a question asks for (a figure, a date, a name, a reason, a
document, a list), the specific things it names (key terms: "Sakhalin-2",
"2023", "the second package"), the years and months it is about, and the
weight of each of its words in this corpus are needed by the features of every
candidate, by the decision and by the shape of the answer. Computed here, at
the start of ``Assistant.retrieve``, they cannot disagree between stages, and a
reader finds in one file how a question is read.

The word lists and patterns live in ``assistant.lexicon``; the corpus (BM25
index) supplies idf weights, the vocabulary and which words it writes as names.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from .. import lexicon as lx
from ..text import alias_terms, aliases, near_word, terms
from .spans import Asked, Slots, slots


class Corpus(Protocol):
    """What question analysis needs from the corpus's lexical index (``index.lexical.LexicalIndex``)."""

    proper: set[str]  # stems the corpus writes as names
    vocab: set[str]
    acronyms: set[str]  # acronyms of the names it spells out ("jbic")

    def idf(self, term: str) -> float: ...

    def near(self, term: str) -> bool: ...


@dataclass(frozen=True)
class KeyTerm:
    """A name, figure, month or ordinal of the question: the specific thing it asks about."""

    text: str  # as written in the question
    stems: tuple[str, ...]
    kind: str  # name | number | year | month | ordinal

    def alternatives(self) -> list[tuple[str, ...]]:
        """The term's stems, then every alias of the whole phrase ("US" → "United States")."""
        return [self.stems, *aliases(list(self.stems))]

    def found_in(self, stems: set[str]) -> float:
        """1.0 when the term (or an alias) is among ``stems``; a share of its words for a partial match.

        A long word one typo away from a word of ``stems`` counts ("Kishda" finds "Kishida").
        """
        best = 0.0
        for alt in self.alternatives():
            share = sum(s in stems or near_word(s, stems) for s in alt) / len(alt)
            best = max(best, share)
        if best < 1.0 and len(self.stems) > 1:  # "Prime Minister Kishida": each word, or its alias, counts
            per_word = [s in stems or any(all(w in stems for w in a) for a in aliases([s])) for s in self.stems]
            best = max(best, sum(per_word) / len(per_word))
        return best


def key_terms(question: str, proper: set[str] | frozenset[str] = frozenset()) -> list[KeyTerm]:
    """The terms a correct answer's evidence must contain: names, figures, months and ordinals.

    Capitalised words (not opening a sentence), acronyms and digits mark the specific
    thing asked about ("South Korea", "2019"); so do month names ("in April") and
    ordinals ("the second package"). Adjacent capitalised words form one phrase; a
    possessive ends it ("Japan's February" is two terms). ``proper`` holds stems the
    corpus writes as names, so a question typed in lower case still names them.
    """
    out: list[KeyTerm] = []
    phrase: list[str] = []
    last_end = -1
    sentence_start = True

    def flush() -> None:
        if phrase:
            text = " ".join(phrase)
            out.append(KeyTerm(text, tuple(terms(text)), "name"))
            phrase.clear()

    for m in lx.QUESTION_TOKEN.finditer(question):
        tok = m.group()
        if tok in ".!?:;":
            flush()
            sentence_start = True
            continue
        tok = tok.rstrip(".").replace("’", "'")
        possessive = tok.lower().endswith("'s")
        if possessive:
            tok = tok[:-2]
        low = tok.lower()
        if low in lx.MONTH_WORDS and (tok[:1].isupper() or low not in ("may", "march")):  # "may", "march" are verbs too
            flush()
            out.append(KeyTerm(tok, tuple(terms(tok)), "month"))
        elif low in lx.ORDINAL_WORDS or lx.ORDINAL_DIGITS.match(tok):
            flush()
            out.append(KeyTerm(tok, tuple(terms(tok)), "ordinal"))
        elif re.search(r"\d", tok) and not re.search(r"[A-Za-z]", tok):
            flush()
            kind = "year" if lx.YEAR.fullmatch(tok) else "number"
            out.append(KeyTerm(tok, tuple(terms(tok)), kind))
        elif low not in lx.STOPWORDS and (
            (tok[:1].isupper() and (not sentence_start or (tok.isupper() and len(tok) > 1)))
            or (proper and tok.islower() and all(t in proper for t in terms(tok)) and terms(tok))
        ):
            if phrase and question[last_end : m.start()].strip() != "":
                flush()
            phrase.append(tok)
            if possessive:
                flush()
        else:
            flush()
        sentence_start = False
        last_end = m.end()
    flush()
    unique: list[KeyTerm] = []
    for k in out:
        if k.stems and all(k.stems != u.stems for u in unique):
            unique.append(k)
    return unique


def answer_type(question: str) -> str:
    """The kind of thing the question asks for: money, number, date, reason, name or other."""
    q = question.lower()
    if lx.ASKS_HOW_MUCH.search(q) and lx.ASKS_MONEY.search(q):
        return "money"
    if lx.ASKS_NUMBER.search(q):
        return "number"
    if lx.ASKS_DATE.search(q):
        return "date"
    if lx.ASKS_REASON.search(q):
        return "reason"
    if lx.ASKS_NAME.search(q):
        return "name"
    return "other"


def in_corpus(term: KeyTerm, corpus: Corpus) -> bool:
    """Does the corpus mention ``term``: the phrase or an alias, else each of its words (typos forgiven)?"""
    vocab = corpus.vocab
    if any(all(s in vocab for s in alt) for alt in term.alternatives()):
        return True
    # "JBIC", "BoE" (Bank of England), "NGOs": a word of two or more capitals may be an acronym the corpus spells out
    shapes = {w[:-1] if w.endswith("s") and w[:-1].isupper() else w for w in term.text.split() if w.isalpha()}
    spelled_out = {w.lower() for w in shapes if sum(ch.isupper() for ch in w) >= 2} & corpus.acronyms
    return all(
        s in vocab or s in spelled_out or any(all(w in vocab for w in a) for a in aliases([s])) or corpus.near(s)
        for s in term.stems
    )


@dataclass(frozen=True)
class Question:
    """Everything the later stages need to know about one question, computed once (``analyse``)."""

    text: str  # the question as asked (pasted markup removed)
    standalone: str  # with follow-ups resolved from the conversation (the same text when it stands alone)
    kind: str  # what it asks for: money | number | date | reason | name | other (``answer_type`` of ``text``)
    asked: Asked  # what a sentence must hold to answer it (read from ``standalone``)
    which_document: bool  # "which report says…": the answer is a document
    asks_claim: bool  # "what does X say / claim…": a reported claim is the answer, not a motive to discount
    asks_list: bool  # "what measures…": several items; the list around the best sentence is shown
    slots: Slots  # the years, months and ordinals it names ("when did Japan *first*…" is no ordinal)
    keys: tuple[KeyTerm, ...]  # names, figures and ordinals of the question and its standalone form
    key_weights: tuple[float, ...]  # their rarity in the corpus (mean idf of their stems)
    weights: Mapping[str, float]  # content stem -> idf weight (the question's own words count double)
    total: float  # weight of the question's own stems
    stems: frozenset[str]  # the standalone question's content stems
    topic: Mapping[str, float]  # idf weights of its own words that are not names or figures
    unknown_terms: tuple[str, ...]  # names and figures of the question that no source mentions
    wordless: bool = False  # no word at all, even with the conversation resolved ("42", "?"): nothing says what is asked

    @property
    def is_followup(self) -> bool:
        return self.standalone != self.text


def analyse(question: str, standalone: str, corpus: Corpus) -> Question:
    """Read ``question`` (and ``standalone``, its follow-up-resolved form) against ``corpus``."""
    q_terms = list(dict.fromkeys(terms(standalone)))
    own_terms = set(terms(question))
    weights = {t: corpus.idf(t) * (1.0 if t in own_terms else 0.5) for t in q_terms}
    for t in alias_terms(q_terms):
        weights.setdefault(t, 0.5 * corpus.idf(t))
    total = sum(w for t, w in weights.items() if t in q_terms) or 1.0
    own = key_terms(question, corpus.proper)
    keys = own + [k for k in key_terms(standalone, corpus.proper) if k not in own]
    years, months, ordinals = slots(question)
    ordinals = ordinals - {"first"}  # "when did Japan first…" is an adverb, not a slot
    named = {t for k in own for t in k.stems}
    topic = {t: w for t, w in weights.items() if t in own_terms and t not in named}
    keys = [k for k in keys if k.kind in ("name", "number", "ordinal")]
    key_weights = [sum(corpus.idf(t) for t in k.stems) / len(k.stems) for k in keys]
    unknown = tuple(k.text for k in own if k.kind in ("name", "number", "year") and not in_corpus(k, corpus)
                    and not (k.kind == "name" and k.text.lower().replace(".", "") in lx.GENERIC_ACRONYMS))
    kind = answer_type(question)
    return Question(
        text=question, standalone=standalone, kind=kind, asked=Asked.read(kind, standalone),
        which_document=bool(lx.ASKS_DOCUMENT.search(question)), asks_claim=bool(lx.ASKS_CLAIM.search(question)),
        asks_list=bool(lx.ASKS_LIST.search(question)), slots=(years, months, ordinals), keys=tuple(keys),
        key_weights=tuple(key_weights), weights=weights, total=total, stems=frozenset(q_terms), topic=topic,
        unknown_terms=unknown, wordless=wordless(standalone),
    )


def wordless(text: str) -> bool:
    """True when ``text`` has no letter of any script: figures and punctuation alone ("42", "2022?", "…").

    Why a question of its own: a figure matches any passage that happens to hold it, and the
    ranker would quote one; but "42" does not say what is asked about it. A follow-up such as
    "2023?" is not wordless once the conversation is resolved into its standalone form.
    """
    return not any(ch.isalpha() for ch in text)

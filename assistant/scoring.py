"""Score the sentences of the retrieved passages as answers to the question.

Why its own module: both answerers start from this ranking (the extractive one
quotes its top, the LLM answerer checks that a kept answer rests on it), and it
is the part most worth changing when answers pick the wrong sentence.

Each candidate sentence gets a handful of features that describe how well it,
its neighbours (the *window*) and its surroundings (passage, section heading,
document title and date) match the question: meaning (cosines of the small
embedding model), the question's words (idf-weighted), the question's *key
terms* (names, figures, years, months, ordinals: the specific thing asked
about), and whether it holds the kind of thing asked for (a figure for "how
many"). A logistic model (``Tuning.ranker``, fitted by ``evals/calibrate.py``
on the development splits only) turns them into the probability that the
candidate answers; the answerer refuses when the best probability is low.
Features are shapes of the text, not words of any particular document, so the
model carries to folders it was not fitted on (the holdout splits measure that).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from .text import STOPWORDS, KeyTerm, alias_terms, key_terms, terms
from .tuning import DEFAULT_TUNING, Tuning
from .types import ScoredPassage, ScoredSentence

# a quantity: digits that are not a year, or a number word ("forty-nine", "hundreds")
QUANTITY = re.compile(
    r"(?<![\w,.-])(?!(?:1[89]|20)\d\d(?!\d))\d[\d,.]*|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
    r"twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundreds?|thousands?|millions?|billions?|percent|dozens?)\b",
    re.I,
)
DATE = re.compile(
    r"\b(1[89]\d\d|20\d\d|January|February|March|April|May|June|July|August|September|October|November|December|"
    r"Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|"
    r"spring|summer|autumn|fall|winter)\b",
)
# a person or body: two capitalised words in a row ("Shinzo Abe") or a role noun
PERSON_OR_BODY = re.compile(
    r"\b[A-Z][a-z]+\s+[A-Z][a-z]+\b|\b[A-Z]{2,}\b|\b(?i:ministers?|president|officials?|leaders?|agency|ministry|"
    r"government|parliament|public|society|kremlin|chancellor|secretary|spokes(person|man|woman)|cabinet|company|"
    r"firm|bank|party)\b"
)
# "how much" about money wants an amount of money, not any number ("3139 Ukrainians")
_MONEY_QUESTION = re.compile(
    r"\b(money|aid|fund(s|ing)?|pledged?|pa(y|id)|costs?|sp(e|a)nd|spent|worth|budget|loans?|grants?|"
    r"dollars|yen|euros|donated?|contributed?|financ(e|ial)|price|package|assistance|support)\b"
)
# a span of time: "about 12 minutes", "ten years", "a week", "48-hour"
DURATION = re.compile(r"\b(?:\d[\d,.]*|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|"
                      r"several|few|many)[\s-]+(?:\w+[\s-]+)?(?:seconds?|minutes?|hours?|days?|weeks?|months?|years?|decades?)\b",
                      re.I)
MONEY = re.compile(r"[$€£¥]\s?\d|\b(dollars?|yen|euros?|pounds? sterling|rubles?|roubles?|USD|JPY|EUR|GBP|US\$)\b")

# a sentence that opens by referring back to the one before it ("It is designed to…", "That amount…")
ANAPHORIC_START = re.compile(
    r"^[\W_]*(it|its|this|that|these|those|they|their|them|such|both|he|his|she|her|"
    r"the (move|step|decision|country|government|two|figure|amount|sum|total|cap|limit|plan|package|measure|"
    r"deal|number|money|ban|aid)|to this end|for this reason|as a result|therefore|thus|"
    r"in other words|that is why|this is why|of (that|this|these|those|the total|the sum|the amount))\b",
    re.I,
)

# a sentence that reports what someone claims or believes: for "why" questions it is the
# motive somebody alleges, which the source may be reporting only to dispute
ATTRIBUTED = re.compile(
    r"\b(claim(s|ed)?|alleg(e|es|ed|edly)|accus(e|es|ed)|insist(s|ed)?|argu(e|es|ed)|believ(e|es|ed)|assert(s|ed)?|"
    r"portray(s|ed)?|misread(s|ing)?|mistaken(ly)?|wrongly|propaganda|blam(e|es|ed))\b", re.I)

# the ranker's inputs for one candidate sentence
FEATURES = (
    "bias", "dense", "dense_window", "dense_passage", "lexical", "lexical_window", "lexical_context",
    "key", "key_window", "key_context", "type", "type_window", "type_x_lexical_window", "rank", "short",
    "novelty", "attributed_reason", "conflict", "dense_own", "topic_window",
)
# the gate's inputs for one question: how well its best candidate holds up
GATE_FEATURES = ("bias", "top_logit", "dense_window", "dense_passage", "lexical", "lexical_window", "key_context",
                 "type_window", "conflict", "topic_window")

_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")
_MONTH_NAMES = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
                "november", "december")
_MONTH = re.compile(r"\b(Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
                    r"Sep(?:t|tember)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\b")
_ORDINAL = re.compile(r"\b(first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth)\b", re.I)


def _other_year(asked: set[str], p: ScoredPassage) -> bool:
    """Is the question's year one this passage's document cannot be about?

    A document that never names the year is about another event when the year is
    after the document was written, or two or more years before it: writers say
    "last March" for the year before, but name older years.
    """
    if not asked or not p.years or asked & p.years:
        return False
    written = int(p.date[:4]) if p.date[:4].isdigit() else max(int(y) for y in p.years)
    return all(int(y) > written or written - int(y) >= 2 for y in asked)


def slots(text: str) -> tuple[set[str], set[str], set[str]]:
    """The years, months and ordinals ``text`` states: what a near-miss question changes."""
    months = {m.group(1).lower()[:3] for m in _MONTH.finditer(text)}
    return set(_YEAR.findall(text)), months, {m.lower() for m in _ORDINAL.findall(text)}


def conflicts(asked: tuple[set[str], set[str], set[str]], stated: tuple[set[str], set[str], set[str]]) -> bool:
    """True when the evidence states a year, month or ordinal of its own and none of the question's.

    "How many diplomats did Russia expel in April 2023?" against "On April 27, 2022, …"
    is another event; evidence that states no year at all is no conflict.
    """
    return any(a and s and not a & s for a, s in zip(asked, stated))


class Lexicon(Protocol):
    """What scoring needs from the BM25 index: inverse document frequencies."""

    proper: set[str]  # stems the corpus writes as names

    def idf(self, term: str) -> float: ...


def answer_type(question: str) -> str:
    """The kind of thing the question asks for: money, number, date, reason, name or other."""
    q = question.lower()
    if re.search(r"\bhow much\b|\bwhat amount\b", q) and _MONEY_QUESTION.search(q):
        return "money"
    if re.search(r"\bhow (many|much|long|old|large|big|far)\b|\b(what|which)(?: is| was| are| were)?(?: the| [\w'’-]+){0,3}"
                 r" (percentage|percent|share|proportion|number|amount|portion|fraction|rate|price|figure|total|value|size)"
                 r"\b|\bwhat per ?cent\b", q):
        return "number"
    if re.search(r"\bwhen\b|\bwhat (year|date|day|month)\b|\bsince when\b|\bon which (date|day)\b|\bwhich (year|month|date|day)\b"
                 r"|\buntil what\b|\bby what date\b", q):
        return "date"
    if re.search(r"^\s*why\b|\bwhy (do|does|did|is|are|was|were|would|has|have|had)\b|\breasons?\b|\bhow come\b|\bmotiv"
                 r"|\bwhat (drove|drives|prompted|led)\b|\bpurpose\b", q):
        return "reason"
    if re.search(r"\bwho\b|\bwhom\b|\bwhose\b|\bwhich (person|leader|official|minister|agency|ministry|company|companies|"
                 r"country|countries|party|parties|firm|firms|body|bodies|organi[sz]ation|bank|banks|pollster|city|town|"
                 r"region|regions|island|islands|place)\b|\bname the\b|\bwhere\b", q):
        return "name"
    return "other"


def asks_percent(question: str) -> bool:
    """"What share / rate / percentage …": only a percentage answers it."""
    return bool(_PERCENT_Q.search(question))


def figure_match(kind: str, question: str, text: str) -> bool:
    """Does ``text`` hold a figure or date of the kind the question needs at all? (Looser than ``asked_span``.)

    A "what share" question needs a percentage, a "how many" question a count that is
    not a percentage, a "how much money" question an amount of money, a "when" question a date.
    """
    if kind == "number":
        if asks_percent(question):
            return bool(PERCENT.search(text))
        if _DURATION_Q.search(question):  # "how long": a span of time, not any number
            return bool(DURATION.search(text))
        return any(not PERCENT.search(text[m.start() : m.end() + 9]) for m in QUANTITY.finditer(text))
    return type_match(kind, text)


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


AMOUNT_SPAN = re.compile(
    r"(?:\b(?:about|around|roughly|some|nearly|almost|over|more than|less than|up to|at least|a further|another|"
    r"an additional|a total of)\s+)?(?:(?:US|USD|JPY)\s?\$?|[$€£¥])\s?\d[\d,.]*(?:\s?(?:million|billion|trillion|bn|m)\b)?"
    r"|(?:\b(?:about|around|roughly|some|nearly|almost|over|more than|up to)\s+)?\d[\d,.]*\s?(?:million|billion|trillion)?"
    r"\s?(?:dollars|yen|euros|pounds|roubles|rubles)\b|(?:USD|JPY|EUR)\s?\d[\d,.]*(?:\s?(?:million|billion|trillion))?",
    re.I,
)
COUNT_SPAN = re.compile(
    r"(?:\b(?:about|around|roughly|some|nearly|almost|over|more than|fewer than|less than|up to|at least|just|only)\s+)?"
    r"(?:\b\d[\d,.]*(?:\s?(?:%|per ?cent|percent))?|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
    r"(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)(?:-\w+)?|hundreds|thousands|dozens)\b)"
    r"(?:\s?(?:million|billion|thousand|hundred)\b)?",
    re.I,
)
DATE_SPAN = re.compile(
    r"(?:(?:on|since|until|by|from)\s+)?(?:(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday),?\s+)?"
    r"(?:\d{1,2}(?:[–-]\d{1,2})?\s+)?(?:January|February|March|April|May|June|July|August|September|October|"
    r"November|December|Jan\.?|Feb\.?|Mar\.?|Apr\.?|Jun\.?|Jul\.?|Aug\.?|Sept?\.?|Oct\.?|Nov\.?|Dec\.?)"
    r"(?:\s+\d{1,2}\b(?:[–-]\d{1,2}\b)?)?(?:,?\s+\d{4}\b)?|\b(?:1[89]|20)\d\d\b"
)
NAME_SPAN = re.compile(r"\b(?:[A-Z][a-zA-Z'’.-]+|[A-Z]{2,})(?:\s+(?:of|the|de|van|von|for|and|&)?\s*"
                        r"(?:[A-Z][a-zA-Z'’.-]+|[A-Z]{2,}))*")


_NEXT_TO_MONTH = re.compile(
    r"(January|February|March|April|May|June|July|August|September|October|November|December|Jan|Feb|Mar|Apr|Jun|"
    r"Jul|Aug|Sept?|Oct|Nov|Dec)\.?\s+\d{1,2}\b(?!,?\d)|\b\d{1,2}(?:[–-]\d{1,2})?\s+(January|February|March|April|May|"
    r"June|July|August|September|October|November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\b"
)


_PERCENT_Q = re.compile(r"\b(percentage|percent|per ?cent|share|proportion|rate|fraction)\b|%", re.I)
_DURATION_Q = re.compile(r"\bhow long\b|\bfor how many (years|months|weeks|days|hours|minutes)\b", re.I)
_AGE_Q = re.compile(r"\bhow old\b|\bwhat age\b|\baged?\b", re.I)
PERCENT = re.compile(r"%|\bper ?cent\b|\bpercent\b", re.I)
_TIME_UNIT = re.compile(r"^\s*(years?|months?|weeks?|days?|hours?|minutes?|decades?)\b", re.I)
_HOW_MANY_NOUN = re.compile(r"\bhow many ((?:[\w-]+\s+){0,2}?[\w-]+)", re.I)
_FOLLOWING_WORDS = re.compile(r"^(?:\s+(?![Tt]o\b|[Oo]f\b|[Ii]n\b|[Oo]n\b|[Aa]nd\b|[Ff]or\b|[Ff]rom\b)[\w'’-]+){1,2}")


def asked_span(kind: str, question: str, sentence: str) -> str:
    """The figure, date or name in ``sentence`` that answers a how-much/how-many/when/who question, or "".

    A count keeps the words naming what is counted ("14 SESU specialists"); a
    "what share" question wants a percentage, "how long" a duration, "how old"
    an age; what the question itself already says is never the answer.
    """
    pattern = {"money": AMOUNT_SPAN, "number": COUNT_SPAN, "date": DATE_SPAN, "name": NAME_SPAN}.get(kind)
    if pattern is None:
        return ""
    q_terms = set(terms(question))
    q_low = question.lower()
    noun = _HOW_MANY_NOUN.search(question)
    counted = set(terms(noun.group(1).split()[-1])) if noun else set()  # the head noun: "Ukrainian students" → students
    toks = [(m.start(), set(terms(m.group()))) for m in re.finditer(r"\S+", sentence)]
    anchors = [pos for pos, ts in toks if ts & q_terms]
    best, best_cost = "", float("inf")
    for m in pattern.finditer(sentence):
        span = m.group().strip(" ,.;:")
        if not span or span.lower() in q_low:
            continue  # what the question already says is not the answer
        after = sentence[m.end() :]
        cost = min((abs(m.start() - a) for a in anchors), default=m.start())
        if kind == "number":
            near = sentence[max(0, m.start() - 10) : m.end() + 10]
            if re.fullmatch(r"(?:1[89]|20)\d\d", span) or _NEXT_TO_MONTH.search(near):
                continue  # a year or a day of the month is not a count
            if not _DURATION_Q.search(question) and _TIME_UNIT.match(after) and not counted & set(terms(after[:20])):
                continue  # "five days before" is a duration, not the count asked for
            percent = bool(PERCENT.search(span + after[:9]))
            if bool(_PERCENT_Q.search(question)) != percent:
                continue  # "what share" wants a percentage; "how many people" does not
            if span.lower() == "one" and not counted & set(terms(after[:20])):
                continue  # "for one", "one of": rarely a count
            if _DURATION_Q.search(question):
                if not _TIME_UNIT.match(after):
                    continue
                span += _TIME_UNIT.match(after).group()
            elif _AGE_Q.search(question) and not re.match(r"^[\s-]*(years?|-year-old|year-old)", after, re.I):
                continue
            elif not PERCENT.search(span):
                following = _FOLLOWING_WORDS.match(after)
                if following and counted & set(terms(following.group())):
                    cost -= 1000  # the number names what the question counts
                    span += following.group()
        if kind == "name":
            span_terms = set(terms(span))
            at_start = not sentence[: m.start()].strip(" •·-*>#\t\"“(")
            if not span_terms or span_terms <= q_terms or (len(span.split()) < 2 and (at_start or span.lower() in STOPWORDS)):
                continue
        if cost < best_cost:
            best, best_cost = span.strip(" ,.;:"), cost
    return best


@dataclass(frozen=True)
class Query:
    """What the scorer knows about one question, computed once per question."""

    kind: str  # answer_type of the question as asked
    weights: dict[str, float]  # content stem -> idf weight (the question's own words count double)
    total: float  # weight of the question's own stems
    keys: list[KeyTerm]  # names and figures of the question
    key_weights: list[float]  # their rarity in the corpus (mean idf of their stems)
    stems: frozenset[str]  # the standalone question's content stems
    topic: dict[str, float]  # idf weights of the question's own words that are not names or figures
    asked: tuple[set[str], set[str], set[str]]  # the question's years, months and ordinals (see ``slots``)


def make_query(question: str, query: str, lex: Lexicon) -> Query:
    """``query`` is the standalone form of ``question`` (follow-ups resolved)."""
    q_terms = list(dict.fromkeys(terms(query)))
    own_terms = set(terms(question))
    weights = {t: lex.idf(t) * (1.0 if t in own_terms else 0.5) for t in q_terms}
    for t in alias_terms(q_terms):
        weights.setdefault(t, 0.5 * lex.idf(t))
    total = sum(w for t, w in weights.items() if t in q_terms) or 1.0
    own = key_terms(question, lex.proper)
    keys = own + [k for k in key_terms(query, lex.proper) if k not in own]
    years, months, ordinals = slots(question)
    ordinals.discard("first")  # "when did Japan first…" is an adverb, not a slot
    named = {t for k in own for t in k.stems}
    topic = {t: w for t, w in weights.items() if t in own_terms and t not in named}
    keys = [k for k in keys if k.kind in ("name", "number", "ordinal")]
    key_weights = [sum(lex.idf(t) for t in k.stems) / len(k.stems) for k in keys]
    return Query(answer_type(question), weights, total, keys, key_weights, frozenset(q_terms), topic,
                 (years, months, ordinals))


def coverage(q: Query, stems: set[str]) -> float:
    """The idf-weighted share of the question's words found among ``stems``."""
    return min(1.0, sum(w for t, w in q.weights.items() if t in stems) / q.total)


def key_coverage(q: Query, stems: set[str]) -> float:
    """The idf-weighted share of the question's key terms found among ``stems`` (1.0 when it has none).

    Weighted by rarity: a name most passages mention ("Japan" in a folder about Japan) is the
    setting, not the constraint; a rare one ("United Kingdom", "Sakhalin-1") must be there.
    """
    if not q.keys:
        return 1.0
    return sum(k.found_in(stems) * w for k, w in zip(q.keys, q.key_weights)) / sum(q.key_weights)


def _unit(vec: np.ndarray) -> np.ndarray:
    return vec / max(float(np.linalg.norm(vec)), 1e-12)


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(min(x, 30.0), -30.0)))


def score_sentences(
    question: str,
    query: str,
    qvec: np.ndarray,
    passages: list[ScoredPassage],
    sentence_vectors: dict[tuple[str, int], np.ndarray],
    lex: Lexicon,
    tuning: Tuning = DEFAULT_TUNING,
    own_vector: np.ndarray | None = None,
) -> list[ScoredSentence]:
    """Every body sentence of ``passages`` as a candidate answer, most probable first.

    ``ScoredSentence.score`` is the ranker's probability that the sentence (with
    its window) answers; ``features`` keeps the inputs for calibration and the report.
    """
    q = make_query(question, query, lex)
    weights = np.asarray(tuning.ranker, dtype=np.float64)
    out: list[ScoredSentence] = []
    for rank, p in enumerate(passages):
        base = p.start
        texts = [p.text[s - base : e - base] for s, e in p.sentences]
        stems = [set(terms(t)) for t in texts]
        ctx_stems = set().union(*stems) | set(terms(p.section)) | set(terms(p.title)) | set(terms(p.date))
        body = [i for i in range(len(texts)) if i not in p.skip]
        vecs = {i: sentence_vectors.get((p.id, i)) for i in body}
        # holds a figure, date or name of the asked kind that the question does not already say
        holds = {i: bool(asked_span(q.kind, query, texts[i])) for i in body}
        other_year = _other_year(q.asked[0], p)
        for i in body:
            vec = vecs[i]
            dense = float(np.dot(vec, qvec)) if vec is not None else p.dense
            # for a follow-up, how well the sentence meets the question as asked (the same as dense otherwise)
            dense_own = float(np.dot(vec, own_vector)) if vec is not None and own_vector is not None else dense
            window = [j for j in (i - 1, i, i + 1) if j in vecs]
            w_stems = set().union(*(stems[j] for j in window))
            w_vecs = [vecs[j] for j in window if vecs[j] is not None]
            dense_window = float(np.dot(_unit(np.sum(w_vecs, axis=0)), qvec)) if w_vecs else dense
            text = texts[i]
            match = holds[i]
            match_window = any(holds[j] for j in window)
            lexical_window = coverage(q, w_stems)
            novelty = len(stems[i] - q.stems) / len(stems[i]) if stems[i] else 0.0
            stated = slots(" ".join(texts[j] for j in window) + "\n" + p.section)
            f = np.array([
                1.0, dense, dense_window, p.dense, coverage(q, stems[i]), lexical_window, coverage(q, ctx_stems),
                key_coverage(q, stems[i]), key_coverage(q, w_stems), key_coverage(q, ctx_stems),
                float(match), float(match_window), float(match) * lexical_window, 1.0 / (1 + rank),
                float(len(stems[i]) < 4), novelty, float(q.kind == "reason" and bool(ATTRIBUTED.search(text))),
                float(conflicts(q.asked, stated) or other_year), dense_own,
                # what the question asks about, names aside ("population" of Taiwan), found near the candidate
                sum(w for t, w in q.topic.items() if t in w_stems) / (sum(q.topic.values()) or 1.0) if q.topic else 1.0,
            ])
            logit = float(f @ weights)
            out.append(ScoredSentence(p, p.sentences[i][0], p.sentences[i][1], text, logit, dense,
                                      float(f[4]), match, i, features=f, logit=logit))
    if out:  # score: the candidate's share of the question's probability mass (softmax over its logits)
        top = max(s.logit for s in out)
        mass = [math.exp(s.logit - top) for s in out]
        total = sum(mass)
        for s, m in zip(out, mass):
            s.score = m / total
    out.sort(key=lambda x: -x.score)
    return out


def gate_features(question: str, sentences: list[ScoredSentence]) -> np.ndarray:
    """The gate's inputs (``GATE_FEATURES``): how well the best candidate holds up, for refusing."""
    top = sentences[0]
    f = top.features
    col = FEATURES.index
    return np.array([1.0, top.logit] + [f[col(name)] for name in GATE_FEATURES[2:]])

"""Stage 2: every body sentence of the retrieved passages as a ``Candidate``, with its features by name.

Why features by name: the decision component (``decision``) weighs them with
weights fitted on the development splits and stored by name
(``answering/weights.json``), calibration reads them, and the eval report shows
them; a name cannot silently shift when a feature is added, a position can.

Each candidate's features describe how well it, its neighbours (the *window*:
the sentence before and after it) and its surroundings (passage, section
heading, document title and date) match the question: meaning (cosines of the
small embedding model), the question's words (idf-weighted), the question's key
terms (names, figures, ordinals), whether it holds the kind of thing asked for
(a figure for "how many"), and whether it states another year or month than the
question (another event). ``FEATURES`` lists them all, in one place. They are
shapes of the text, not words of any particular document, so they carry to
folders nobody tuned for (the holdout splits measure that).
"""

from __future__ import annotations

import numpy as np

from .. import lexicon as lx
from ..text import terms
from ..types import Candidate, ScoredPassage
from .question import Question
from .spans import asked_span, conflicts, implied_years, slots

# every feature a candidate has; ``decision.Ranker`` weighs them by these names
FEATURES = (
    "bias",  # 1.0: the ranker's intercept (cancels in its softmax)
    "dense",  # cosine of the sentence to the standalone question
    "dense_window",  # cosine of the sentence with its neighbours
    "dense_passage",  # cosine of the whole passage
    "lexical",  # idf-weighted share of the question's words in the sentence
    "lexical_window",  # … in the sentence and its neighbours
    "lexical_context",  # … anywhere in the passage, its section heading, title and date
    "key",  # rarity-weighted share of the question's key terms (names, figures) in the sentence
    "key_window",  # … in the window
    "key_context",  # … in the passage and its headings
    "type",  # holds a figure, date or name of the asked kind that the question does not already say
    "type_window",  # … somewhere in the window
    "type_x_lexical_window",  # type times lexical_window: the asked-for figure next to the question's words
    "rank",  # 1 / (1 + the passage's rank in retrieval)
    "short",  # fewer than four content words
    "novelty",  # share of the sentence's words the question does not use
    "attributed_reason",  # a why-question's candidate that reports what someone claims or believes
    "conflict",  # states another year, month or ordinal than the question, or its document is of another year
    "dense_own",  # cosine to the question as asked (differs from dense for a follow-up)
    "topic_window",  # the question's topic words, names aside ("population" of Taiwan), in the window
)


def written_year(p: ScoredPassage) -> int | None:
    """The year the passage's document was written, when its date gives one."""
    return int(p.date[:4]) if p.date[:4].isdigit() else None


def other_year(asked_years: frozenset[str], p: ScoredPassage) -> bool:
    """Is the question's year one this passage's document cannot be about?

    A document that never names the year is about another event when the year is
    after the document was written, or two or more years before it: writers say
    "last March" for the year before, but name older years.
    """
    if not asked_years or not p.years or asked_years & p.years:
        return False
    written = written_year(p) or max(int(y) for y in p.years)
    return all(int(y) > written or written - int(y) >= 2 for y in asked_years)


def coverage(q: Question, stems: set[str]) -> float:
    """The idf-weighted share of the question's words found among ``stems``."""
    return min(1.0, sum(w for t, w in q.weights.items() if t in stems) / q.total)


def key_coverage(q: Question, stems: set[str]) -> float:
    """The idf-weighted share of the question's key terms found among ``stems`` (1.0 when it has none).

    Weighted by rarity: a name most passages mention ("Japan" in a folder about Japan) is the
    setting, not the constraint; a rare one ("United Kingdom", "Sakhalin-1") must be there.
    """
    if not q.keys:
        return 1.0
    return sum(k.found_in(stems) * w for k, w in zip(q.keys, q.key_weights)) / sum(q.key_weights)


def _unit(vec: np.ndarray) -> np.ndarray:
    return vec / max(float(np.linalg.norm(vec)), 1e-12)


def candidates(q: Question, passages: list[ScoredPassage], qvec: np.ndarray,
               own_vector: np.ndarray | None = None) -> list[Candidate]:
    """Every body sentence of ``passages`` (headings and bylines excluded), in retrieval order, with its features.

    ``qvec`` embeds the standalone question, ``own_vector`` the question as asked
    (they differ for a follow-up); sentence vectors come packed with each passage.
    """
    out: list[Candidate] = []
    for rank, p in enumerate(passages):
        base = p.start
        texts = [p.text[s - base : e - base] for s, e in p.sentences]
        stems = [set(terms(t)) for t in texts]
        ctx_stems = set().union(*stems) | set(terms(p.section)) | set(terms(p.title)) | set(terms(p.date))
        body = [i for i in range(len(texts)) if i not in p.skip]
        matrix = p.sentence_matrix if p.sentence_matrix is not None else np.zeros((0, len(qvec)))
        vecs = {i: matrix[i] if i < len(matrix) else None for i in body}
        # holds a figure, date or name of the asked kind that the question does not already say
        holds = {i: bool(asked_span(q.asked, texts[i])) for i in body}
        other = other_year(q.slots[0], p)
        written = written_year(p)
        for i in body:
            vec = vecs[i]
            dense = float(np.dot(vec, qvec)) if vec is not None else p.dense
            dense_own = float(np.dot(vec, own_vector)) if vec is not None and own_vector is not None else dense
            window = [j for j in (i - 1, i, i + 1) if j in vecs]
            w_stems = set().union(*(stems[j] for j in window))
            w_vecs = [vecs[j] for j in window if vecs[j] is not None]
            dense_window = float(np.dot(_unit(np.sum(w_vecs, axis=0)), qvec)) if w_vecs else dense
            match = holds[i]
            match_window = any(holds[j] for j in window)
            lexical_window = coverage(q, w_stems)
            window_text = " ".join(texts[j] for j in window)
            stated = slots(window_text + "\n" + p.section)
            if q.slots[0] and not stated[0]:
                stated = (implied_years(window_text, written), *stated[1:])
            features = {
                "bias": 1.0,
                "dense": dense,
                "dense_window": dense_window,
                "dense_passage": p.dense,
                "lexical": coverage(q, stems[i]),
                "lexical_window": lexical_window,
                "lexical_context": coverage(q, ctx_stems),
                "key": key_coverage(q, stems[i]),
                "key_window": key_coverage(q, w_stems),
                "key_context": key_coverage(q, ctx_stems),
                "type": float(match),
                "type_window": float(match_window),
                "type_x_lexical_window": float(match) * lexical_window,
                "rank": 1.0 / (1 + rank),
                "short": float(len(stems[i]) < 4),
                "novelty": len(stems[i] - q.stems) / len(stems[i]) if stems[i] else 0.0,
                "attributed_reason": float(q.kind == "reason" and bool(lx.ATTRIBUTED.search(texts[i]))),
                "conflict": float(conflicts(q.slots, stated) or other),
                "dense_own": dense_own,
                "topic_window": (sum(w for t, w in q.topic.items() if t in w_stems) / (sum(q.topic.values()) or 1.0)
                                 if q.topic else 1.0),
            }
            out.append(Candidate(p, p.sentences[i][0], p.sentences[i][1], texts[i], index=i, features=features))
    return out

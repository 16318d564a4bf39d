"""The eval metrics, defined exactly and kept free of the assistant so they can be unit-tested.

Everything here is deterministic string and offset arithmetic: no LLM judge, no
embedding similarity. The answer metrics follow the official SQuAD v1.1 script
(``normalize_answer``, exact match, token F1) so the numbers mean what readers
expect; presence, citation and refusal metrics extend them to cited answers.
``DEFINITIONS`` is the text the HTML report shows, so the report and the code
cannot drift apart.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from assistant.text import strip_markers  # citation markers [1], [2] … are not part of the answer text

MAX_CORRECT_WORDS = 80  # a reply longer than this is never counted as correct

DEFINITIONS: list[tuple[str, str]] = [
    ("normalisation", "SQuAD v1.1 normalize_answer: lower-case, drop ASCII punctuation, drop the articles "
     "a/an/the, collapse white space. Citation markers [n] are removed from the reply first."),
    ("exact_match", "1 if the normalised reply equals a normalised answer alias (best alias), else 0; "
     "answerable cases only."),
    ("f1", "SQuAD token F1 between the reply and the best answer alias; answerable cases only."),
    ("presence", "1 if some normalised answer alias occurs in the normalised reply as a whole-token sequence; "
     "answerable cases only."),
    ("accuracy (headline)", "Share of all cases answered correctly. An answerable case is correct when the reply is "
     "not a refusal, has at most 80 words, contains an answer alias (presence) and has at least one valid "
     "citation whose quote contains an answer alias or the support text (token-sequence match after "
     "normalisation). An unanswerable case is correct when the assistant refuses (answered = false)."),
    ("answerable_accuracy", "The same correctness rule, over answerable cases only."),
    ("retrieval recall@k", "Share of answerable cases where a passage containing the support text (token-sequence "
     "match) is among the top k passages of Assistant.retrieve(question, history); k = 1, 3 and all returned."),
    ("retrieval MRR", "Mean of 1/rank of the first passage containing the support text (0 when none is retrieved)."),
    ("citation_validity", "Share of all citations whose quote equals source_text[start:end] of its source "
     "(Assistant.source_text(path)), i.e. verbatim at its offsets."),
    ("citation_support", "Share of answered answerable cases whose support text lies inside the cited spans "
     "(its characters are covered by the union of the citations' [start, end) offsets in the source)."),
    ("citation_precision", "Share of citations on answerable cases whose quote contains an answer alias or "
     "overlaps the support text's span in the source."),
    ("refusal_precision", "Of the cases the assistant refused, the share that are unanswerable "
     "(null when it refused nothing)."),
    ("refusal_recall", "Of the unanswerable cases, the share the assistant refused (null when there are none)."),
    ("false_refusal_rate", "Of the answerable cases, the share the assistant refused."),
    ("latency p50/p95", "Wall-clock milliseconds of the final Assistant.ask call per case (history turns are not "
     "timed; one warm-up question runs first), percentiles by linear interpolation (numpy)."),
]


# -- SQuAD v1.1 (official evaluate-v1.1.py), unchanged
_ASCII_PUNCTUATION = frozenset(string.punctuation)
_POSSESSIVE = re.compile(r"(?<=\w)['’]s\b")


def normalize_answer(s: str) -> str:
    """Lower text and remove punctuation, articles and extra whitespace."""

    def remove_articles(text: str) -> str:
        return re.sub(r"\b(a|an|the)\b", " ", text)

    def white_space_fix(text: str) -> str:
        return " ".join(text.split())

    def remove_punc(text: str) -> str:
        # a possessive is its noun ("Kihara's warning" holds "Kihara"); typographic quotes and dashes
        # are punctuation too ("“Beyond Moscow”" holds "Beyond Moscow")
        text = _POSSESSIVE.sub("", text)
        return "".join(" " if unicodedata.category(ch).startswith("P") else ch
                       for ch in text if ch not in _ASCII_PUNCTUATION)

    def lower(text: str) -> str:
        return text.lower()

    return white_space_fix(remove_articles(remove_punc(lower(s))))


def exact_match_score(prediction: str, ground_truth: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(ground_truth))


def f1_score(prediction: str, ground_truth: str) -> float:
    prediction_tokens = normalize_answer(prediction).split()
    ground_truth_tokens = normalize_answer(ground_truth).split()
    common = Counter(prediction_tokens) & Counter(ground_truth_tokens)
    num_same = sum(common.values())
    if num_same == 0:
        return 0.0
    precision = 1.0 * num_same / len(prediction_tokens)
    recall = 1.0 * num_same / len(ground_truth_tokens)
    return (2 * precision * recall) / (precision + recall)


def metric_max_over_ground_truths(metric_fn, prediction: str, ground_truths: Iterable[str]) -> float:
    return max((metric_fn(prediction, gt) for gt in ground_truths), default=0.0)


# -- extensions for cited, sentence-length replies
def contains(haystack: str, needle: str) -> bool:
    """True when normalised ``needle`` occurs in normalised ``haystack`` as a whole-token sequence.

    Whole tokens, not substrings, so "three" is not found in "thirty-three".
    """
    n = normalize_answer(needle).split()
    if not n:
        return False
    h = normalize_answer(haystack).split()
    first = n[0]
    return any(h[i : i + len(n)] == n for i, tok in enumerate(h) if tok == first)


def answer_present(reply: str, answers: Sequence[str]) -> bool:
    text = strip_markers(reply)
    return any(contains(text, a) for a in answers)


def word_count(reply: str) -> int:
    return len(strip_markers(reply).split())


def quote_valid(quote: str, start: int, end: int, source_text: str | None) -> bool:
    """A citation is valid when its quote is verbatim in its source at exactly its offsets."""
    if source_text is None or not quote:
        return False
    return 0 <= start < end <= len(source_text) and source_text[start:end] == quote


def spans_of(needle: str, text: str) -> list[tuple[int, int]]:
    """Every (start, end) occurrence of ``needle`` in ``text`` (overlapping ones included)."""
    out, i = [], text.find(needle) if needle else -1
    while i >= 0:
        out.append((i, i + len(needle)))
        i = text.find(needle, i + 1)
    return out


def covered(span: tuple[int, int], intervals: Iterable[tuple[int, int]], text: str = "") -> bool:
    """True when every character of ``span`` lies in the union of ``intervals``.

    With ``text``, white space between two intervals counts as covered: two cited
    neighbouring sentences cover the space between them.
    """
    pos, end = span
    for s, e in sorted(intervals):
        if s > pos and (not text or text[pos:s].strip()):
            break
        pos = max(pos, e)
        if pos >= end:
            return True
    return pos >= end


def overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def support_cited(support: str, cites: Sequence[dict[str, Any]], sources: dict[str, str]) -> bool:
    """Is some occurrence of ``support`` in a cited source covered by that source's cited spans?"""
    if not support:
        return False
    by_path: dict[str, list[tuple[int, int]]] = {}
    for c in cites:
        if c.get("valid"):
            by_path.setdefault(c["path"], []).append((c["start"], c["end"]))
    for path, intervals in by_path.items():
        text = sources.get(path)
        if text and any(covered(sp, intervals, text) for sp in spans_of(support, text)):
            return True
    return False


def citation_relevant(cite: dict[str, Any], answers: Sequence[str], support: str, source_text: str | None) -> bool:
    """Does the citation contain an answer alias, or overlap the support text's span in its source?"""
    if any(contains(cite["quote"], a) for a in answers):
        return True
    if support and source_text:
        return any(overlaps((cite["start"], cite["end"]), sp) for sp in spans_of(support, source_text))
    return False


def citation_correct(cite: dict[str, Any], answers: Sequence[str], support: str) -> bool:
    """The headline's "correct citation": valid, and its quote contains an answer alias or the support."""
    if not cite.get("valid"):
        return False
    return any(contains(cite["quote"], a) for a in answers) or (bool(support) and contains(cite["quote"], support))


def first_relevant_rank(passage_texts: Sequence[str], support: str) -> int | None:
    """1-based rank of the first passage containing ``support``; None when none does."""
    for i, text in enumerate(passage_texts, 1):
        if contains(text, support):
            return i
    return None


def percentile(values: Sequence[float], q: float) -> float | None:
    return float(np.percentile(np.asarray(values, dtype=float), q)) if len(values) else None


def ratio(num: int | float, den: int | float) -> float | None:
    return float(num) / den if den else None


def mean(values: Iterable[float]) -> float | None:
    vals = list(values)
    return float(sum(vals)) / len(vals) if vals else None


# -- one case, then a set of cases
def score_case(case: dict[str, Any], reply: str, answered: bool, cites: list[dict[str, Any]],
               sources: dict[str, str], passage_texts: Sequence[str] | None) -> dict[str, Any]:
    """Per-case metrics. ``cites`` are citation dicts (quote, start, end, path); ``valid`` is added here.

    ``sources`` maps each cited path to its source text (missing when it could not be read, which makes
    the citation invalid). ``passage_texts`` are the retrieved passages in rank order (None to skip).
    """
    unanswerable = bool(case.get("unanswerable"))
    answers = list(case.get("answers") or [])
    support = case.get("support") or ""
    for c in cites:
        c["valid"] = quote_valid(c.get("quote", ""), c.get("start", -1), c.get("end", -1), sources.get(c.get("path", "")))
    words = word_count(reply)
    out: dict[str, Any] = {
        "refused": not answered,
        "words": words,
        "too_long": words > MAX_CORRECT_WORDS,
        "n_citations": len(cites),
        "n_valid_citations": sum(c["valid"] for c in cites),
    }
    if unanswerable:
        out["correct"] = not answered
        return out
    text = strip_markers(reply)
    for c in cites:
        c["relevant"] = citation_relevant(c, answers, support, sources.get(c.get("path", "")))
        c["correct"] = citation_correct(c, answers, support)
    present = answer_present(reply, answers)
    cited_ok = any(c["correct"] for c in cites)
    rank = first_relevant_rank(passage_texts, support) if passage_texts is not None and support else None
    out.update(
        exact_match=metric_max_over_ground_truths(exact_match_score, text, answers),
        f1=metric_max_over_ground_truths(f1_score, text, answers),
        present=present,
        cited_ok=cited_ok,
        support_cited=support_cited(support, cites, sources) if answered else False,
        n_relevant_citations=sum(c["relevant"] for c in cites),
        retrieval_rank=rank,
        retrieval_scored=passage_texts is not None and bool(support),
        correct=answered and present and cited_ok and words <= MAX_CORRECT_WORDS,
    )
    return out


def summarize(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Aggregate per-case rows (each: ``unanswerable``, ``latency_ms``, ``scores``) into the metrics.

    Ratios with an empty denominator are None (JSON null), never a made-up 0 or 1.
    """
    ans = [r for r in rows if not r.get("unanswerable")]
    una = [r for r in rows if r.get("unanswerable")]
    sc = [r["scores"] for r in rows]
    ans_sc = [r["scores"] for r in ans]
    refused = [r for r in rows if r["scores"]["refused"]]
    n_cites = sum(s["n_citations"] for s in sc)
    ans_cites = sum(s["n_citations"] for s in ans_sc)
    answered_ans = [s for s in ans_sc if not s["refused"]]
    retr = [s for s in ans_sc if s.get("retrieval_scored")]
    ranks = [s.get("retrieval_rank") for s in retr]
    lat = [r["latency_ms"] for r in rows if r.get("latency_ms") is not None]

    def recall_at(k: int | None) -> float | None:
        return ratio(sum(1 for rk in ranks if rk is not None and (k is None or rk <= k)), len(ranks))

    return {
        "total": len(rows),
        "answerable": len(ans),
        "unanswerable": len(una),
        "errors": sum(1 for r in rows if r.get("error")),
        "accuracy": ratio(sum(s["correct"] for s in sc), len(rows)),
        "answerable_accuracy": ratio(sum(s["correct"] for s in ans_sc), len(ans)),
        "exact_match": mean(s["exact_match"] for s in ans_sc),
        "f1": mean(s["f1"] for s in ans_sc),
        "presence": mean(float(s["present"]) for s in ans_sc),
        "too_long": sum(s["too_long"] for s in sc),
        "retrieval_recall_at_1": recall_at(1),
        "retrieval_recall_at_3": recall_at(3),
        "retrieval_recall_at_k": recall_at(None),
        "retrieval_mrr": mean((1.0 / rk if rk else 0.0) for rk in ranks),
        "citation_validity": ratio(sum(s["n_valid_citations"] for s in sc), n_cites),
        "citation_support": ratio(sum(s["support_cited"] for s in answered_ans), len(answered_ans)),
        "citation_precision": ratio(sum(s["n_relevant_citations"] for s in ans_sc), ans_cites),
        "refusal_precision": ratio(sum(1 for r in refused if r.get("unanswerable")), len(refused)),
        "refusal_recall": ratio(sum(1 for r in una if r["scores"]["refused"]), len(una)),
        "false_refusal_rate": ratio(sum(1 for s in ans_sc if s["refused"]), len(ans)),
        "p50_ms": percentile(lat, 50),
        "p95_ms": percentile(lat, 95),
        "mean_ms": mean(lat),
    }


def summarize_by_category(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """``summarize`` overall plus ``per_category`` (the same keys for each category)."""
    summary = summarize(rows)
    cats: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        cats.setdefault(r.get("category") or "uncategorised", []).append(r)
    summary["per_category"] = {name: summarize(group) for name, group in sorted(cats.items())}
    return summary

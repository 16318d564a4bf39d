"""Check every sentence an LLM wrote against the passages it cites.

Models — small ones above all — cite the wrong passage, invent numbers, cite
passages that do not exist or cite nothing. So after generation:

1. the reply is split into claims (sentences) with the ``[n]`` markers that
   belong to each; markers naming no passage are dropped;
2. each claim is scored against each cited passage: the share of its content
   words (stems) the passage contains (*lexical*), the best cosine between the
   claim and the passage or one of its sentences (*dense*), and whether every
   number in the claim appears in the passage;
3. a claim is supported when every number in it appears in the passage,
   lexical and dense above their ``Tuning`` thresholds;
4. the quote is the passage sentence (or two adjacent sentences) that best
   backs the claim, with absolute offsets, so ``source_text[start:end] == quote``
   holds as in the extractive mode.

Thresholds (``Tuning.verify_lexical_min`` / ``verify_dense_min``) were
calibrated on ``tests/data/verify_calibration.jsonl``: hand-written claims about
the shipped article that the passage supports (copies, paraphrases) and that it
does not (wrong numbers, the wrong passage, invented or distorted claims). They
sit in the gap between the two groups; wrong-number claims are caught only by
the number check, and a claim that negates a passage in the passage's own words
passes (the README states this limit). ``test_thresholds_separate_calibration_set``
re-measures the gap with the real model.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from ..text import terms
from ..tuning import DEFAULT_TUNING, Tuning
from ..types import ScoredPassage

# LLM output is parsed leniently: "[1]", "[ 2 ]", "[1, 3]", "[1;2]"
LLM_MARKER = re.compile(r"\[\s*(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\s*\]")
# "[n]", "[]", "[source]": bracketed non-numbers models copy from the instructions
_JUNK_MARKER = re.compile(r"\[\s*(?:n|N|x|#|source|passage|\s*)\s*\]")
_LEADING_MARKERS = re.compile(r"^\s*(?:(?:\[\s*\d{1,3}(?:\s*[,;]\s*\d{1,3})*\s*\])\s*)+")
_BULLET = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)])\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"”’)]*\s+")
_NUM = re.compile(r"\d[\d,]*(?:\.\d+)?")


class Encoder(Protocol):
    def encode(self, texts: list[str]) -> np.ndarray: ...


@dataclass
class Claim:
    """One sentence of a generated reply and the passage numbers it cites (1-based, valid only)."""

    text: str
    markers: list[int] = field(default_factory=list)
    dropped: list[int] = field(default_factory=list)  # markers that named no passage


@dataclass
class Support:
    """How well one passage backs one claim, and the quote that shows it."""

    passage: ScoredPassage
    lexical: float
    dense: float
    numbers_ok: bool
    start: int  # absolute offsets of the quote in the source text
    end: int
    quote: str

    @property
    def strength(self) -> float:
        return 0.5 * self.lexical + 0.5 * self.dense + (0.0 if self.numbers_ok else -1.0)


def _numbers(text: str) -> set[str]:
    return {n.replace(",", "").rstrip(".") for n in _NUM.findall(text)}


def _parse_markers(group: str, n_passages: int) -> tuple[list[int], list[int]]:
    ok: list[int] = []
    bad: list[int] = []
    for tok in re.split(r"[,;]", group):
        n = int(tok.strip())
        (ok if 1 <= n <= n_passages else bad).append(n)
    return ok, bad


def _claim(segment: str, n_passages: int, extra: list[int] | None = None) -> Claim:
    markers: list[int] = list(extra or [])
    dropped: list[int] = []
    for m in LLM_MARKER.finditer(segment):
        ok, bad = _parse_markers(m.group(1), n_passages)
        markers += ok
        dropped += bad
    text = LLM_MARKER.sub("", segment)
    text = _JUNK_MARKER.sub("", text)
    text = re.sub(r"\s+([.,;:!?])", r"\1", re.sub(r"\s{2,}", " ", text)).strip()
    return Claim(text=text, markers=list(dict.fromkeys(markers)), dropped=dropped)


def split_claims(reply: str, n_passages: int, min_words: int = DEFAULT_TUNING.min_claim_words) -> list[Claim]:
    """The reply's sentences with the markers that belong to each.

    A marker after a sentence ("… Ukrainians. [1] Next …") belongs to the sentence before
    it; a line that *starts* with markers ("[1] Japan …", a list style small models like)
    gives them to its own text. Fragments without at least ``min_words`` words are
    not claims, but their markers still count when they trail a sentence.
    """
    claims: list[Claim] = []
    for line in reply.splitlines():
        line = _BULLET.sub("", line).strip()
        if not line:
            continue
        lead = _LEADING_MARKERS.match(line)
        leading_style = bool(lead and line[lead.end() :].strip())
        segments = [s for s in _SENTENCE_END.split(line) if s.strip()]
        for seg in segments:
            head = _LEADING_MARKERS.match(seg)
            extra: list[int] = []
            if head and not leading_style:
                # markers opening a later segment trail the previous sentence
                ok, bad = [], []
                for m in LLM_MARKER.finditer(head.group(0)):
                    o, b = _parse_markers(m.group(1), n_passages)
                    ok += o
                    bad += b
                if claims:
                    claims[-1].markers = list(dict.fromkeys(claims[-1].markers + ok))
                    claims[-1].dropped += bad
                else:
                    extra = ok
                seg = seg[head.end() :]
            claim = _claim(seg, n_passages, extra)
            if len(re.findall(r"[A-Za-z0-9]+", claim.text)) >= min_words:
                claims.append(claim)
            elif claims and claim.markers:
                claims[-1].markers = list(dict.fromkeys(claims[-1].markers + claim.markers))
    return claims


class Verifier:
    """Scores claims against passages with the project's embedder and tokenizer."""

    def __init__(self, encoder: Encoder, tuning: Tuning = DEFAULT_TUNING) -> None:
        self.encoder = encoder
        self.tuning = tuning
        self.lexical_min = tuning.verify_lexical_min
        self.dense_min = tuning.verify_dense_min
        self._cache: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def _vectors(self, texts: list[str]) -> list[np.ndarray]:
        """Vectors for ``texts``; passages repeat across questions, so they are cached (thread-safe)."""
        with self._lock:
            found = {t: self._cache[t] for t in texts if t in self._cache}
        todo = [t for t in dict.fromkeys(texts) if t not in found]
        if todo:
            fresh = dict(zip(todo, (np.asarray(v, dtype=np.float32) for v in self.encoder.encode(todo)), strict=True))
            found.update(fresh)
            with self._lock:
                if len(self._cache) > 4096:  # generated claims rarely repeat: start over
                    self._cache.clear()
                self._cache.update(fresh)
        return [found[t] for t in texts]

    def is_supported(self, s: Support) -> bool:
        return s.numbers_ok and s.lexical >= self.lexical_min and s.dense >= self.dense_min

    def support(self, claim: str, passage: ScoredPassage) -> Support:
        """How well ``passage`` backs ``claim``; the quote is its best sentence(s)."""
        base = passage.start
        spans = passage.sentences or [(passage.start, passage.end)]
        sent_texts = [passage.text[s - base : e - base] for s, e in spans]
        claim_terms = set(terms(claim))
        vecs = self._vectors([claim, passage.text, *sent_texts])
        cvec, pvec, svecs = vecs[0], vecs[1], vecs[2:]
        sent_dense = [float(np.dot(cvec, v)) for v in svecs]
        sent_terms = [set(terms(t)) for t in sent_texts]

        def cover(ts: set[str]) -> float:
            return len(claim_terms & ts) / len(claim_terms) if claim_terms else 0.0

        best = max(range(len(spans)), key=lambda i: 0.5 * cover(sent_terms[i]) + 0.5 * sent_dense[i])
        first, last = best, best
        covered = sent_terms[best]
        for j in (best - 1, best + 1):
            if 0 <= j < len(spans) and cover(covered | sent_terms[j]) - cover(covered) >= self.tuning.verify_adjacent_gain:
                first, last = min(first, j), max(last, j)
                covered = covered | sent_terms[j]
                break
        start, end = spans[first][0], spans[last][1]
        quote = passage.text[start - base : end - base]
        lexical = cover(set(terms(passage.text)))
        dense = max([float(np.dot(cvec, pvec)), *sent_dense])
        passage_numbers = _numbers(passage.text)
        numbers_ok = _numbers(claim) <= passage_numbers
        return Support(passage, round(lexical, 4), round(dense, 4), numbers_ok, start, end, quote)


__all__ = ["LLM_MARKER", "Claim", "Support", "Verifier", "split_claims"]

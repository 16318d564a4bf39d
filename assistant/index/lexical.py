"""The BM25 mirror of the passage collection, with the corpus statistics question analysis reads.

BM25 finds rare exact words (names, numbers) that MiniLM blurs; the same index
gives question analysis (``answering.question``) idf weights, the vocabulary
(a name no source mentions) and which words the corpus writes as names. It is
built from the store's records, streamed, and saved under a hash of their ids so
a restart over an unchanged store loads it instead of re-tokenising.
"""

from __future__ import annotations

import json
import math
import re
import shutil
from array import array
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..lexicon import STOPWORDS
from ..text import near_word, terms
from .files import replace_dir, temp_path

# a word not opening a sentence (its case then says whether it is a name)
_MID_SENTENCE_WORD = re.compile(r"(?<=[a-z0-9,;)] )[A-Za-z][A-Za-z'-]{2,}")


# a run of capitalised words, with the small words names keep inside them ("Bank for International Cooperation")
_NAME_RUN = re.compile(r"[A-Z][A-Za-z&-]*(?:\s+(?:(?:of|for|and|the|on|de|du)\s+)*[A-Z][A-Za-z&-]*)+")
_NAME_JOINERS = frozenset("of for and the on de du".split())
_NOT_NAME_START = _NAME_JOINERS | {"a", "an", "in", "at", "by"}  # "The Japan Bank…" starts at "Japan"


def acronyms_of(text: str) -> set[str]:
    """The acronyms ``text`` spells out, lower case: "Japan Bank for International Cooperation" gives "jbic".

    Why: a question says "JBIC" or "UNDP" where a document writes the name in full, and a
    name no source mentions is refused (``unknown_term``). Each capitalised word gives its
    initial (a word in capitals, such as "UN", gives itself); the small words inside a name
    count both ways ("jbic" and "jbfic"); every stretch of two or more words of a run counts, and
    acronyms of three to eight letters are kept, two letters only for a name of two words.
    """
    out: set[str] = set()
    pairs: set[str] = set()  # two letters only from a name of exactly two words: inside longer ones they match by chance
    for run in _NAME_RUN.findall(text):
        words = run.split()[:8]
        if len(words) == 2 and not _NAME_JOINERS & {x.lower() for x in words} and \
                words[0].lower() not in _NOT_NAME_START:
            pairs.add((words[0][0] + words[1][0]).lower())  # "LA" for "Los Angeles", "NZ" for "New Zealand"
        for i, first in enumerate(words):
            if first.lower() in _NOT_NAME_START:
                continue
            short = full = ""
            for j in range(i, len(words)):
                w = words[j]
                letter = w if w.isupper() and len(w) <= 4 else w[0]
                full += letter[0] if w in _NAME_JOINERS else letter
                if w not in _NAME_JOINERS:
                    short += letter
                    if j > i:
                        out.update((short.lower(), full.lower()))
    return {a for a in out if 3 <= len(a) <= 8} | pairs


def _proper_stems(cases: Counter) -> set[str]:
    """Stems of words the corpus writes with a capital inside sentences at least four times in five.

    A user who types "sakhalin mitsui stake" in lower case still names things; this is how
    the question's words are recognised as names without a dictionary.
    """
    seen: dict[str, list[int]] = {}
    for form, n in cases.items():
        low = form.lower()
        counts = seen.setdefault(low, [0, 0])
        counts[0 if form[0].isupper() else 1] += n
    out = set()
    for low, (upper, lower) in seen.items():
        if upper >= 2 and upper >= 4 * lower:
            out.update(terms(low))
    return out - STOPWORDS


# what a saved index holds; a version that reads the text differently (two-letter acronyms since 2) rebuilds it
FORMAT = 2


@dataclass
class LexicalIndex:
    """BM25 over the passages, plus document frequencies for term weighting."""

    ids: list[str] = field(default_factory=list)
    bm25: Any = None
    df: Counter = field(default_factory=Counter)
    n_docs: int = 0
    vocab: set[str] = field(default_factory=set)
    proper: set[str] = field(default_factory=set)  # stems the corpus writes as names ("mitsui", "sakhalin")
    acronyms: set[str] = field(default_factory=set)  # acronyms of names the corpus spells out ("jbic")
    sources: list[str] = field(default_factory=list)  # the source of each passage, parallel to ``ids``
    titles: dict[str, str] = field(default_factory=dict)  # source -> its title: the documents a scope can name
    _by_prefix: dict[str, list[str]] | None = field(default=None, repr=False)
    _codes: np.ndarray | None = field(default=None, repr=False)  # each passage's source as an integer
    _code_of: dict[str, int] = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, records: Iterable[tuple[str, ...]]) -> LexicalIndex:
        """Index ``(id, text[, source, title])`` records, streaming: each text becomes an array of term ids at once.

        The source of each passage is kept so a search can be limited to some documents
        (``search(..., within=...)``), the same scope the dense side gets from Chroma's filter.

        Lists of term strings for 100k passages would hold ~13M string objects
        (about 1 GB); arrays of ids hold 4 bytes a term.
        """
        import bm25s

        ids: list[str] = []
        vocab: dict[str, int] = {}
        docs: list[array] = []
        df: Counter = Counter()
        cases: Counter = Counter()  # word form -> occurrences, to tell names from common words
        acronyms: set[str] = set()
        sources: list[str] = []
        titles: dict[str, str] = {}
        for rid, text, *where in records:
            source = str(where[0]) if where else ""
            sources.append(source)
            if where and source not in titles:
                titles[source] = str(where[1] if len(where) > 1 and where[1] else source)
            toks = terms(text)
            df.update(set(toks))
            docs.append(array("I", [vocab.setdefault(t, len(vocab)) for t in toks]))
            ids.append(rid)
            cases.update(_MID_SENTENCE_WORD.findall(text))
            acronyms |= acronyms_of(text)
        index = cls(ids=ids, df=df, n_docs=len(ids), vocab=set(df), proper=_proper_stems(cases), sources=sources,
                    titles=titles, acronyms=acronyms)
        if ids and vocab:
            model = bm25s.BM25()
            model.index((docs, vocab), show_progress=False)
            index.bm25 = model
        return index

    def save(self, folder: Path) -> None:
        """Write the index to ``folder`` atomically (a reader never sees half of it)."""
        tmp = temp_path(folder)
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if self.bm25 is not None:
            self.bm25.save(str(tmp / "bm25"), show_progress=False)
        data = {"format": FORMAT, "ids": self.ids, "df": self.df, "proper": sorted(self.proper),
                "sources": self.sources, "titles": self.titles, "acronyms": sorted(self.acronyms)}
        (tmp / "index.json").write_text(json.dumps(data), encoding="utf-8")
        replace_dir(tmp, folder)  # False: another process saved the same index first

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex:
        import bm25s

        data = json.loads((folder / "index.json").read_text(encoding="utf-8"))
        df = Counter(data["df"])
        if data.get("format") != FORMAT:
            raise ValueError("saved by an older version")  # rebuilt by the caller
        index = cls(ids=data["ids"], df=df, n_docs=len(data["ids"]), vocab=set(df), proper=set(data["proper"]),
                    sources=data["sources"], titles=data.get("titles") or {}, acronyms=set(data["acronyms"]))
        if (folder / "bm25").exists():
            index.bm25 = bm25s.BM25.load(str(folder / "bm25"), show_progress=False)
        return index

    def near(self, term: str) -> bool:
        """Is a word of the corpus one typo away from ``term`` ("Kishda" → "kishida")? Only for words of 5+ letters."""
        if len(term) < 5 or not term.isalpha():
            return False
        if self._by_prefix is None:
            index: dict[str, list[str]] = {}
            for t in self.vocab:
                if t.isalpha() and len(t) >= 4:
                    index.setdefault(t[:2], []).append(t)
            self._by_prefix = index
        return near_word(term, self._by_prefix.get(term[:2], []))

    def idf(self, term: str) -> float:
        """Smoothed idf; unseen terms get the maximum so a missing name weighs heavily."""
        return math.log(1 + (self.n_docs + 1) / (self.df.get(term, 0) + 0.5))

    def mask(self, within: frozenset[str]) -> np.ndarray:
        """1.0 for each passage whose source is in ``within``, else 0.0 (BM25's weight mask).

        Sources are coded as integers once, so a scoped question costs one ``np.isin``
        over the passages (about a millisecond at 100k), not a Python loop.
        """
        if self._codes is None:
            code_of: dict[str, int] = {}
            self._codes = np.fromiter((code_of.setdefault(s, len(code_of)) for s in self.sources), dtype=np.int32,
                                      count=len(self.sources))
            self._code_of = code_of
        wanted = [self._code_of[s] for s in within if s in self._code_of]
        return np.isin(self._codes, wanted).astype(np.float32)

    def search(self, query_terms: list[str], k: int, within: frozenset[str] | None = None) -> list[tuple[int, float]]:
        """Passage indices and BM25 scores, best first; ``within``: only passages of these sources."""
        known = [t for t in query_terms if t in self.vocab]
        if not known or self.bm25 is None:
            return []
        k = min(k, self.n_docs)
        mask = self.mask(within) if within is not None else None
        if mask is not None and not mask.any():
            return []
        docs, scores = self.bm25.retrieve([known], k=k, show_progress=False, weight_mask=mask)
        return [(int(d), float(s)) for d, s in zip(docs[0], scores[0]) if s > 0]

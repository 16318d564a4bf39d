"""Word-level text normalisation shared by BM25, sentence scoring and the evals.

One tokenizer everywhere keeps the lexical signals consistent: lower-cased word
tokens, curly quotes folded, English stop words dropped, Snowball stems.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

# Question words and fillers carry no topical signal; the rest is a standard
# short English stop list.
STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have having
    he her here hers herself him himself his how i if in into is it its itself just me more most my myself no
    nor not now of off on once only or other our ours ourselves out over own same she should so some such than
    that the their theirs them themselves then there these they this those through to too under until up very
    was we were what when where which while who whom why will with would you your yours yourself yourselves
    s t also many much did does whose whats tell say said according article text source sources please
    give describe explain mention mentioned list kind sort way ways one""".split()
)

_WORD = re.compile(r"[a-z0-9]+(?:[.,][0-9]+)*")
_QUOTES = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "—": " ", "–": " "})


@lru_cache(maxsize=1)
def _stemmer():
    try:
        import Stemmer

        return Stemmer.Stemmer("english")
    except ImportError:  # pragma: no cover - PyStemmer is a dependency
        return None


def words(text: str) -> list[str]:
    """Lower-cased word tokens, possessive 's removed."""
    text = text.translate(_QUOTES).lower().replace("'s ", " ")
    return _WORD.findall(text)


def stem_all(tokens: list[str]) -> list[str]:
    st = _stemmer()
    return st.stemWords(tokens) if st else tokens


@lru_cache(maxsize=65536)
def _stem_one(token: str) -> str:
    st = _stemmer()
    return st.stemWord(token) if st else token


def terms(text: str) -> list[str]:
    """Content-word stems: what BM25 and lexical overlap compare."""
    return [_stem_one(w) for w in words(text) if w not in STOPWORDS]


_HAS_DIGIT = re.compile(r"\d")

# A citation marker "[n]" in an answer's text (the web chat links it, the evals and
# follow-up resolution strip it). LLM output is parsed more leniently in ``verify``.
MARKER = re.compile(r"\[(\d+)\]")
_MARKER_WITH_SPACE = re.compile(r"\s*\[\d+\]")


def strip_markers(text: str) -> str:
    """``text`` without its ``[n]`` citation markers (and the space before each)."""
    return _MARKER_WITH_SPACE.sub("", text)


def stream_words(text: str) -> Iterator[str]:
    """``text`` in word-sized pieces (each with its trailing space), as a UI streams it."""
    yield from re.findall(r"\S+\s*", text)


def key_terms(question: str) -> list[tuple[str, list[str]]]:
    """Words a correct answer's source must contain: names and numbers in the question.

    Capitalised words after the first, acronyms and digits mark the specific
    thing asked about; a corpus lacking them cannot answer (e.g. "South Korea",
    "2019"). Adjacent capitalised words form one phrase. Returns (phrase as
    written, its stems) pairs.
    """
    toks = list(re.finditer(r"[A-Za-z][A-Za-z'’.-]*[A-Za-z]|\d[\d,.]*", question))
    out: list[tuple[str, list[str]]] = []
    phrase: list[str] = []
    last_end = -1

    def flush() -> None:
        if phrase:
            text = " ".join(phrase)
            out.append((text, terms(text)))
            phrase.clear()

    for i, m in enumerate(toks):
        tok = m.group().rstrip(".").replace("’", "'")
        if tok.endswith("'s"):
            tok = tok[:-2]
        is_number = bool(_HAS_DIGIT.search(tok))
        is_name = i > 0 and tok[:1].isupper() and tok.lower() not in STOPWORDS
        if is_name and phrase and question[last_end:m.start()].strip() == "":
            phrase.append(tok)
        else:
            flush()
            if is_name:
                phrase.append(tok)
            elif is_number:
                out.append((tok, terms(tok)))
        last_end = m.end()
    flush()
    return [(text, stems) for text, stems in out if stems]


# Common abbreviations and demonyms of the entities news text names. General
# English knowledge, not tuned to any question: "US" should match "United
# States", "Chinese" should match "China".
_ALIAS_GROUPS = [
    ["US", "U.S.", "USA", "United States", "America", "American", "Americans"],
    ["UK", "U.K.", "United Kingdom", "Britain", "British"],
    ["EU", "European Union"],
    ["UN", "United Nations"],
    ["PM", "Prime Minister"],
    ["USSR", "Soviet Union", "Soviet"],
    ["NATO", "North Atlantic Treaty Organization"],
    ["DPRK", "North Korea", "North Korean"],
    ["PRC", "China", "Chinese", "Beijing"],
    ["Japan", "Japanese", "Tokyo"],
    ["Russia", "Russian", "Russians", "Moscow", "Kremlin"],
    ["Ukraine", "Ukrainian", "Ukrainians", "Kyiv", "Kiev"],
    ["Korea", "Korean", "Koreans"],
    ["Taiwan", "Taiwanese", "Taipei"],
    ["Germany", "German", "Germans", "Berlin"],
    ["France", "French", "Paris"],
    ["India", "Indian", "Indians"],
    ["Israel", "Israeli", "Israelis"],
    ["Turkey", "Turkish"],
    ["Canada", "Canadian", "Canadians"],
    ["Europe", "European", "Europeans"],
]


@lru_cache(maxsize=1)
def _alias_index() -> dict[tuple[str, ...], list[tuple[str, ...]]]:
    index: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
    for group in _ALIAS_GROUPS:
        stems = [tuple(terms(name)) for name in group]
        for s in stems:
            if s:
                index.setdefault(s, []).extend(o for o in stems if o and o != s)
    return index


def aliases(stems: list[str]) -> list[tuple[str, ...]]:
    """Other names (as stem tuples) for the phrase with these stems."""
    return _alias_index().get(tuple(stems), [])


def alias_terms(stems: list[str]) -> set[str]:
    """Stems of every alias of each single word and of the whole phrase."""
    out: set[str] = set()
    for key in [tuple(stems), *((s,) for s in stems)]:
        for alt in _alias_index().get(key, []):
            out.update(alt)
    return out

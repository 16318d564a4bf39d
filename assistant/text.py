"""Word-level text normalisation shared by BM25, sentence scoring and the evals.

One tokenizer everywhere keeps the lexical signals consistent: lower-cased word
tokens, curly quotes folded, English stop words dropped, Snowball stems.
"""

from __future__ import annotations

import re
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


_NUMBER = re.compile(r"\d")


def key_terms(question: str) -> list[str]:
    """Words a correct answer's source must contain: names and numbers in the question.

    Capitalised words after the first, acronyms and digits mark the specific
    thing asked about; a corpus lacking them cannot answer (e.g. "South Korea",
    "2019").
    """
    toks = re.findall(r"[A-Za-z][A-Za-z'’.-]*[A-Za-z]|\d[\d,.]*", question)
    out: list[str] = []
    for i, tok in enumerate(toks):
        tok = tok.rstrip(".").replace("’", "'")
        if tok.endswith("'s"):
            tok = tok[:-2]
        is_number = bool(_NUMBER.search(tok))
        is_name = i > 0 and tok[:1].isupper() and tok.lower() not in STOPWORDS
        if is_number or is_name:
            out.extend(terms(tok))
    return out

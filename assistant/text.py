"""Word-level text normalisation shared by BM25, sentence scoring and the evals.

One tokenizer everywhere keeps the lexical signals consistent: lower-cased word
tokens, curly quotes folded, English stop words dropped, Snowball stems.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
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


_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")


# a name with a number in it ("Sakhalin-2", "PAC-3", "G7"): one more token for the whole, so that
# "Sakhalin-1" and "Sakhalin-2" are different things and not "sakhalin" plus any "1" nearby
_COMPOUND = re.compile(r"\b([a-z]{2,}-\d{1,3}|\d{1,3}-[a-z]{2,})\b")


def words(text: str) -> list[str]:
    """Lower-cased word tokens, possessive 's removed, thousands separators dropped ("2,000" → "2000").

    A hyphenated letters-and-digits name also yields its joined form: "Sakhalin-2" → sakhalin, 2, sakhalin2.
    """
    text = _THOUSANDS.sub("", text.translate(_QUOTES).lower().replace("'s ", " "))
    out = _WORD.findall(text)
    if "-" in text:
        out += [m.replace("-", "") for m in _COMPOUND.findall(text)]
    return out


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


_ORDINALS = frozenset("second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth".split())
_ORDINAL_DIGITS = re.compile(r"^\d{1,2}(st|nd|rd|th)$", re.I)
_MONTHS = frozenset(
    "january february march april may june july august september october november december "
    "jan feb mar apr jun jul aug sep sept oct nov dec".split()
)


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
            share = sum(s in stems or _near(s, stems) for s in alt) / len(alt)
            best = max(best, share)
        if best < 1.0 and len(self.stems) > 1:  # "Prime Minister Kishida": each word, or its alias, counts
            per_word = [s in stems or any(all(w in stems for w in a) for a in aliases([s])) for s in self.stems]
            best = max(best, sum(per_word) / len(per_word))
        return best


# one typo in a word of 5+ letters: "kishda" finds "kishida", but "australia" does not find "austria"
NEAR_CUTOFF = 0.88


def near_word(word: str, pool: list[str]) -> bool:
    """Is ``word`` one typo (a letter added, dropped or changed) away from a word of ``pool``?"""
    import difflib

    if len(word) < 5 or not word.isalpha():
        return False
    pool = [s for s in pool if s[:1] == word[:1] and abs(len(s) - len(word)) <= 1]
    return bool(difflib.get_close_matches(word, pool, n=1, cutoff=NEAR_CUTOFF))


def _near(word: str, stems: set[str]) -> bool:
    return near_word(word, list(stems))


def clean_question(question: str) -> str:
    """The question without HTML tags, entities and markdown marks a user pasted around it."""
    text = html.unescape(re.sub(r"<[^>]{0,200}>", " ", question))
    text = re.sub(r"(\*\*|__|`+|^#+\s*|^>\s*)", " ", text, flags=re.M)
    return re.sub(r"\s+", " ", text).strip()


def key_terms(question: str, proper: set[str] | frozenset[str] = frozenset()) -> list[KeyTerm]:
    """The terms a correct answer's evidence must contain: names, figures, months and ordinals.

    Capitalised words (not opening a sentence), acronyms and digits mark the specific
    thing asked about ("South Korea", "2019"); so do month names ("in April") and
    ordinals ("the second package"). Adjacent capitalised words form one phrase; a
    possessive ends it ("Japan's February" is two terms). ``proper`` holds stems the
    corpus writes as names, so a question typed in lower case still names them.
    """
    toks = list(re.finditer(r"[A-Za-z0-9][A-Za-z0-9'’.-]*[A-Za-z0-9]%?|\d%?|[.!?:;]", question))
    out: list[KeyTerm] = []
    phrase: list[str] = []
    last_end = -1
    sentence_start = True

    def flush() -> None:
        if phrase:
            text = " ".join(phrase)
            out.append(KeyTerm(text, tuple(terms(text)), "name"))
            phrase.clear()

    for m in toks:
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
        if low in _MONTHS and (tok[:1].isupper() or low not in ("may", "march")):  # "may", "march" are verbs too
            flush()
            out.append(KeyTerm(tok, tuple(terms(tok)), "month"))
        elif low in _ORDINALS or _ORDINAL_DIGITS.match(tok):
            flush()
            out.append(KeyTerm(tok, tuple(terms(tok)), "ordinal"))
        elif _HAS_DIGIT.search(tok) and not re.search(r"[A-Za-z]", tok):
            flush()
            kind = "year" if re.fullmatch(r"(1[89]|20)\d\d", tok) else "number"
            out.append(KeyTerm(tok, tuple(terms(tok)), kind))
        elif low not in STOPWORDS and (
            (tok[:1].isupper() and (not sentence_start or (tok.isupper() and len(tok) > 1)))
            or (proper and tok.islower() and all(t in proper for t in terms(tok)) and terms(tok))
        ):
            if phrase and question[last_end:m.start()].strip() != "":
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
    ["Poland", "Polish", "Warsaw"],
    ["Belarus", "Belarusian", "Minsk"],
    ["Jan", "January"], ["Feb", "February"], ["Mar", "March"], ["Apr", "April"], ["Jun", "June"], ["Jul", "July"],
    ["Aug", "August"], ["Sep", "Sept", "September"], ["Oct", "October"], ["Nov", "November"], ["Dec", "December"],
    ["percent", "per cent", "%"],
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

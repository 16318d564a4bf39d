"""Word-level text normalisation shared by BM25, the answer path and the evals.

One tokenizer everywhere keeps the lexical signals consistent: lower-cased word
tokens, curly quotes folded, English stop words dropped (``lexicon.STOPWORDS``),
Snowball stems; plus the aliases of common names and the one-typo match that
both the retriever and the answerer use.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Iterator
from functools import lru_cache
from itertools import islice

from .lexicon import ALIAS_GROUPS, STOPWORDS

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


# one typo in a word of 5+ letters: "kishda" finds "kishida", but "australia" does not find "austria"
NEAR_CUTOFF = 0.88
# Bounds on the fuzzy match, so its cost never grows with what a request sends: difflib compares two
# words in time quadratic in their length, and a question (with its history) can name thousands of
# words. No real word needs a typo forgiven past 30 letters ("internationalisation" has 20), and
# only the first 2,000 same-initial, same-length words of a pool are compared (a corpus's whole
# vocabulary under one initial; a window's words are far fewer).
NEAR_MAX_CHARS = 30
NEAR_MAX_POOL = 2000


def near_word(word: str, pool: Iterable[str]) -> bool:
    """Is ``word`` one typo (a letter added, dropped, changed, or two neighbours swapped) away from a word of ``pool``?

    Words shorter than 5 letters (too many neighbours) or longer than ``NEAR_MAX_CHARS`` are never
    near; at most ``NEAR_MAX_POOL`` candidates of ``pool`` are compared. A swap ("Janaury",
    "Zelenksy") is the commonest typo, but difflib counts it as two edits, so it is checked apart.
    """
    return nearest_word(word, pool) is not None


def nearest_word(word: str, pool: Iterable[str]) -> str | None:
    """The first word of ``pool`` one typo away from ``word`` (``near_word``'s rules), or None."""
    if not 5 <= len(word) <= NEAR_MAX_CHARS or not word.isalpha():
        return None
    n, first = len(word), word[:1]
    close = islice((s for s in pool if s[:1] == first and abs(len(s) - n) <= 1), NEAR_MAX_POOL)
    return next((s for s in close if _one_typo(word, s)), None)


_LETTERS = re.compile(r"[^\W\d_]+")


def mend_typos(text: str, source: str) -> str:
    """``text`` with each word that ``source`` lacks but holds one typo away spelled as ``source`` spells it.

    Why: the trained reader reads the question's own words, and a misspelt name ("Kishda") reads to it like
    another person, so a near-miss; the features already forgive such typos (``near_word``). Only words of
    5+ letters are mended, as in ``near_word``; figures never are, so "Sakhalin-1" stays what it is; nor is
    another form of a word ``source`` holds ("evacuees" against "evacuee"): that is no typo.
    """
    pool: dict[str, str] = {}
    for w in _LETTERS.findall(source):
        pool.setdefault(w.lower(), w)
    stems = {_stem_one(w) for w in pool}

    def mend(m: re.Match[str]) -> str:
        word = m.group(0)
        if word.lower() in pool or _stem_one(word.lower()) in stems:
            return word
        near = nearest_word(word.lower(), pool)
        return pool[near] if near else word

    return _LETTERS.sub(mend, text)


@lru_cache(maxsize=65536)
def _one_typo(word: str, other: str) -> bool:
    """``near_word`` for one pair of words, cached: a question's key terms meet the same few words in every
    candidate's window, so the same pairs come back many times per question and difflib runs once per pair."""
    import difflib

    swaps = (word[:i] + word[i + 1] + word[i] + word[i + 2 :] for i in range(len(word) - 1))
    if len(other) == len(word) and other in swaps:
        return True  # two neighbours swapped: difflib counts that as two edits
    # what difflib.get_close_matches(word, [other], cutoff=NEAR_CUTOFF) tests, cheapest bound first
    m = difflib.SequenceMatcher(None, other, word)
    return m.real_quick_ratio() >= NEAR_CUTOFF and m.quick_ratio() >= NEAR_CUTOFF and m.ratio() >= NEAR_CUTOFF


def clean_question(question: str) -> str:
    """The question without HTML tags, entities and markdown marks a user pasted around it."""
    text = html.unescape(re.sub(r"<[^>]{0,200}>", " ", question))
    text = re.sub(r"(\*\*|__|`+|^#+\s*|^>\s*)", " ", text, flags=re.M)
    return re.sub(r"\s+", " ", text).strip()


@lru_cache(maxsize=1)
def country_groups() -> list[list[str]]:
    """Each country's name, demonym, capital and spelled-out codes (countryinfo's data): "Danish" names Denmark,
    "Ottawa" Canada's government, "UAE" the United Arab Emirates.

    Why a package: a question that says "Chilean voters" about a document on Chile would otherwise be refused as
    naming something no source mentions; 250 countries are general knowledge, not a list to keep by hand. Two- and
    three-letter ISO codes are left out ("CAN", "ARE" are words), and so are other spellings ("Island" is Iceland's).
    """
    from countryinfo import all_countries

    groups = []
    for country in all_countries():
        try:
            name, demonym, capital = country.name(), country.demonym(), country.capital()
            alts, iso = country.alt_spellings(), country.iso()
        except Exception:  # noqa: BLE001 - an entry the package holds incomplete is skipped
            continue
        codes = {str(v) for v in (iso or {}).values()}
        capitals = capital if isinstance(capital, list) else [capital]  # a few countries have several
        group = [x for x in (name, demonym, *(str(city or "").split(" D.C.")[0] for city in capitals)) if x]
        group += [a for a in alts or [] if a.isascii() and a.isupper() and len(a) >= 3 and a not in codes]
        if len(group) > 1:
            groups.append(group)
    return groups


@lru_cache(maxsize=1)
def _alias_index() -> dict[tuple[str, ...], list[tuple[str, ...]]]:
    index: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
    for group in [*ALIAS_GROUPS, *country_groups()]:
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

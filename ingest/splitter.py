"""Split a source text into passages of whole sentences, with exact offsets.

Sentences come from Bling Fire (Microsoft's compiled sentence breaker, ~25x
faster than pysbd and splitting the article identically), with one repair:
a break right after a title or an initial ("Mr.", "Gen.", "J. Novak") is
undone, using pysbd's English abbreviation lists. It runs line by line so a
heading or a list item never fuses with the next paragraph. Passages
pack consecutive sentences up to ``max_chars``, preferring to break where the
source breaks a line, and never across a blank line. Every offset indexes the
source text, so ``text[start:end]`` is the passage or sentence verbatim.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache

MAX_CHARS = 900  # ~150 words: one paragraph of an article, well under MiniLM's 256-token window
MIN_CHARS = 200  # a passage shorter than this absorbs the next line (e.g. a heading)


@dataclass(frozen=True)
class Passage:
    id: str
    source: str
    title: str
    start: int
    end: int
    text: str
    sentences: tuple[tuple[int, int], ...]  # absolute offsets of each sentence
    ordinal: int


@lru_cache(maxsize=1)
def _abbreviations() -> tuple[frozenset[str], frozenset[str]]:
    """(words that precede a name, words that precede a number), lower case, from pysbd."""
    from pysbd.lang.english import English

    a = English.Abbreviation
    return frozenset(a.PREPOSITIVE_ABBREVIATIONS), frozenset(a.NUMBER_ABBREVIATIONS)


_LAST_WORD = re.compile(r"(?:^|\s)\(?([A-Za-z]+)\.$")
_FALLBACK = re.compile(r"[^.!?]+(?:[.!?]+[\"'”’)\]]*|$)")


def _glued(before: str, after: str) -> bool:
    """True when a break between ``before`` and ``after`` falls after an abbreviation, not a sentence."""
    m = _LAST_WORD.search(before)
    if not m or not after:
        return False
    word = m.group(1)
    titles, numbered = _abbreviations()
    if len(word) == 1 and word.isupper():  # an initial: "J. Novak"
        return True
    return word.lower() in titles or (word.lower() in numbered and after[0].isdigit())


def _breaks(line: str) -> list[tuple[int, int]]:
    try:
        import blingfire

        return [(int(s), int(e)) for s, e in blingfire.text_to_sentences_and_offsets(line)[1]]
    except Exception:  # an exotic input the breaker rejects: a regex is better than nothing
        return [(m.start(), m.end()) for m in _FALLBACK.finditer(line)]


BREAK_WINDOW = 20_000  # characters handed to the sentence breaker at once; a paragraph is far shorter
_LAST_SPACE = re.compile(r"\s(?=\S*\Z)")
_TERMINAL = re.compile(r"[.!?。！？…‼⁇-⁉]")


def windowed_breaks(line: str, window: int = BREAK_WINDOW) -> list[tuple[int, int]]:
    """``_breaks(line)``, fed to the breaker a window at a time so that an enormous line costs linear time.

    Why: a multi-megabyte line with no sentence end (a dump, a minified page)
    makes the breaker slow and memory-hungry as one "sentence". Each window
    keeps its complete sentences and starts the next window at its last,
    possibly cut, sentence, so ordinary text breaks exactly as in one call; a
    window holding no break at all is cut at its last space (or hard).
    """
    if len(line) <= window:
        return _breaks(line)
    out: list[tuple[int, int]] = []
    pos = 0
    while pos < len(line):
        chunk = line[pos : pos + window]
        # no sentence-final mark, no break: skip the breaker (the slow part of an unpunctuated run)
        spans = _breaks(chunk) if _TERMINAL.search(chunk) else [(0, len(chunk))]
        if pos + window >= len(line):
            out.extend((pos + s, pos + e) for s, e in spans)
            break
        if len(spans) > 1:
            keep, step = spans[:-1], spans[-1][0]
        else:
            m = _LAST_SPACE.search(chunk)
            step = m.end() if m and m.start() > 0 else len(chunk)
            keep = [(0, step)]
        out.extend((pos + s, pos + e) for s, e in keep)
        pos += step
    return out


def cap_spans(line: str, spans: list[tuple[int, int]], limit: int = MAX_CHARS) -> list[tuple[int, int]]:
    """``spans`` with every span longer than ``limit`` cut into pieces of at most ``limit`` characters.

    Why: a sentence is the unit of a quote and a passage holds whole
    sentences, so text without sentence ends (a long unpunctuated line) would
    otherwise become one huge passage and one huge quote. Pieces end at the last
    whitespace within the limit when there is one, and are trimmed like sentences.
    """
    out: list[tuple[int, int]] = []
    for s, e in spans:
        while e - s > limit:
            m = _LAST_SPACE.search(line, s, s + limit)
            cut = m.start() if m and m.start() > s else s + limit
            out.append((s, cut))
            s = cut
            while s < e and line[s].isspace():
                s += 1
        if e > s:
            out.append((s, e))
    return out


def _segment_line(line: str) -> list[tuple[int, int]]:
    """Sentence spans within one line, whitespace trimmed."""
    spans: list[tuple[int, int]] = []
    for s, e in windowed_breaks(line):
        # trim whitespace so quotes are clean and offsets still match
        while s < e and line[s].isspace():
            s += 1
        while e > s and line[e - 1].isspace():
            e -= 1
        if e <= s:
            continue
        if spans and _glued(line[spans[-1][0] : spans[-1][1]], line[s:e]):
            spans[-1] = (spans[-1][0], e)
        else:
            spans.append((s, e))
    return cap_spans(line, spans or [(0, len(line))])


def split_sentences(text: str, start: int = 0) -> list[tuple[int, int, bool]]:
    """(start, end, breaks_paragraph) for every sentence of ``text[start:]``.

    ``breaks_paragraph`` is True when a blank line precedes the sentence.
    """
    out: list[tuple[int, int, bool]] = []
    pos = start
    blank_before = True
    for line in text[start:].split("\n"):
        stripped = line.strip()
        if not stripped:
            blank_before = True
        else:
            first = True
            for s, e in _segment_line(line):
                out.append((pos + s, pos + e, blank_before if first else False))
                first = False
            blank_before = False
        pos += len(line) + 1
    return out


def _line_break_between(text: str, a_end: int, b_start: int) -> bool:
    return "\n" in text[a_end:b_start]


def passage_id(source: str, text: str, occurrence: int) -> str:
    """Stable id: same source and same passage text give the same id across runs."""
    h = hashlib.sha1(f"{source}\x00{occurrence}\x00{text}".encode()).hexdigest()
    return h[:20]


def split_passages(
    text: str,
    source: str,
    title: str,
    *,
    body_start: int = 0,
    max_chars: int = MAX_CHARS,
    min_chars: int = MIN_CHARS,
) -> list[Passage]:
    sentences = split_sentences(text, body_start)
    groups: list[list[tuple[int, int]]] = []
    current: list[tuple[int, int]] = []
    for s, e, para_break in sentences:
        if current:
            cur_len = current[-1][1] - current[0][0]
            new_len = e - current[0][0]
            line_break = _line_break_between(text, current[-1][1], s)
            if para_break or new_len > max_chars or (line_break and cur_len >= min_chars):
                groups.append(current)
                current = []
        current.append((s, e))
    if current:
        groups.append(current)

    passages: list[Passage] = []
    seen: dict[str, int] = {}
    for i, group in enumerate(groups):
        start, end = group[0][0], group[-1][1]
        body = text[start:end]
        occ = seen.get(body, 0)
        seen[body] = occ + 1
        passages.append(
            Passage(
                id=passage_id(source, body, occ),
                source=source,
                title=title,
                start=start,
                end=end,
                text=body,
                sentences=tuple(group),
                ordinal=i,
            )
        )
    return passages

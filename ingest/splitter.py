"""Split a source text into passages of whole sentences, with exact offsets.

Sentences come from Bling Fire (Microsoft's compiled sentence breaker, ~25x
faster than pysbd and splitting the article identically), with one repair:
a break right after a title or an initial ("Mr.", "Gen.", "J. Novak") is
undone, using pysbd's English abbreviation lists. It runs line by line so a
heading or a list item never fuses with the next paragraph. Passages
pack consecutive sentences up to ``max_chars``, preferring to break where the
source breaks a line, and never across a blank line. Every offset indexes the
source text, so ``text[start:end]`` is the passage or sentence verbatim.

Each line is also classed as a heading, metadata (a byline, a dateline, a
"Published …" line) or body text. Headings and metadata stay in the passage
text (they help retrieval find the paragraph below them) but are listed in the
passage's ``skip``, so no answerer quotes a headline as an answer; the nearest
heading above a passage becomes its ``section``, shown on the citation card.
The rules read the line's shape, not its words: markdown ``#``, a short line
without sentence punctuation, an all-capitals line, a "By …" line, a bare date.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache

MAX_CHARS = 900  # ~150 words: one paragraph of an article, well under MiniLM's 256-token window
MIN_CHARS = 200  # a passage shorter than this absorbs the next line (e.g. a heading)


HEADING, META, BODY = "heading", "meta", "body"


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
    skip: tuple[int, ...] = ()  # indices of sentences that are headings or metadata, never answers
    section: str = ""  # the nearest heading above the passage (or opening it)
    date: str = ""  # the document's date


_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+")
_LIST_ITEM = re.compile(r"^\s*([•·▪◦‣*+-]|\(?\d{1,2}[.)]|\(?[a-z][.)])\s")
_TABLE_ROW = re.compile(r"\|.*\|| \| ")
_BYLINE = re.compile(r"(^|[·|•—–]\s*)[\W_]*(by|written by|reported by|reporting by|editing by|text by|story by|"
                     r"prepared by)\s+[A-Z]", re.I)
# a wire dateline: "TOKYO, Jan. 27, 2023 (Agency) -"
_DATELINE = re.compile(r"^[\W_]*[A-Z][A-Z.'-]+(\s[A-Z][A-Z.'-]+)*,\s")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*%?")
_META_LEAD = re.compile(r"^[\W_]*(published|updated|last (revised|updated|modified)|posted|filed|dateline|"
                        r"source|photo|image|credit|editor'?s note)\b", re.I)
_MONTHS = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_DATE_ONLY = re.compile(rf"^[\W_]*((\w+day),?\s+)?(\d{{1,2}}\s+{_MONTHS}|{_MONTHS}\s+\d{{1,2}})?,?\s*\d{{4}}[\W_]*$|"
                        rf"^[\W_]*\d{{4}}-\d\d-\d\d[\W_]*$", re.I)
_EMPHASIS_LINE = re.compile(r"^\s*([*_]{1,2})[^*_].*\1\s*$")
_SENTENCE_END = ".!?:;\"”’"


def line_kind(line: str, blank_after: bool = True) -> str:
    """HEADING, META or BODY for one line of a document, from its shape.

    A list item or table row is body text even without a full stop; a short
    line without sentence punctuation is a heading unless it is a list item.
    """
    text = line.strip()
    words = text.split()
    if not words:
        return BODY
    if _MD_HEADING.match(text):
        return HEADING
    if len(words) <= 25 and (_BYLINE.search(text) or _META_LEAD.match(text)):
        return META
    if len(words) <= 8 and _DATE_ONLY.match(text):
        return META
    if len(words) <= 12 and _DATELINE.match(text) and not text.rstrip().endswith((".", "!", "?")):
        return META
    if _EMPHASIS_LINE.match(text) and len(words) <= 30 and not text.rstrip("*_ ").endswith((".", "!", "?")):
        return META
    numbers = _NUMBER.findall(text)
    if _TABLE_ROW.search(text) or len(numbers) >= 3:  # a table row, even one a PDF flattened to spaces
        return BODY
    bare = text.rstrip("*_ ")
    ends_sentence = bare[-1:] in _SENTENCE_END
    if _LIST_ITEM.match(text):
        # "1. Introduction" standing alone above a paragraph is a numbered heading; a bullet is a fact
        numbered = text[:1].isdigit()
        return HEADING if numbered and blank_after and not ends_sentence and len(words) <= 10 else BODY
    letters = [c for c in text if c.isalpha()]
    if letters and len(words) <= 10 and sum(c.isupper() for c in letters) >= 0.8 * len(letters) and len(letters) > 3:
        return HEADING
    if not ends_sentence and len(words) <= 14:
        return HEADING
    return BODY


def heading_text(line: str) -> str:
    """A heading line without its markdown marks: "## What Japan owns" → "What Japan owns"."""
    return _MD_HEADING.sub("", line).strip().strip("*_").strip()


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


def split_sentences(text: str, start: int = 0, heading_lines: frozenset[int] = frozenset()
                    ) -> list[tuple[int, int, bool, str]]:
    """(start, end, breaks_paragraph, kind) for every sentence of ``text[start:]``.

    ``breaks_paragraph`` is True when a blank line precedes the sentence; ``kind``
    is the ``line_kind`` of its line, or HEADING when the loader marked the line
    (``heading_lines`` holds line start offsets).
    """
    out: list[tuple[int, int, bool, str]] = []
    pos = start
    blank_before = True
    lines = text[start:].split("\n")
    for i, line in enumerate(lines):
        stripped = line.strip()
        if not stripped:
            blank_before = True
        else:
            blank_after = i + 1 >= len(lines) or not lines[i + 1].strip()
            kind = line_kind(line, blank_after)
            if kind == BODY and pos in heading_lines:  # the format says heading (an <h2> ending in "?")
                kind = HEADING
            first = True
            for s, e in _segment_line(line):
                out.append((pos + s, pos + e, blank_before if first else False, kind))
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
    date: str = "",
    heading_lines: frozenset[int] = frozenset(),
) -> list[Passage]:
    sentences = split_sentences(text, body_start, heading_lines)
    groups: list[list[tuple[int, int, str]]] = []
    current: list[tuple[int, int, str]] = []
    for s, e, para_break, kind in sentences:
        if current:
            cur_len = current[-1][1] - current[0][0]
            new_len = e - current[0][0]
            line_break = _line_break_between(text, current[-1][1], s)
            # a heading after body text opens a new passage: it belongs to what follows it
            heading_starts = kind != BODY and current[-1][2] == BODY and line_break
            # a sentence ending in a colon introduces what follows: keep them together
            lead_in = text[current[-1][1] - 1] == ":" and kind == BODY
            if (para_break and not lead_in) or new_len > max_chars or (line_break and cur_len >= min_chars
                                                                          and not lead_in) or heading_starts:
                groups.append(current)
                current = []
        current.append((s, e, kind))
    if current:
        groups.append(current)

    passages: list[Passage] = []
    seen: dict[str, int] = {}
    section = ""
    for i, group in enumerate(groups):
        start, end = group[0][0], group[-1][1]
        body = text[start:end]
        occ = seen.get(body, 0)
        seen[body] = occ + 1
        heads = [heading_text(text[s:e]) for s, e, kind in group if kind == HEADING]
        if heads and heads[-1] and heads[-1] != title:
            section = heads[-1]
        passages.append(
            Passage(
                id=passage_id(source, body, occ),
                source=source,
                title=title,
                start=start,
                end=end,
                text=body,
                sentences=tuple((s, e) for s, e, _ in group),
                ordinal=i,
                skip=tuple(j for j, (_, _, kind) in enumerate(group) if kind != BODY),
                section=section,
                date=date,
            )
        )
    return passages

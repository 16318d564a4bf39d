"""Load one source file into plain text plus its title and date.

``.txt`` and ``.md`` are read verbatim (so citation offsets index the file itself)
in UTF-8, or in the encoding charset-normalizer finds (EUC-JP, Shift-JIS, UTF-16 …);
``.html`` goes through BeautifulSoup (one block per line, list items marked,
table rows joined; a page saved from a website is first cut down to its article
by trafilatura), ``.docx`` through python-docx (the same shapes), and ``.pdf``
through pypdf, with its layout lines reflowed into paragraphs and running
headers and page numbers dropped, so a sentence is never cut at a line end. The
loader also says which lines it knows are headings or bylines (HTML ``h1``-``h6``,
``.byline``, Word heading styles …): they become metadata for the passages below
them, never an answer. Anything unreadable raises
``DocumentError`` with the reason, so the pipeline can report it by name and
carry on with the other files.

Every loader takes time in proportion to the file's size (a page or document
read in a time that grows with the square of its length stalls a whole ingest),
and checks a per-file time budget (``Deadline``) as it goes.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import stat
import time
import unicodedata
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from assistant.errors import DocumentError

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx")
META_SUFFIX = ".meta.json"  # sidecar: <file>.meta.json holds {"title": ...}
MAX_FILE_BYTES = 50 * 1024 * 1024  # larger files are almost always not articles (Settings.max_file_mb)
MAX_SIDECAR_BYTES = 1024 * 1024  # a title and a date; anything bigger is not a sidecar

log = logging.getLogger(__name__)

_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.S)


@dataclass(frozen=True)
class SourceDoc:
    """A loaded source: ``text`` is what passages and citation offsets index into."""

    path: str  # identity in the store: relative to the knowledge folder when inside it
    abs_path: Path
    title: str
    text: str
    body_start: int = 0  # where content starts (after front matter)
    date: str = ""  # the document's date as its sidecar or front matter writes it
    heading_lines: frozenset[int] = frozenset()  # start offsets of lines the format marks as headings/bylines
    pages: tuple[tuple[int, int], ...] = ()  # PDF: (offset in text, page number) where each page begins


class Deadline:
    """A file's time budget (``Settings.load_timeout_s``), checked by the loaders as they go.

    Why cooperative: a thread cannot be stopped from outside, and a loader left running
    on a pathological file keeps a core busy after ingest has given up on it. So the
    loaders' loops (HTML elements, Word paragraphs and table rows, PDF pages) and the
    steps between them call ``check()``, which raises once the budget is spent. A single
    step that cannot be interrupted (the HTML parser, the article extractor, one PDF
    page) finishes before the check sees it, so a file can overrun by one such step.
    """

    __slots__ = ("_end", "name", "seconds")

    def __init__(self, name: str, seconds: float | None) -> None:
        self.name = name
        self.seconds = seconds
        self._end = time.monotonic() + seconds if seconds and seconds > 0 else None  # None or <= 0: no limit

    def check(self) -> None:
        if self._end is not None and time.monotonic() > self._end:
            raise DocumentError(f"{self.name}: took longer than {self.seconds:g} s to read; skipped.",
                                "Split it into smaller files or save its text as .txt, or raise the limit "
                                "with ASSISTANT_LOAD_TIMEOUT_S.")


_NO_DEADLINE = Deadline("", None)

_BOMS = ((b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"), (b"\xff\xfe", "utf-16"),
         (b"\xfe\xff", "utf-16"))
# control characters that text never holds in numbers (tab, line and page breaks are fine)
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f]")  # ESC aside: logs with colours
_MAX_CONTROL_SHARE = 0.01


def _not_text(path: Path) -> DocumentError:
    return DocumentError(f"{path.name}: looks like a binary file, not text (no text encoding reads it).",
                         "Save it as UTF-8 text (.txt, .md), or as .html, .pdf or .docx.")


def _decode(raw: bytes, path: Path, declared: str | None = None) -> str:
    """The text of ``raw``: UTF-8, UTF-16/32 (by BOM, or NUL bytes), the ``declared`` charset, else the one found.

    Why not always cp1252 after UTF-8: Japanese sources come in EUC-JP and Shift-JIS,
    and Windows tools write UTF-16; read as cp1252 they became mojibake no question
    matches (UTF-16 was refused as binary), and a binary without NUL bytes became
    passages of garbage. charset-normalizer finds the encoding the bytes read as text
    in, and none for a binary (``_detected``). Text that is mostly ASCII (English,
    French …) is read as cp1252, as before.
    """
    text = None
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            try:
                text = raw.decode(encoding)
            except UnicodeDecodeError:
                raise _not_text(path) from None
            break
    if text is None and b"\x00" in raw[:8192]:
        text = _utf16(raw, path)
    if text is None:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            pass
    if text is None and declared:
        try:
            text = raw.decode(declared)
        except (UnicodeDecodeError, LookupError):
            pass
    if text is None:
        text = _detected(raw, path)
    sample = text[:100_000]
    if len(_CONTROL.findall(sample)) > _MAX_CONTROL_SHARE * len(sample):
        raise _not_text(path)
    return text


def _utf16(raw: bytes, path: Path) -> str:
    """``raw`` (holding NUL bytes, without a BOM) as the UTF-16 charset-normalizer finds; else a binary file.

    A binary read as UTF-16 gives control characters, unassigned and private-use code
    points (6 % and more of them, measured on archives, images and number tables);
    text gives next to none.
    """
    from charset_normalizer import from_bytes

    for match in from_bytes(raw):
        if match.encoding in ("utf_16_le", "utf_16_be"):
            try:
                text = raw.decode(match.encoding)
            except UnicodeDecodeError:
                break
            sample = text[:100_000]
            odd = sum(1 for c in sample if unicodedata.category(c) in ("Cc", "Cn", "Co", "Cs") and c not in "\t\n\r\f")
            if odd <= 0.02 * len(sample):
                return text
            break
    raise _not_text(path)


_CP1252_ALIKE = {"cp1252", "latin_1", "iso8859_15"}  # charset-normalizer's names for what reads as cp1252
_LATIN_BYTES = 0.8  # share of ASCII bytes above which text is read as cp1252 (French, German, Polish: over 0.9)
_KANA = re.compile(r"[\u3041-\u30ff]")
_ASCII = bytes(range(128))


def _detected(raw: bytes, path: Path) -> str:
    """``raw`` (not UTF-8, no NUL bytes) in the encoding charset-normalizer finds, or cp1252 as before.

    Its pick among encodings that fit is unreliable for text that is mostly ASCII
    (one "é" or "£" and English comes out as Korean, Urdu or Shift-JIS), so such text,
    and any text cp1252 reads as well, is read in cp1252 as before. Japanese is told
    by its kana (Korean or Chinese bytes read as EUC-JP or Shift-JIS give kanji, not
    kana, and a single Japanese sentence often passes for Korean); Cyrillic or Greek
    get the encoding found.
    """
    from charset_normalizer import from_bytes

    sample = raw[:1_000_000]
    if len(sample.translate(None, _ASCII)) <= (1 - _LATIN_BYTES) * len(sample):
        try:
            return raw.decode("cp1252")
        except UnicodeDecodeError:
            pass
    matches = list(from_bytes(raw))
    single = [m for m in matches if not m.encoding.startswith(("utf_16", "utf_32"))]  # UTF-16 without any NUL: rare
    if single and any(m.chaos <= single[0].chaos and _CP1252_ALIKE & {m.encoding, *m.could_be_from_charset}
                      for m in single):
        try:
            return raw.decode("cp1252")
        except UnicodeDecodeError:
            pass
    decoded: list[tuple[str, str]] = []
    for m in matches[:5]:
        try:
            decoded.append((m.encoding, raw.decode(m.encoding)))
        except (UnicodeDecodeError, LookupError):
            continue
    japanese = [t for _, t in decoded if len(_KANA.findall(t[:20_000])) > 0.1 * len(t[:20_000])]
    text = japanese[0] if japanese else next((t for e, t in decoded if not e.startswith(("utf_16", "utf_32"))), None)
    if text is None:
        raise _not_text(path)
    if _latin_script(text):
        try:
            return raw.decode("cp1252")
        except UnicodeDecodeError:
            pass
    return text


def _latin_script(text: str) -> bool:
    """Are most letters outside ASCII Latin ones (é, ß, ł), as in English, French or German text?"""
    latin = other = 0
    for ch, n in Counter(text[:200_000]).items():
        if ch > "\x7f" and ch.isalpha():
            if unicodedata.name(ch, "").startswith("LATIN"):
                latin += n
            else:
                other += n
    return latin >= other


_META_CHARSET = re.compile(rb"""<meta[^>]+?charset\s*=\s*["']?\s*([\w.:-]+)""", re.I)
_XML_ENCODING = re.compile(rb"""\A\s*<\?xml[^>]+?encoding\s*=\s*["']([\w.:-]+)""", re.I)
# the labels browsers read as another encoding than Python's codec of that name (WHATWG Encoding Standard)
_CHARSET_ALIASES = {"iso-8859-1": "cp1252", "latin1": "cp1252", "l1": "cp1252", "us-ascii": "cp1252",
                    "ascii": "cp1252", "iso8859-1": "cp1252", "shift_jis": "cp932", "shift-jis": "cp932",
                    "sjis": "cp932", "x-sjis": "cp932", "ms_kanji": "cp932", "windows-31j": "cp932",
                    "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "euc-kr": "cp949"}


def _declared_charset(raw: bytes) -> str | None:
    """The charset an HTML page declares (``<meta charset>``, ``<?xml encoding?>``), as a Python codec name.

    A page saved from a Japanese site is mostly ASCII markup around its text, so its
    bytes alone say little; its declaration, which browsers follow, says it exactly.
    """
    head = raw[:4096]
    m = _META_CHARSET.search(head) or _XML_ENCODING.search(head)
    if not m:
        return None
    label = m.group(1).decode("ascii", "replace").lower()
    if label.startswith(("utf-16", "utf-32", "unicode")):
        return None  # those come with a BOM or NUL bytes, and are read by them
    return _CHARSET_ALIASES.get(label, label)


def _title_from_text(text: str, fallback: str) -> str:
    for line in text.splitlines():
        m = re.match(r"#{1,3}\s+(.+)", line.strip())
        if m:
            return m.group(1).strip()
    return fallback


def _sidecar(path: Path) -> dict:
    """The ``<file>.meta.json`` sidecar as a dict (empty when there is none)."""
    meta = path.with_name(path.name + META_SUFFIX)
    if not meta.exists():
        return {}
    try:
        data = json.loads(read_regular(meta, MAX_SIDECAR_BYTES).decode("utf-8"))
    except (OSError, ValueError) as exc:
        raise DocumentError(f"{meta.name}: unreadable metadata ({exc}).", "Fix or delete the .meta.json file.") from exc
    return data if isinstance(data, dict) else {}


def _field(data: dict, key: str) -> str | None:
    value = data.get(key)
    return str(value).strip() if value else None


def _humanize(path: Path) -> str:
    return re.sub(r"[-_]+", " ", path.stem).strip().capitalize() or path.name


def _load_text(path: Path, raw: bytes) -> tuple[str, dict, int]:
    """The file's text verbatim, its front matter fields (title, date) and where the body starts."""
    text = _decode(raw, path)
    fields: dict = {}
    body_start = 0
    m = _FRONT_MATTER.match(text)
    if m and path.suffix.lower() in (".md", ".markdown", ".txt"):
        for line in m.group(1).splitlines():
            key, _, value = line.partition(":")
            if key.strip().lower() in ("title", "date") and value.strip():
                fields[key.strip().lower()] = value.strip().strip("\"'")
        body_start = m.end()
    if "title" not in fields and path.suffix.lower() in (".md", ".markdown"):
        found = _title_from_text(text[body_start:], "")
        if found:
            fields["title"] = found
    return text, fields, body_start


# elements whose text is a heading, byline or dateline: metadata, never an answer
_HTML_HEADINGS = frozenset(("h1", "h2", "h3", "h4", "h5", "h6", "header", "figcaption", "caption"))
_HTML_META_CLASS = re.compile(r"byline|dateline|meta|author|credit|timestamp|kicker|eyebrow", re.I)
_BLOCKS = frozenset(("p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "section",
                     "article", "header", "footer", "figcaption", "caption", "dd", "dt", "table", "ul", "ol", "br", "hr",
                     "title"))
_UNREAD = frozenset(("script", "style", "noscript", "template"))  # code, and what shows only without it
_CELLS = frozenset(("td", "th"))


# a page's main content must keep at least this many characters to replace the whole page
_MIN_MAIN_CHARS = 200


class _PageText:
    """The text of a parsed page, built in one walk over it, and the texts of its heading lines.

    Why a walk: editing the parsed tree in place (a newline inserted around every
    block, each table row replaced) made BeautifulSoup look up each element's index
    among its siblings, so a page took time in the square of its length (1 MB: 39 s).
    The text is the same as reading the page after these edits: scripts, styles,
    ``<noscript>``, ``<template>`` and the ``<head>`` removed; each table row one line
    of its cells joined by " | "; each list item started with "• "; each block
    element on lines of its own. Walkers (``_walk_soup``, ``_walk_lxml``) call
    ``start``, ``text`` and ``end`` in document order; a string counts where
    BeautifulSoup's ``get_text`` would count it (not inside ``<rt>``, ``<script>`` …),
    which the walker says by passing the string's BeautifulSoup type.
    """

    def __init__(self, deadline: Deadline, main: frozenset) -> None:
        self.deadline = deadline
        self.main = main  # the string types the page's own text is made of
        self.out: list[str] = []
        self.headings: set[str] = set()
        self.frames: list[tuple[str, list | None, list | None]] = []  # open elements: (name, heading, cell)
        self.collecting: list[list] = []  # open headings and cells: [string types, strings]
        self.cells: list[list] = []  # cells of the open table row
        self.rows = 0  # depth of open table rows
        self.seen = 0

    def start(self, name: str, classes: str, types: frozenset | set) -> None:
        self.seen += 1
        if not self.seen & 255:
            self.deadline.check()
        heading = cell = None
        if name in _HTML_HEADINGS or (classes and _HTML_META_CLASS.search(classes)):
            heading = [types, []]
            self.collecting.append(heading)
        if self.rows and name in _CELLS:
            cell = [types, []]
            self.collecting.append(cell)
            self.cells.append(cell)
        if name == "tr":
            if not self.rows:
                self.cells = []
            self.rows += 1
        elif not self.rows and name in _BLOCKS:
            self.out.append("\n• " if name == "li" else "\n")
        self.frames.append((name, heading, cell))

    def text(self, string: str, kind: type) -> None:
        for strings in self.collecting:
            if kind in strings[0]:
                strings[1].append(string)
        if not self.rows and kind in self.main:
            self.out.append(string)

    def end(self) -> None:
        name, heading, cell = self.frames.pop()
        if cell is not None:
            self.collecting.pop()
        if heading is not None:
            self.collecting.pop()
            self.headings.add(_squash(" ".join(heading[1])))
        if name == "tr":
            self.rows -= 1
            if not self.rows:
                cells = (_squash(" ".join(c[1])) for c in self.cells)
                self.out.append("\n" + " | ".join(c for c in cells if c) + "\n")
        elif not self.rows and name in _BLOCKS:
            self.out.append("\n")

    def result(self) -> tuple[str, frozenset[int]]:
        lines = [_squash(ln) for ln in "".join(self.out).splitlines()]
        lines = [ln for ln in lines if ln and ln != "•"]
        return _join_lines([(ln, ln in self.headings) for ln in lines])


def _walk_soup(root, page: _PageText) -> None:  # noqa: ANN001 - a BeautifulSoup document or element
    """Walk ``root``'s descendants (parsed by BeautifulSoup), skipping what is never read and the first ``<head>``."""
    from bs4.element import Tag

    head = True  # the first <head> is still to be skipped
    stack = [iter(root.contents)]
    while stack:
        node = next(stack[-1], None)
        if node is None:
            stack.pop()
            if stack:
                page.end()
        elif isinstance(node, Tag):
            if node.name in _UNREAD or (head and node.name == "head"):
                head = head and node.name != "head"
                continue
            page.start(node.name, " ".join(node.get("class") or []), node.interesting_string_types)
            stack.append(iter(node.contents))
        else:
            page.text(node, type(node))


@cache
def _string_kinds():  # noqa: ANN202 - (types get_text reads, element -> the type of its strings, plain strings' type)
    """BeautifulSoup's string types: those ``get_text`` reads, and those of the elements whose strings it skips."""
    from bs4.element import (
        CData,
        NavigableString,
        RubyParenthesisString,
        RubyTextString,
        Script,
        Stylesheet,
        TemplateString,
    )

    special = {"rt": RubyTextString, "rp": RubyParenthesisString, "style": Stylesheet, "script": Script,
               "template": TemplateString}
    return frozenset((NavigableString, CData)), special, NavigableString


def _walk_lxml(root, page: _PageText | _Strings, whole: bool = False) -> None:  # noqa: ANN001 - an lxml element
    """``_walk_soup`` for a tree parsed by lxml: each string gets the type BeautifulSoup would give it.

    ``whole``: skip nothing (not even scripts or the ``<head>``), as ``get_text`` reads a tree.
    """
    main, special, plain = _string_kinds()
    unread = frozenset() if whole else _UNREAD
    head = not whole  # the first <head> is still to be skipped
    if root.text:
        page.text(root.text, special.get(root.tag, plain))
    stack = [(root, iter(root), special.get(root.tag, plain))]
    while stack:
        element, children, kind = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            if stack:
                page.end()
                if element.tail:
                    page.text(element.tail, stack[-1][2])
            continue
        name = child.tag
        if not isinstance(name, str) or name in unread or (head and name == "head"):
            head = head and name != "head"
            if child.tail:
                page.text(child.tail, kind)
            continue
        page.start(name, " ".join((child.get("class") or "").split()), {special[name]} if name in special else main)
        inner = special.get(name, kind)
        if child.text:
            page.text(child.text, inner)
        stack.append((child, iter(child), inner))


class _Strings:
    """The strings ``get_text`` reads, collected by ``_walk_lxml`` (which takes it for a ``_PageText``)."""

    def __init__(self, enough: int | None = None) -> None:
        self.main = _string_kinds()[0]
        self.parts: list[str] = []
        self.enough = enough  # stop once the squashed text is this long
        self.chars = 0  # the squashed strings' lengths: the squashed text is at least as long

    def start(self, *_: object) -> None:
        pass

    def end(self) -> None:
        pass

    def text(self, string: str, kind: type) -> None:
        if kind in self.main:
            self.parts.append(string)
            if self.enough:
                self.chars += len(_squash(string))
                if self.chars >= self.enough:
                    raise _Enough


class _Enough(Exception):
    """Enough text read (``_Strings.enough``)."""


def _lxml_text(element, sep: str = " ", enough: int | None = None) -> str:  # noqa: ANN001 - an lxml element
    """``get_text(sep)`` of an lxml element as BeautifulSoup gives it: every string but comments', scripts' …

    With ``enough``, possibly only its beginning, once that is ``enough`` characters squashed.
    """
    strings = _Strings(enough)
    try:
        _walk_lxml(element, strings, whole=True)
    except _Enough:
        pass
    return sep.join(strings.parts)


def _main_content(html: str, deadline: Deadline):  # noqa: ANN202 - (an lxml or BeautifulSoup element or None, metadata)
    """The article of a saved web page, as parsed HTML, with the title and date its markup gives.

    A page saved from a news or ministry site carries cookie banners, menus, "related
    articles" and footers around the article; split as text, they become passages
    that match questions (a related headline) and crowd out the answer. trafilatura
    finds the main content and keeps its headings, paragraphs, lists and tables.
    None when it finds too little to be the article (a bare page is then kept whole).
    Its HTML is well-formed XML (lxml wrote it), so lxml reads it back as the same
    tree html.parser would build, at a tenth of the cost.
    """
    import trafilatura

    try:
        # a date only from the page's markup (meta tags, <time>): a guessed one would mislabel every citation
        out = trafilatura.extract(html, output_format="html", include_tables=True, include_comments=False,
                                  favor_recall=True, with_metadata=True, deduplicate=False,
                                  date_extraction_params={"extensive_search": False, "original_date": True})
    except Exception:  # noqa: BLE001 - a page it cannot read is kept whole
        return None, {}
    deadline.check()
    if not out:
        return None, {}
    from lxml import etree

    try:
        parser = etree.XMLParser(huge_tree=True, resolve_entities=False, no_network=True)
        doc = etree.fromstring(out, parser)
    except (etree.XMLSyntaxError, ValueError):  # not well-formed after all: read it as html.parser would
        return _main_content_soup(out)
    meta = {m.get("name"): (m.get("content") or "").strip() for m in doc.iter("meta") if m.get("name")}
    body = next(doc.iter("body"), doc)
    if len(_squash(_lxml_text(body, enough=_MIN_MAIN_CHARS))) < _MIN_MAIN_CHARS:
        return None, {}
    return body, meta


def _main_content_soup(out: str):  # noqa: ANN202 - (a BeautifulSoup element or None, metadata)
    from bs4 import BeautifulSoup

    doc = BeautifulSoup(out, "html.parser")
    meta = {m.get("name"): (m.get("content") or "").strip() for m in doc.find_all("meta") if m.get("name")}
    body = doc.body or doc
    if len(_squash(body.get_text(" "))) < _MIN_MAIN_CHARS:
        return None, {}
    return body, meta


_CHROME_ROLES = {"navigation", "banner", "contentinfo", "complementary", "search", "menu", "menubar"}
_CHROME_TAGS = ("nav", "aside", "footer", "form")


def _has_chrome(html: str) -> bool:
    """Does the page have a site's menus, sidebars, footers or forms (``_has_boilerplate``'s first test), by lxml?

    Why first with lxml: it parses a page twenty times faster than html.parser, and a
    saved page answered here goes to trafilatura without html.parser reading it at
    all. The two parsers see the same elements, so a yes here is a yes there; a no
    (or a page lxml cannot read) is decided on html.parser's tree as before.
    """
    import lxml.html
    from lxml import etree

    try:
        try:
            root = lxml.html.document_fromstring(html)
        except ValueError:  # a str that declares its encoding (<?xml … encoding=…?>): hand lxml the bytes
            root = lxml.html.document_fromstring(html.encode("utf-8"), parser=lxml.html.HTMLParser(encoding="utf-8"))
    except (etree.ParserError, ValueError):
        return False
    return any(el.tag in _CHROME_TAGS or el.get("role") in _CHROME_ROLES for el in root.iter(etree.Element))


def _has_boilerplate(soup, deadline: Deadline = _NO_DEADLINE) -> bool:  # noqa: ANN001 - a BeautifulSoup document
    """Is this a page saved from a website (menus, footers, link lists) rather than a document written as HTML?

    Only such pages go through main-content extraction: a clean document keeps every
    heading and line exactly as written (the extractor drops some section headings).
    """
    if soup.find(list(_CHROME_TAGS)) or soup.find(attrs={"role": lambda r: r in _CHROME_ROLES}):
        return True
    text = len(_squash(soup.get_text(" ")))
    links = 0
    for n, a in enumerate(soup.find_all("a")):
        if not n & 255:
            deadline.check()
        links += len(_squash(a.get_text(" ")))
    return text > 0 and links / text > 0.25


def _load_html(path: Path, raw: bytes, deadline: Deadline = _NO_DEADLINE) -> tuple[str, str | None, frozenset[int], str]:
    """Visible text of an HTML page's main content, one block per line, its heading lines and its date.

    List items start with "• " and a table row becomes one line of cells joined by
    " | ", so neither reads as a heading nor loses its structure.
    """
    from bs4 import BeautifulSoup

    html = _decode(raw, path, _declared_charset(raw))
    deadline.check()
    parsed = None

    def soup():  # noqa: ANN202 - the page as html.parser reads it, parsed once and only when needed
        nonlocal parsed
        if parsed is None:
            try:
                parsed = BeautifulSoup(html, "html.parser")
            except Exception as exc:
                raise DocumentError(f"{path.name}: cannot parse HTML ({exc}).", "Check the file is valid HTML.") from exc
            deadline.check()
        return parsed

    main, meta = (_main_content(html, deadline) if _has_chrome(html) or _has_boilerplate(soup(), deadline)
                  else (None, {}))
    title = meta.get("title") if main is not None else None
    if not title:
        # the page's own <h1> when it has one (trafilatura keeps it), else the <title> (often "… | Site")
        title = soup().title.get_text(" ", strip=True) if soup().title else ""
    from lxml import etree

    page = _PageText(deadline, _string_kinds()[0])
    if main is None:
        _walk_soup(soup(), page)
    elif etree.iselement(main):
        _walk_lxml(main, page)
    else:
        _walk_soup(main, page)
    text, headings = page.result()
    date = meta.get("date", "") if main is not None else ""
    return text, title or None, headings, date


def _join_lines(lines: list[tuple[str, bool]]) -> tuple[str, frozenset[int]]:
    """``(line, is a heading)`` pairs as one text, and the start offsets of its heading lines."""
    headings, pos = set(), 0
    for line, heading in lines:
        if heading:
            headings.add(pos)
        pos += len(line) + 1
    return "\n".join(line for line, _ in lines), frozenset(headings)


def _squash(text: str) -> str:
    """Runs of whitespace as one space, none at the ends (``split`` and ``\\s`` agree on what whitespace is)."""
    return " ".join(text.split())


_PAGE_NUMBER = re.compile(r"^(page\s+)?\d{1,4}(\s*(of|/)\s*\d{1,4})?$|^[-–—]\s*\d{1,4}\s*[-–—]$", re.I)
_BROKEN_WORD = re.compile(r"[a-z]{2}-$")
_LIST_ITEM = re.compile(r"^([•·▪◦‣*-]|\(?\d{1,2}[.)]|\(?[a-z][.)])\s")


def reflow_pdf_pages(pages: list[str]) -> str:
    """PDF page texts as paragraphs (``reflow_pdf``'s text, without where each page starts)."""
    return reflow_pdf(pages)[0]


def reflow_pdf(pages: list[str]) -> tuple[str, tuple[tuple[int, int], ...]]:
    """PDF page texts as paragraphs: layout line breaks joined, running headers and page numbers dropped.

    pypdf returns a PDF's lines as laid out, so a sentence wraps across lines (and
    pages); split as-is, a line end would cut it in two. A line joins the next one
    when it fills most of the text width and the next line does not start a list
    item; a shorter line ends its paragraph (headings and last lines are short).
    Lines repeated on most pages (running headers, footers) and bare page numbers go.

    Also returns where each page begins in the text, as ``(offset, page number)``
    pairs (1-based, the PDF's own page order): a citation names the page its quote
    is on, which is what a reader looks up in the PDF.
    """
    page_lines = [[ln.strip() for ln in page.splitlines() if ln.strip()] for page in pages]
    counts: dict[str, int] = {}
    for lines in page_lines:
        for ln in set(lines):
            counts[ln] = counts.get(ln, 0) + 1
    repeated = {ln for ln, n in counts.items() if len(page_lines) >= 3 and n >= len(page_lines) - 1 and len(ln) < 120}
    lines = [(ln, number) for number, page in enumerate(page_lines, start=1) for ln in page
             if ln not in repeated and not _PAGE_NUMBER.match(ln)]
    if not lines:
        return "", ()
    lengths = sorted(len(ln) for ln, _ in lines)
    width = lengths[int(0.9 * (len(lengths) - 1))]  # the usual full line, robust to one long outlier
    out: list[tuple[str, list[tuple[int, int]]]] = []  # (paragraph, (offset in it, page) of each line)
    para = ""
    marks: list[tuple[int, int]] = []
    for i, (ln, number) in enumerate(lines):
        if para and _LIST_ITEM.match(ln):  # a new item: the list stays one block, one item a line
            out.append((para, marks))
            para, marks = "", []
        if para and not para.endswith("\n") and _BROKEN_WORD.search(para) and ln[:1].islower():
            marks.append((len(para) - 1, number))
            para = para[:-1] + ln  # a word hyphenated across the line end: "govern-" + "ment"
        elif para and not para.endswith("\n"):
            marks.append((len(para) + 1, number))
            para = f"{para} {ln}"
        else:
            marks = [(0, number)]
            para = ln
        nxt = lines[i + 1][0] if i + 1 < len(lines) else ""
        # a short next line without end punctuation that starts a word in capitals is a heading, not a continuation
        heading_next = len(nxt) < 0.75 * width and nxt[-1:] not in ".!?:;,\"”’)" and nxt[:1].isupper()
        if len(ln) < 0.75 * width or not nxt or heading_next:
            out.append((para, marks))
            para, marks = "", []
    text = ""
    starts: list[tuple[int, int]] = []
    for block, block_marks in out:
        if text:
            # list items follow each other (and their lead-in) on single lines; paragraphs get a blank line
            text += "\n" if _LIST_ITEM.match(block) else "\n\n"
        for offset, number in block_marks:
            if not starts or starts[-1][1] != number:
                starts.append((len(text) + offset, number))
        text += block
    return text, tuple(starts)


def _load_pdf(path: Path, deadline: Deadline = _NO_DEADLINE) -> tuple[str, str | None, tuple[tuple[int, int], ...]]:
    from pypdf import PdfReader

    try:
        reader = PdfReader(str(path))
        pages = []
        for page in reader.pages:
            deadline.check()
            pages.append(page.extract_text() or "")
        title = str((reader.metadata or {}).get("/Title") or "").strip()
    except DocumentError:
        raise
    except Exception as exc:
        raise DocumentError(f"{path.name}: corrupt or unreadable PDF ({type(exc).__name__}: {exc}).",
                            "Re-export the PDF, or save its text as .txt.") from exc
    text, starts = reflow_pdf(pages)
    return text, title or None, starts


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"  # WordprocessingML's namespace
_RUN_PARTS = tuple(_W + tag for tag in ("br", "cr", "noBreakHyphen", "ptab", "t", "tab"))  # what a run's text is of


def _load_docx(path: Path, deadline: Deadline = _NO_DEADLINE) -> tuple[str, str | None, frozenset[int]]:
    """A Word document's paragraphs and tables in reading order, one block per line, and its heading lines.

    Headings are told by their paragraph style ("Title", "Heading 2"), as Word itself does;
    list paragraphs start with "• " and a table row is one line of cells joined by " | ",
    the same shapes the HTML loader gives.

    Why the body's XML is walked here rather than through python-docx's ``Paragraph``
    objects: python-docx lists a body's paragraphs and tables with an XPath union that
    grows faster than the square of their number (20,000: 3 s; 40,000: 38 s), reads
    each run's text with another XPath union, and looked each paragraph's style up by
    id twice (~1.1 ms a paragraph: a 70 KB file of 200,000 paragraphs holding only a
    zero-width space took 269 s). The text and the style names are still python-docx's
    (its element classes, ``get_style``), each style looked up once per document.
    """
    import docx
    from docx.enum.style import WD_STYLE_TYPE

    paragraph, table = _W + "p", _W + "tbl"
    try:
        document = docx.Document(str(path))
        deadline.check()
        styles: dict[str | None, str] = {}  # style id -> name

        def style_of(p) -> str:  # noqa: ANN001 - a w:p element
            style_id = p.style
            if style_id not in styles:
                style = document.part.get_style(style_id, WD_STYLE_TYPE.PARAGRAPH)
                styles[style_id] = (style.name if style is not None else "") or ""
            return styles[style_id]

        lines: list[tuple[str, bool]] = []  # (text, is a heading)
        for n, block in enumerate(document.element.body.iterchildren(paragraph, table)):
            if not n & 255:
                deadline.check()
            if block.tag == table:
                for cells in _docx_rows(block, deadline):
                    cells = list(dict.fromkeys(cells))  # merged cells repeat
                    if any(cells):
                        lines.append((" | ".join(c for c in cells if c), False))
                continue
            text = _squash(_docx_text(block))
            if not text:
                continue
            style = style_of(block)
            heading = style == "Title" or style.startswith("Heading") or style == "Subtitle"
            lines.append((("• " + text) if style.startswith("List") else text, heading))
        title = (document.core_properties.title or "").strip()
    except DocumentError:
        raise
    except Exception as exc:
        raise DocumentError(f"{path.name}: corrupt or unreadable Word document ({type(exc).__name__}: {exc}).",
                            "Re-save it from Word as .docx, or save its text as .txt.") from exc
    if not title:
        title = next((t for t, h in lines if h), "")
    text, headings = _join_lines(lines)
    return text, title or None, headings


def _docx_text(p) -> str:  # noqa: ANN001 - a w:p element
    """A paragraph's text as python-docx's ``CT_P.text`` gives it, without its XPath queries (two per run).

    The text of its runs and of its hyperlinks' runs, each run's being ``str()`` of
    its text, tab, break and hyphen elements (python-docx's own element classes).
    """
    out = []
    for e in p.iterchildren(_W + "r", _W + "hyperlink"):
        for r in (e,) if e.tag == _W + "r" else e.iterchildren(_W + "r"):
            out.extend(str(x) for x in r.iterchildren(*_RUN_PARTS))
    return "".join(out)


def _docx_rows(tbl, deadline: Deadline) -> Iterator[list[str]]:  # noqa: ANN001 - a w:tbl
    """Each row's cell texts (squashed), one per layout-grid column, as python-docx's ``_Row.cells`` gives them.

    A cell spanning columns repeats; a cell continuing a vertical merge is the cell it
    continues. python-docx finds that cell by walking up one row at a time, recursively,
    so a merge over many rows takes time in the square of its length (and overflows
    the stack after a few hundred rows); here each row keeps, per grid column, the
    texts it gave, so the row below reads them in one step.
    """
    above: dict[int, list[str]] | None = None  # the row above: grid offset a w:tc starts at -> the texts it gave
    for tr in tbl.tr_lst:
        deadline.check()
        row: list[str] = []
        here: dict[int, list[str]] = {}
        offset = tr.grid_before
        for tc in tr.tc_lst:
            if tc.vMerge == "continue":
                if above is None or offset not in above:
                    raise ValueError(f"no `tc` element at grid_offset={offset}")  # as python-docx
                cells = above[offset]
            else:
                cells = [_squash("\n".join(_docx_text(p) for p in tc.iterchildren(_W + "p")))] * tc.grid_span
            here[offset] = cells
            row.extend(cells)
            offset += tc.grid_span
        above = here
        yield row


def load_source(path: Path, knowledge_dir: Path | None = None, max_bytes: int = MAX_FILE_BYTES,
                timeout_s: float | None = None) -> SourceDoc:
    """Load ``path``; raise DocumentError saying why when it cannot be used.

    ``timeout_s`` is the file's time budget (``Settings.load_timeout_s``; None: none):
    a file still being read after it is skipped with the reason (``Deadline``).
    """
    path = Path(path)
    deadline = Deadline(path.name, timeout_s)
    if path.is_symlink() and path.is_dir():
        # rglob does not descend into linked folders either: they can loop, or reach far outside the folder
        raise DocumentError(f"{path.name}: a link to a folder; skipped (links to folders are not followed).",
                            "Move or copy the documents themselves into the knowledge folder.")
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise DocumentError(f"{path.name}: unsupported file type '{suffix or 'none'}'.",
                            f"Supported: {', '.join(SUPPORTED_SUFFIXES)}.")
    raw = read_regular(path, max_bytes)

    body_start = 0
    fields: dict = {}
    headings: frozenset[int] = frozenset()
    pages: tuple[tuple[int, int], ...] = ()
    if suffix in (".html", ".htm"):
        text, fields["title"], headings, fields["date"] = _load_html(path, raw, deadline)
    elif suffix == ".docx":
        if not raw.startswith(b"PK"):
            raise DocumentError(f"{path.name}: not a Word document (a .docx is a zip archive).",
                                "Re-save it from Word as .docx.")
        text, fields["title"], headings = _load_docx(path, deadline)
    elif suffix == ".pdf":
        if not raw.startswith(b"%PDF"):
            raise DocumentError(f"{path.name}: not a PDF (no %PDF header).", "Re-export the PDF.")
        text, fields["title"], pages = _load_pdf(path, deadline)
    else:
        text, fields, body_start = _load_text(path, raw)
    if not text[body_start:].strip():
        raise DocumentError(f"{path.name}: empty (no text found).",
                            "Scanned PDFs need OCR first; otherwise add text to the file.")
    sidecar = _sidecar_or_warn(path)
    title = _field(sidecar, "title") or fields.get("title") or _humanize(path)
    date = _field(sidecar, "date") or fields.get("date") or ""
    resolved = path.resolve()
    rel = str(resolved)
    if knowledge_dir is not None:
        try:
            rel = resolved.relative_to(Path(knowledge_dir).resolve()).as_posix()
        except ValueError:
            pass
    return SourceDoc(path=rel, abs_path=resolved, title=title, text=text, body_start=body_start, date=date,
                     heading_lines=headings, pages=pages)


def folder_files(folder: Path) -> list[Path]:
    """Every file under ``folder`` that ingest reads, sorted: sidecars included, dotfiles (editor swap files) not.

    Links and special files (FIFOs, devices, sockets) are listed too, so that ingest
    reports each one it skips, with the reason (``read_regular``).
    """
    return [f for f in sorted(folder.rglob("*"))
            if (f.is_symlink() or not f.is_dir()) and not f.name.startswith(".")]


_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def read_regular(path: Path, max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of ``path`` when it is (or links to) a regular file of at most ``max_bytes``; else DocumentError.

    Why this way: a link in the knowledge folder to ``/dev/zero`` would be read
    until memory runs out, and one to a FIFO would block forever. The file is
    opened without blocking (a FIFO then opens at once) and checked on the open
    descriptor, so what is checked is what is read, and at most ``max_bytes`` + 1
    bytes are ever read, even from a file that grows meanwhile.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise _unreadable(path, exc) from exc
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = next((name for test, name in _KINDS if test(st.st_mode)), "not a file")
            raise DocumentError(f"{path.name}: {kind}, not a regular file; skipped.",
                                "Only regular files are read: put the document itself there, not a link to it.")
        raw = b"" if st.st_size > max_bytes else fh.read(max_bytes + 1)
    if st.st_size > max_bytes or len(raw) > max_bytes:
        size = max(st.st_size, len(raw))
        raise DocumentError(f"{path.name}: too large ({size / 1024 / 1024:.1f} MB; the limit is "
                            f"{max_bytes / 1024 / 1024:g} MB).",
                            "Split it into smaller files, or raise the limit with ASSISTANT_MAX_FILE_MB.")
    return raw


def _unreadable(path: Path, exc: OSError) -> DocumentError:
    if exc.errno == errno.ELOOP:
        return DocumentError(f"{path.name}: a symbolic link loop (it leads back to itself); skipped.",
                             "Remove the link or point it at a real file.")
    if exc.errno == errno.ENXIO:
        return DocumentError(f"{path.name}: a socket, not a regular file; skipped.",
                             "Only regular files are read.")
    if exc.errno == errno.ENOENT:
        return DocumentError(f"{path.name}: cannot be read (No such file or directory).",
                             "If it is a link, its target is missing: fix or remove the link.")
    return DocumentError(f"{path.name}: cannot be read ({exc.strerror or exc}).", "Check the file's permissions.")


def _sidecar_or_warn(path: Path) -> dict:
    """The sidecar; one that cannot be read loses only its metadata (with a warning), not the document."""
    try:
        return _sidecar(path)
    except DocumentError as exc:
        log.warning("%s The document is indexed without it.", exc)
        return {}


def discover(paths: list[Path]) -> list[Path]:
    """Source files under ``paths`` (files or folders), sorted, sidecars and dotfiles excluded."""
    found: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            found.extend(f for f in folder_files(p) if not f.name.endswith(META_SUFFIX))
        elif not p.name.endswith(META_SUFFIX):
            found.append(p)
    return found

"""Load one source file into plain text plus its title and date.

``.txt`` and ``.md`` are read verbatim (so citation offsets index the file itself);
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
"""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import stat
from dataclasses import dataclass
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


def _decode(raw: bytes, path: Path) -> str:
    if b"\x00" in raw[:8192]:
        raise DocumentError(f"{path.name}: looks like a binary file, not text.", "Save it as .txt, .md, .html or .pdf.")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        text = raw.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise DocumentError(f"{path.name}: not valid UTF-8 text ({exc}).", "Re-save the file as UTF-8.") from exc
    return text


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
_HTML_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6", "header", "figcaption", "caption")
_HTML_META_CLASS = re.compile(r"byline|dateline|meta|author|credit|timestamp|kicker|eyebrow", re.I)
_BLOCKS = ("p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "section", "article",
           "header", "footer", "figcaption", "caption", "dd", "dt", "table", "ul", "ol", "br", "hr", "title")


# a page's main content must keep at least this many characters to replace the whole page
_MIN_MAIN_CHARS = 200


def _main_content(html: str):  # noqa: ANN202 - (a BeautifulSoup element or None, metadata)
    """The article of a saved web page, as parsed HTML, with the title and date its markup gives.

    A page saved from a news or ministry site carries cookie banners, menus, "related
    articles" and footers around the article; split as text, they become passages
    that match questions (a related headline) and crowd out the answer. trafilatura
    finds the main content and keeps its headings, paragraphs, lists and tables.
    None when it finds too little to be the article (a bare page is then kept whole).
    """
    import trafilatura

    try:
        # a date only from the page's markup (meta tags, <time>): a guessed one would mislabel every citation
        out = trafilatura.extract(html, output_format="html", include_tables=True, include_comments=False,
                                  favor_recall=True, with_metadata=True, deduplicate=False,
                                  date_extraction_params={"extensive_search": False, "original_date": True})
    except Exception:  # noqa: BLE001 - a page it cannot read is kept whole
        return None, {}
    if not out:
        return None, {}
    from bs4 import BeautifulSoup

    doc = BeautifulSoup(out, "html.parser")
    meta = {m.get("name"): (m.get("content") or "").strip() for m in doc.find_all("meta") if m.get("name")}
    body = doc.body or doc
    if len(_squash(body.get_text(" "))) < _MIN_MAIN_CHARS:
        return None, {}
    return body, meta


_CHROME_ROLES = {"navigation", "banner", "contentinfo", "complementary", "search", "menu", "menubar"}


def _has_boilerplate(soup) -> bool:  # noqa: ANN001 - a BeautifulSoup document
    """Is this a page saved from a website (menus, footers, link lists) rather than a document written as HTML?

    Only such pages go through main-content extraction: a clean document keeps every
    heading and line exactly as written (the extractor drops some section headings).
    """
    if soup.find(["nav", "aside", "footer", "form"]) or soup.find(attrs={"role": lambda r: r in _CHROME_ROLES}):
        return True
    text = len(_squash(soup.get_text(" ")))
    links = sum(len(_squash(a.get_text(" "))) for a in soup.find_all("a"))
    return text > 0 and links / text > 0.25


def _load_html(path: Path, raw: bytes) -> tuple[str, str | None, frozenset[int], str]:
    """Visible text of an HTML page's main content, one block per line, its heading lines and its date.

    List items start with "• " and a table row becomes one line of cells joined by
    " | ", so neither reads as a heading nor loses its structure.
    """
    from bs4 import BeautifulSoup, NavigableString

    try:
        html = _decode(raw, path)
        soup = BeautifulSoup(html, "html.parser")
    except DocumentError:
        raise
    except Exception as exc:
        raise DocumentError(f"{path.name}: cannot parse HTML ({exc}).", "Check the file is valid HTML.") from exc
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    main, meta = _main_content(html) if _has_boilerplate(soup) else (None, {})
    if main is not None:
        # the page's own <h1> when it has one (trafilatura keeps it), else the <title> (often "… | Site")
        title = meta.get("title") or title
        soup = main
    for tag in soup(["script", "style", "noscript", "template"]):
        tag.decompose()
    if soup.head:
        soup.head.decompose()
    heading_texts: set[str] = set()
    for tag in soup.find_all(True):
        classes = " ".join(tag.get("class") or [])
        if tag.name in _HTML_HEADINGS or (classes and _HTML_META_CLASS.search(classes)):
            heading_texts.add(_squash(tag.get_text(" ")))
    for row in soup.find_all("tr"):
        cells = [_squash(c.get_text(" ")) for c in row.find_all(["td", "th"])]
        row.replace_with(NavigableString("\n" + " | ".join(c for c in cells if c) + "\n"))
    for item in soup.find_all("li"):
        item.insert(0, NavigableString("• "))
    for tag in soup.find_all(_BLOCKS):
        tag.insert_before(NavigableString("\n"))
        tag.insert_after(NavigableString("\n"))
    lines = [_squash(ln) for ln in soup.get_text().splitlines()]
    lines = [ln for ln in lines if ln and ln != "•"]
    text, headings = _join_lines([(ln, ln in heading_texts) for ln in lines])
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
    return re.sub(r"\s+", " ", text).strip()


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


def _load_pdf(path: Path) -> tuple[str, str | None, tuple[tuple[int, int], ...]]:
    from pypdf import PdfReader

    try:
        reader = PdfReader(str(path))
        pages = [page.extract_text() or "" for page in reader.pages]
        title = str((reader.metadata or {}).get("/Title") or "").strip()
    except Exception as exc:
        raise DocumentError(f"{path.name}: corrupt or unreadable PDF ({type(exc).__name__}: {exc}).",
                            "Re-export the PDF, or save its text as .txt.") from exc
    text, starts = reflow_pdf(pages)
    return text, title or None, starts


def _load_docx(path: Path) -> tuple[str, str | None, frozenset[int]]:
    """A Word document's paragraphs and tables in reading order, one block per line, and its heading lines.

    Headings are told by their paragraph style ("Title", "Heading 2"), as Word itself does;
    list paragraphs start with "• " and a table row is one line of cells joined by " | ",
    the same shapes the HTML loader gives.
    """
    import docx
    from docx.table import Table

    try:
        document = docx.Document(str(path))
        lines: list[tuple[str, bool]] = []  # (text, is a heading)
        for block in document.iter_inner_content():
            if isinstance(block, Table):
                for row in block.rows:
                    cells = list(dict.fromkeys(_squash(c.text) for c in row.cells))  # merged cells repeat
                    if any(cells):
                        lines.append((" | ".join(c for c in cells if c), False))
                continue
            text = _squash(block.text)
            if not text:
                continue
            style = (block.style.name if block.style is not None else "") or ""
            heading = style == "Title" or style.startswith("Heading") or style == "Subtitle"
            lines.append((("• " + text) if style.startswith("List") else text, heading))
        title = (document.core_properties.title or "").strip()
    except Exception as exc:
        raise DocumentError(f"{path.name}: corrupt or unreadable Word document ({type(exc).__name__}: {exc}).",
                            "Re-save it from Word as .docx, or save its text as .txt.") from exc
    if not title:
        title = next((t for t, h in lines if h), "")
    text, headings = _join_lines(lines)
    return text, title or None, headings


def load_source(path: Path, knowledge_dir: Path | None = None, max_bytes: int = MAX_FILE_BYTES) -> SourceDoc:
    """Load ``path``; raise DocumentError saying why when it cannot be used."""
    path = Path(path)
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
        text, fields["title"], headings, fields["date"] = _load_html(path, raw)
    elif suffix == ".docx":
        if not raw.startswith(b"PK"):
            raise DocumentError(f"{path.name}: not a Word document (a .docx is a zip archive).",
                                "Re-save it from Word as .docx.")
        text, fields["title"], headings = _load_docx(path)
    elif suffix == ".pdf":
        if not raw.startswith(b"%PDF"):
            raise DocumentError(f"{path.name}: not a PDF (no %PDF header).", "Re-export the PDF.")
        text, fields["title"], pages = _load_pdf(path)
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

"""Load one source file into plain text plus a title.

``.txt`` and ``.md`` are read verbatim (so citation offsets index the file itself);
``.html`` goes through BeautifulSoup and ``.pdf`` through its
pypdf loader. Anything unreadable raises ``DocumentError`` with the reason, so
the pipeline can report it by name and carry on with the other files.
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

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf")
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


def _sidecar_title(path: Path) -> str | None:
    meta = path.with_name(path.name + META_SUFFIX)
    if not meta.exists():
        return None
    try:
        data = json.loads(read_regular(meta, MAX_SIDECAR_BYTES).decode("utf-8"))
    except (OSError, ValueError) as exc:
        raise DocumentError(f"{meta.name}: unreadable metadata ({exc}).", "Fix or delete the .meta.json file.") from exc
    title = data.get("title") if isinstance(data, dict) else None
    return str(title).strip() if title else None


def _humanize(path: Path) -> str:
    return re.sub(r"[-_]+", " ", path.stem).strip().capitalize() or path.name


def _load_text(path: Path, raw: bytes) -> tuple[str, str | None, int]:
    text = _decode(raw, path)
    title = None
    body_start = 0
    m = _FRONT_MATTER.match(text)
    if m and path.suffix.lower() in (".md", ".markdown", ".txt"):
        for line in m.group(1).splitlines():
            key, _, value = line.partition(":")
            if key.strip().lower() == "title" and value.strip():
                title = value.strip().strip("\"'")
        body_start = m.end()
    if title is None and path.suffix.lower() in (".md", ".markdown"):
        found = _title_from_text(text[body_start:], "")
        title = found or None
    return text, title, body_start


def _load_html(path: Path, raw: bytes) -> tuple[str, str | None]:
    """Visible text of an HTML page, one block per line (script/style dropped)."""
    from bs4 import BeautifulSoup

    try:
        soup = BeautifulSoup(_decode(raw, path), "html.parser")
    except DocumentError:
        raise
    except Exception as exc:
        raise DocumentError(f"{path.name}: cannot parse HTML ({exc}).", "Check the file is valid HTML.") from exc
    for tag in soup(["script", "style", "noscript", "template", "head"]):
        if tag.name == "head":
            continue
        tag.decompose()
    title = soup.title.get_text(strip=True) if soup.title else ""
    if soup.head:
        soup.head.decompose()
    text = soup.get_text("\n")
    # collapse the whitespace noise between tags: one block of text per line
    lines = [re.sub(r"[ \t\r\f\v]+", " ", ln).strip() for ln in text.splitlines()]
    return "\n".join(ln for ln in lines if ln), title or None


def _load_pdf(path: Path) -> tuple[str, str | None]:
    from langchain_community.document_loaders import PyPDFLoader

    try:
        pages = PyPDFLoader(str(path)).load()
    except Exception as exc:
        raise DocumentError(f"{path.name}: corrupt or unreadable PDF ({type(exc).__name__}: {exc}).",
                            "Re-export the PDF, or save its text as .txt.") from exc
    text = "\n\n".join(p.page_content.strip() for p in pages if p.page_content.strip())
    title = ""
    if pages:
        title = str(pages[0].metadata.get("title") or "").strip()
    return text, title or None


def load_source(path: Path, knowledge_dir: Path | None = None, max_bytes: int = MAX_FILE_BYTES) -> SourceDoc:
    """Load ``path``; raise DocumentError saying why when it cannot be used."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise DocumentError(f"{path.name}: unsupported file type '{suffix or 'none'}'.",
                            f"Supported: {', '.join(SUPPORTED_SUFFIXES)}.")
    raw = read_regular(path, max_bytes)

    body_start = 0
    if suffix in (".html", ".htm"):
        text, title = _load_html(path, raw)
    elif suffix == ".pdf":
        if not raw.startswith(b"%PDF"):
            raise DocumentError(f"{path.name}: not a PDF (no %PDF header).", "Re-export the PDF.")
        text, title = _load_pdf(path)
    else:
        text, title, body_start = _load_text(path, raw)
    if not text[body_start:].strip():
        raise DocumentError(f"{path.name}: empty (no text found).",
                            "Scanned PDFs need OCR first; otherwise add text to the file.")
    title = _sidecar_title_or_warn(path) or title or _humanize(path)
    resolved = path.resolve()
    rel = str(resolved)
    if knowledge_dir is not None:
        try:
            rel = resolved.relative_to(Path(knowledge_dir).resolve()).as_posix()
        except ValueError:
            pass
    return SourceDoc(path=rel, abs_path=resolved, title=title, text=text, body_start=body_start)


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


def _sidecar_title_or_warn(path: Path) -> str | None:
    """The sidecar's title; a sidecar that cannot be read loses only its metadata (with a warning), not the document."""
    try:
        return _sidecar_title(path)
    except DocumentError as exc:
        log.warning("%s The document is indexed without it.", exc)
        return None


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

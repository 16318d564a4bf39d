"""The documents a user can see, add and remove from the web chat.

Why a module of its own: uploads must never break a citation. A citation's
offsets index the extracted text of the exact version of the file its passage
came from, so a new version is written beside the old one (its own folder,
hence its own source id, text file and passages), indexed, and only then does
the old version go: write new, index, swap. If indexing fails, the new copy is
removed and the old file, text and passages are untouched; at every moment each
passage in the store points at text that is still there.

Names stay readable (Unicode letters kept) and unique: re-uploading a file
under the same name replaces it; a different file whose name cleans up to one
already taken gets " (2)" and the user is told so. ``index.json`` in the
uploads folder maps each shown name to its current version.

The knowledge folder's files are listed read-only: they belong to whoever
edits that folder, and a restart would index them again anyway.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import threading
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import AssistantError
from ..index.files import atomic_copy, atomic_write_text

if TYPE_CHECKING:
    from ..core import Assistant

log = logging.getLogger(__name__)

UPLOAD_SUFFIXES = (".md", ".txt", ".html", ".pdf", ".docx")
MAX_NAME_BYTES = 160  # file systems allow 255 bytes per name; leave room for " (99)" and the suffix
_KEEP = "._- ()"  # besides letters, marks and digits


def safe_filename(name: str) -> str:
    """A readable, safe file name: no folders, no dotfiles, no control or shell characters.

    Letters, marks and digits of every script are kept ("日本の政策.md" stays as it
    is); anything else becomes "_". Unicode is NFC-normalised so the same name
    typed on two systems is the same name here.
    """
    base = unicodedata.normalize("NFC", str(name).replace("\\", "/")).split("/")[-1]
    stem, suffix = os.path.splitext(base)
    if not re.fullmatch(r"\.[A-Za-z0-9]{1,8}", suffix or ""):
        stem, suffix = base, ""
    chars = [ch if unicodedata.category(ch)[0] in "LMN" or ch in _KEEP else "_" for ch in stem]
    stem = re.sub(r"_{2,}", "_", "".join(chars)).strip(" ._")
    stem = stem.encode("utf-8")[:MAX_NAME_BYTES].decode("utf-8", "ignore").strip(" ._")
    return (stem or "upload") + suffix.lower()


def human_size(n: float) -> str:
    """12 bytes / 4.5 KB / 10 MB: limits are read by people."""
    if n < 1024:
        return f"{int(n)} bytes"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KB".replace(".0 KB", " KB")
    return f"{n / 1024 / 1024:.1f} MB".replace(".0 MB", " MB")


@dataclass
class UploadResult:
    """What happened to one uploaded file, in words for the user."""

    name: str  # the name it is listed under
    ok: bool
    message: str  # one plain sentence
    replaced: bool = False
    renamed_from: str = ""  # set when the name got a suffix because another file had it
    passages: int = 0


@dataclass
class DocumentInfo:
    """One searched document as the documents panel lists it (never a server path)."""

    key: str  # what the page sends back to remove it
    title: str
    name: str  # file name only
    kind: str  # "MD", "PDF", …
    passages: int
    added: str  # ISO time of the upload, "" for the knowledge folder
    origin: str  # "upload" | "knowledge" | "other"
    source: str = ""  # its id in the store: never shown (an upload's is a server path)

    @property
    def removable(self) -> bool:
        return self.origin != "knowledge"


class Library:
    """Uploads and the list of searched documents, over an ``Assistant`` (injected)."""

    def __init__(self, bot: Assistant, max_upload_bytes: int) -> None:
        self.bot = bot
        self.max_upload_bytes = max_upload_bytes
        self._lock = threading.Lock()  # one upload or removal at a time: the index file is read-modify-write

    @property
    def folder(self) -> Path:
        return self.bot.settings.data_dir / "uploads"

    @property
    def index_path(self) -> Path:
        return self.folder / "index.json"

    # -- the uploads index: {"files": {shown name: current version}, "cleanup": [source ids to remove]}
    def _load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.index_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        if not isinstance(data, dict):
            data = {}
        files = data.get("files")
        cleanup = data.get("cleanup")
        return {"files": files if isinstance(files, dict) else {},
                "cleanup": cleanup if isinstance(cleanup, list) else []}

    def index(self) -> dict[str, dict[str, Any]]:
        """Shown name -> {"original", "file" (relative to the uploads folder), "sha", "bytes", "added"}."""
        return self._load()["files"]

    def _save(self, data: dict[str, Any]) -> None:
        atomic_write_text(self.index_path, json.dumps(data, indent=1, ensure_ascii=False, sort_keys=True))

    def _source_of(self, file: Path) -> str:
        """The source id ingest gives ``file`` (its resolved path: uploads live outside the knowledge folder)."""
        return str(file.resolve())

    # -- adding
    def check(self, path: Path, name: str) -> str | None:
        """Why the file cannot be added (type, size, empty), or None; nothing is copied before this passes."""
        suffix = Path(name).suffix.lower()
        if suffix not in UPLOAD_SUFFIXES:
            what = f"'{suffix}' files are" if suffix else "files without an extension are"
            return f"{name}: {what} not supported. Upload {', '.join(UPLOAD_SUFFIXES)} files."
        size = path.stat().st_size
        if size > self.max_upload_bytes:
            return f"{name}: it is {human_size(size)}; the limit is {human_size(self.max_upload_bytes)}."
        if size == 0:
            return f"{name}: the file is empty."
        return None

    def _free_name(self, index: dict[str, dict[str, Any]], name: str) -> str:
        stem, suffix = os.path.splitext(name)
        n = 2
        while f"{stem} ({n}){suffix}" in index:
            n += 1
        return f"{stem} ({n}){suffix}"

    def add(self, path: Path, original_name: str | None = None) -> UploadResult:
        """Add (or replace) one uploaded file; the result says in words what happened."""
        original = unicodedata.normalize("NFC", Path(str(original_name or path.name).replace("\\", "/")).name)
        name = safe_filename(original)
        problem = self.check(path, name)
        if problem:
            return UploadResult(name, False, f"Not added. {problem}")
        content = path.read_bytes()
        sha = hashlib.sha256(content).hexdigest()
        with self._lock:
            data = self._load()
            self._retry_cleanup(data)
            index = data["files"]
            entry = index.get(name)
            renamed_from = ""
            if entry is not None and entry.get("original") != original:
                renamed_from, name = name, self._free_name(index, name)
                entry = None
            if entry is not None and entry.get("sha") == sha and (self.folder / entry["file"]).exists():
                return UploadResult(name, True, f"{name} is already in the library, unchanged.",
                                    passages=self.passage_count(self._source_of(self.folder / entry["file"])))
            rel = f"{sha[:16]}/{name}"
            new_file = self.folder / rel
            atomic_copy(path, new_file)
            new_source = self._source_of(new_file)
            failure = self._index_file(new_file)
            if failure:
                self._discard(new_file, new_source, data)
                self._save(data)
                return UploadResult(name, False, f"Not added. {failure}")
            index[name] = {"original": original, "file": rel, "sha": sha, "bytes": len(content),
                           "added": datetime.now(UTC).isoformat(timespec="seconds")}
            if entry is not None and entry.get("file") != rel:
                self._discard(self.folder / entry["file"], self._source_of(self.folder / entry["file"]), data)
            self._save(data)
        passages = self.passage_count(new_source)
        if entry is not None:
            msg = f"Replaced {name} with the new version: {passages} passages. You can ask about it now."
        elif renamed_from:
            msg = (f"Added as {name}, because another file is already called {renamed_from}: "
                   f"{passages} passages. You can ask about it now.")
        else:
            msg = f"Added {name}: {passages} passages. You can ask about it now."
        return UploadResult(name, True, msg, replaced=entry is not None, renamed_from=renamed_from, passages=passages)

    def _index_file(self, file: Path) -> str | None:
        """Index one file; the reason it failed, or None."""
        try:
            report = self.bot.ingest([file], progress=False)
        except AssistantError as exc:
            return f"{file.name} could not be indexed: {exc}"
        except Exception as exc:  # a store or loader bug must not leave a half-added file behind
            log.exception("indexing upload %s failed", file.name)
            return f"{file.name} could not be indexed ({type(exc).__name__})."
        if report.errors:
            return "; ".join(r for _, r in report.errors)
        return None

    def _discard(self, file: Path, source: str, data: dict[str, Any]) -> None:
        """Remove one version's passages, text and file; if the store refuses, retry on the next upload.

        The passages go first: a file whose passages are still searchable keeps its
        text (``remove_source`` deletes the text last), so citations stay valid.
        """
        try:
            self.bot.ingestor.remove_source(source)
        except Exception as exc:
            log.warning("could not remove %s from the store yet (%s); will retry", file.name, exc)
            if source not in data["cleanup"]:
                data["cleanup"].append(source)
            return
        self._delete_file(file)

    def _delete_file(self, file: Path) -> None:
        file.unlink(missing_ok=True)
        folder = file.parent
        if folder != self.folder and self.folder in folder.parents:
            try:
                folder.rmdir()  # only when empty: another name may share the content folder
            except OSError:
                pass

    def _retry_cleanup(self, data: dict[str, Any]) -> None:
        """Finish removing versions the store refused to delete earlier (it was down)."""
        pending = data["cleanup"]
        for source in list(pending):
            try:
                self.bot.ingestor.remove_source(source)
            except Exception:
                return  # the store is still unavailable
            pending.remove(source)
            file = Path(source)
            if self.folder.resolve() in file.parents:
                self._delete_file(file)

    # -- removing
    def remove(self, key: str) -> str:
        """Remove an uploaded (or other non-knowledge) document by its key; a sentence for the user."""
        with self._lock:
            docs = {d.key: d for d in self.documents()}
            doc = docs.get(key)
            if doc is None:
                return "That document is no longer in the library."
            if not doc.removable:
                return (f"{doc.name} is in the knowledge folder; remove it there (the list follows on the next "
                        "start or `assistant ingest`).")
            data = self._load()
            index = data["files"]
            source = self._source_for_key(key, index)
            try:
                removed = self.bot.ingestor.remove_source(source)
            except AssistantError as exc:
                return f"{doc.name} was not removed: {exc}"
            except Exception as exc:
                log.exception("removing %s failed", doc.name)
                return f"{doc.name} was not removed ({type(exc).__name__}). Please try again."
            if key in index:
                self._delete_file(self.folder / index.pop(key)["file"])
                self._save(data)
            elif self.folder.resolve() in Path(source).parents:
                self._delete_file(Path(source))
        return f"Removed {doc.name} ({removed} passages). It is no longer searched."

    def _source_for_key(self, key: str, index: dict[str, dict[str, Any]]) -> str:
        if key in index:
            return self._source_of(self.folder / index[key]["file"])
        for doc in self.bot.ingestor.documents():
            if _other_key(doc.source) == key:
                return doc.source
        raise KeyError(key)


    # -- listing
    def passage_count(self, source: str) -> int:
        try:
            return self.bot.ingestor.passage_count(source)
        except Exception:  # the count is a convenience; a store problem shows when asking
            return 0

    def documents(self) -> list[DocumentInfo]:
        """Every searched document: knowledge folder first, then uploads by name."""
        index = self.index()
        by_source = {self._source_of(self.folder / e["file"]): (name, e) for name, e in index.items()}
        out: list[DocumentInfo] = []
        for ingested in self.bot.ingestor.documents():
            source, title = ingested.source, ingested.title
            file_name = Path(source).name
            kind = Path(source).suffix.lstrip(".").upper() or "TEXT"
            if source in by_source:
                name, entry = by_source[source]
                doc = DocumentInfo(name, title, name, kind, self.passage_count(source), entry.get("added", ""),
                                   "upload", source)
            elif not Path(source).is_absolute():
                doc = DocumentInfo(_other_key(source), title, file_name, kind, self.passage_count(source), "",
                                   "knowledge", source)
            else:
                doc = DocumentInfo(_other_key(source), title, file_name, kind, self.passage_count(source), "",
                                   "other", source)
            out.append(doc)
        order = {"knowledge": 0, "upload": 1, "other": 2}
        return sorted(out, key=lambda d: (order[d.origin], d.name.casefold()))


def _other_key(source: str) -> str:
    """A stable key for a document the page may name without seeing its path."""
    return "doc-" + hashlib.sha1(source.encode()).hexdigest()[:12]

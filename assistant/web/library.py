"""The documents a user can see, add and remove from the web chat.

Why a module of its own: uploads must never break a citation or lose a
document. Each upload is copied into its own folder (``uploads/<hash>/<name>``,
hence its own source id, text file and passages) and listed only once it is
indexed; if indexing fails, the copy is removed and nothing else changes.

Names come from the file name the app receives, which is not always the one the
user picked: Gradio drops characters such as ``? * < > ! $`` before the app sees
the file, so "Budget 2036!.md" and "Budget 2036.md" arrive alike. A name alone
therefore cannot tell a new version from a different file, and one file must
never replace another: the received name and the content's hash decide. The
same content under the same received name is the same file ("unchanged"); a
different file whose name is taken is added as "name (2).md", and the message
names both. ``index.json`` in the uploads folder maps each shown name to its
file, its received name and its hash.

One writer at a time: another process (a CLI ``assistant ingest``) may hold the
data folder's writer lock. An upload then waits for it in the background
(``Settings.upload_wait_s``), listed as queued, and is indexed when the lock is
free; its passages are encoded before the wait (``Ingestor.prepared``), so the
locked part is the write alone. A queued upload survives a restart: its entry
stays in ``index.json`` until it is indexed or given up.

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
import time
import unicodedata
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import AssistantError, StoreBusy
from ..index.files import atomic_copy, atomic_write_text

if TYPE_CHECKING:
    from ..core import Assistant

log = logging.getLogger(__name__)

UPLOAD_SUFFIXES = (".md", ".txt", ".html", ".pdf", ".docx")
MAX_NAME_BYTES = 160  # file systems allow 255 bytes per name; leave room for " (99)" and the suffix
_KEEP = "._- ()"  # besides letters, marks and digits
QUEUED = "Queued: another process is indexing; this file will be added when it finishes."
POLL_S = 1.0  # how often a queued upload tries the writer lock again
MAX_OUTCOMES = 1000  # results of queued uploads kept for pages that have not asked yet


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


def human_duration(seconds: float) -> str:
    """3 s / 10 minutes: how long an upload waited, in words."""
    if seconds < 120:
        return f"{seconds:g} s"
    return f"{seconds / 60:g} minutes"


def passages_phrase(n: int) -> str:
    return f"{n} passage{'s' if n != 1 else ''}"


@dataclass
class UploadResult:
    """What happened to one uploaded file, in words for the user."""

    name: str  # the name it is listed under
    ok: bool
    message: str  # one plain sentence
    renamed_from: str = ""  # set when the name got a suffix because another file had it
    passages: int = 0
    queued: bool = False  # waiting for another process's ingest; the outcome comes later (``outcomes``)
    token: str = ""  # names a queued upload's outcome


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
    source: str = ""  # its id in the store: never shown
    queued: bool = False  # an upload waiting for another process's ingest: not searched yet

    @property
    def removable(self) -> bool:
        return self.origin != "knowledge"


class Library:
    """Uploads and the list of searched documents, over an ``Assistant`` (injected).

    ``received`` is the folder the web server receives uploads in (Gradio's upload
    cache): a removed upload's copies there are deleted too.
    """

    def __init__(self, bot: Assistant, max_upload_bytes: int, received: Path | None = None) -> None:
        self.bot = bot
        self.max_upload_bytes = max_upload_bytes
        self.received = received
        self._lock = threading.RLock()  # one change at a time: the index file is read-modify-write
        self._outcomes: OrderedDict[str, tuple[bool, str]] = OrderedDict()  # token -> what became of it
        self._jobs: dict[str, str] = {}  # shown name -> token, for uploads waiting on another ingest
        self.resume()

    @property
    def folder(self) -> Path:
        return self.bot.settings.data_dir / "uploads"

    @property
    def index_path(self) -> Path:
        return self.folder / "index.json"

    # -- the uploads index: {"files": {shown name: entry}, "cleanup": [source ids to remove]}
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
        """Shown name -> {"original" (the name received), "file" (under the uploads folder), "sha", "bytes",
        "added"}, plus "queued": true while it waits for another process's ingest."""
        return self._load()["files"]

    def _save(self, data: dict[str, Any]) -> None:
        atomic_write_text(self.index_path, json.dumps(data, indent=1, ensure_ascii=False, sort_keys=True))

    def _source_of(self, file: Path) -> str:
        """The source id ingest gives ``file`` (``uploads/<hash>/<name>``: never a server path)."""
        return self.bot.ingestor.source_id(file)

    def _file_of(self, source: str) -> Path | None:
        """The uploaded file a source id names, if it is one (ids of older layouts were absolute paths)."""
        path = Path(source) if Path(source).is_absolute() else self.bot.settings.data_dir / source
        return path if self.folder.resolve() in path.resolve().parents else None

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

    def _same_file(self, index: dict[str, dict[str, Any]], original: str, sha: str) -> str | None:
        """The shown name of an upload received under ``original`` with this content, if there is one."""
        for name, entry in index.items():
            if entry.get("original") == original and entry.get("sha") == sha and (self.folder / entry["file"]).exists():
                return name
        return None

    def add(self, path: Path, original_name: str | None = None) -> UploadResult:
        """Add one uploaded file; the result says in words what happened.

        ``original_name`` is the name the file was received under (default: its own).
        Returns once it is indexed, or refused, or queued behind another process's
        ingest (``queued``; its outcome is then collected with ``outcomes``).
        """
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
            same = self._same_file(index, original, sha)
            if same is not None:
                return self._unchanged(same, original, index[same])
            wanted, renamed_from = name, ""
            if name in index:  # a different file has this name: both stay, under two names
                renamed_from, name = name, self._free_name(index, name)
            rel = f"{sha[:16]}/{name}"
            atomic_copy(path, self.folder / rel)
            # listed as queued until indexed: the name is taken from now on, and a restart resumes it
            index[name] = {"original": original, "file": rel, "sha": sha, "bytes": len(content), "queued": True,
                           "added": datetime.now(UTC).isoformat(timespec="seconds")}
            self._save(data)
        return self._index_now_or_later(name, rel, renamed_from or "", wanted)

    def _unchanged(self, name: str, original: str, entry: dict[str, Any]) -> UploadResult:
        if entry.get("queued"):
            return UploadResult(name, True, f"{name} is already queued; it will be added when the other "
                                            "indexing finishes.", queued=True)
        passages = self.passage_count(self._source_of(self.folder / entry["file"]))
        shown = safe_filename(original)
        where = f" as {name}" if name != shown else ""
        return UploadResult(name, True, f"{shown} is already in the library{where}, unchanged.", passages=passages)

    def _index_now_or_later(self, name: str, rel: str, renamed_from: str, wanted: str) -> UploadResult:
        """Index the new copy; if another process holds the writer lock, keep waiting in the background.

        The job runs on its own thread from the start, so that the vectors it
        encodes before taking the lock stay with it while it waits; the caller
        waits only until the job is done or has found the lock taken.
        """
        token = uuid.uuid4().hex
        answered = threading.Event()
        box: dict[str, UploadResult] = {}

        def busy() -> None:
            with self._lock:
                self._jobs[name] = token
            answered.set()

        def job() -> None:
            result = self._wait_and_index(name, rel, renamed_from, busy)
            if answered.is_set():
                self._finish(name, token, result)
            else:
                box["result"] = result
                answered.set()

        threading.Thread(target=job, name=f"upload-{name}", daemon=True).start()
        answered.wait()
        if "result" in box:
            return box["result"]
        return UploadResult(name, True, f"{QUEUED[:-1]} ({name}).", renamed_from=renamed_from, queued=True,
                            token=token)

    def _wait_and_index(self, name: str, rel: str, renamed_from: str, on_busy: Any) -> UploadResult:
        """Encode the copy (no lock), then index it as soon as the writer lock is free, or give up in time.

        ``on_busy`` is called once, the first time the lock is found taken. Never
        raises: whatever happens, the upload ends added or refused, never stuck.
        """
        file = self.folder / rel
        deadline = time.monotonic() + self.bot.settings.upload_wait_s
        try:
            with self.bot.ingestor.prepared([file]):
                while True:
                    result = self._attempt(name, rel, renamed_from)
                    if result is not None:
                        return result
                    if on_busy is not None:
                        on_busy()
                        on_busy = None
                    if time.monotonic() >= deadline:
                        waited = human_duration(self.bot.settings.upload_wait_s)
                        self._drop_queued(name, rel)
                        return UploadResult(name, False, f"Not added. Another process was still indexing after "
                                                         f"{waited}; upload {name} again when it has finished.")
                    time.sleep(POLL_S)
        except Exception as exc:  # never lose an upload's outcome to a bug
            log.exception("indexing upload %s failed", name)
            self._drop_queued(name, rel)
            return UploadResult(name, False, f"Not added. {name} could not be indexed ({type(exc).__name__}).")

    def _attempt(self, name: str, rel: str, renamed_from: str) -> UploadResult | None:
        """One try at indexing a queued copy: its result, or None when another process holds the lock."""
        file = self.folder / rel
        label = renamed_from or name  # a refused file is named as the user sent it, not by the name it would have had
        with self._lock:
            data = self._load()
            entry = data["files"].get(name)
            if entry is None or entry.get("file") != rel:
                return UploadResult(name, False, f"{label} was removed before it was indexed.")
            try:
                report = self.bot.ingest([file], progress=False)
                failure = "; ".join(r.replace(name, label) for _, r in report.errors) or None
            except StoreBusy:
                return None
            except AssistantError as exc:
                failure = f"{label} could not be indexed: {exc}"
            except Exception as exc:  # a store or loader bug must not leave a half-added file behind
                log.exception("indexing upload %s failed", name)
                failure = f"{label} could not be indexed ({type(exc).__name__})."
            if failure:
                data["files"].pop(name, None)
                self._discard(file, self._source_of(file), data)
                self._save(data)
                return UploadResult(label, False, f"Not added. {failure}")
            entry.pop("queued", None)
            self._save(data)
        n = self.passage_count(self._source_of(file))
        if renamed_from:
            msg = (f"Added as {name}, because another file is already called {renamed_from}: "
                   f"{passages_phrase(n)}. You can ask about it now.")
        else:
            msg = f"Added {name}: {passages_phrase(n)}. You can ask about it now."
        return UploadResult(name, True, msg, renamed_from=renamed_from, passages=n)

    def _drop_queued(self, name: str, rel: str) -> None:
        """Forget a copy that was never indexed: its entry (if still its own) and its file."""
        with self._lock:
            data = self._load()
            entry = data["files"].get(name)
            if entry is not None and entry.get("file") == rel and entry.get("queued"):
                data["files"].pop(name)
                self._save(data)
            if not any(e.get("file") == rel for e in data["files"].values()):
                self._delete_file(self.folder / rel)

    def _finish(self, name: str, token: str, result: UploadResult) -> None:
        with self._lock:
            if self._jobs.get(name) == token:
                del self._jobs[name]
            self._outcomes[token] = (result.ok, result.message)
            while len(self._outcomes) > MAX_OUTCOMES:
                self._outcomes.popitem(last=False)

    def outcomes(self, tokens: list[str]) -> tuple[list[tuple[bool, str]], list[str]]:
        """What became of queued uploads: (ok, message) for each finished one, and the tokens still waiting."""
        done: list[tuple[bool, str]] = []
        waiting: list[str] = []
        with self._lock:
            for token in tokens:
                if token in self._outcomes:
                    done.append(self._outcomes.pop(token))
                elif token in self._jobs.values():
                    waiting.append(token)
        return done, waiting

    def resume(self) -> None:
        """Start again the uploads a previous run left queued (its process ended while they waited)."""
        try:
            queued = [(name, e) for name, e in self.index().items() if e.get("queued") and name not in self._jobs]
        except Exception:  # the index is a convenience here; uploads still work
            return
        for name, entry in queued:
            token = uuid.uuid4().hex
            self._jobs[name] = token

            def job(name: str = name, rel: str = entry["file"], token: str = token) -> None:
                self._finish(name, token, self._wait_and_index(name, rel, "", None))

            threading.Thread(target=job, name=f"upload-{name}", daemon=True).start()

    def _discard(self, file: Path, source: str, data: dict[str, Any]) -> None:
        """Remove one copy's passages, text and file; if the store refuses, retry on the next upload.

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
        """Finish removing copies the store refused to delete earlier (it was down)."""
        pending = data["cleanup"]
        for source in list(pending):
            try:
                self.bot.ingestor.remove_source(source)
            except Exception:
                return  # the store is still unavailable
            pending.remove(source)
            file = self._file_of(source)
            if file is not None:
                self._delete_file(file)

    # -- removing
    def remove(self, key: str) -> str:
        """Remove an uploaded (or other non-knowledge) document by its key; a sentence for the user.

        Every copy goes: its passages and text, its file in the uploads folder and
        the copies the web server received (so no old link downloads it).
        """
        with self._lock:
            docs = {d.key: d for d in self.documents(queued=True)}
            doc = docs.get(key)
            if doc is None:
                return "That document is no longer in the library."
            if not doc.removable:
                return (f"{doc.name} is in the knowledge folder; remove it there (the list follows on the next "
                        "start or `assistant ingest`).")
            data = self._load()
            index = data["files"]
            entry = index.get(key)
            if entry is not None and entry.get("queued"):  # not indexed yet: nothing in the store
                index.pop(key)
                self._save(data)
                self._delete_file(self.folder / entry["file"])
                self._forget_received(entry)
                return f"Removed {doc.name} before it was indexed."
            try:
                removed = self.bot.ingestor.remove_source(doc.source)
            except StoreBusy:
                return (f"{doc.name} was not removed: another process is indexing. Try again when it has "
                        "finished.")
            except AssistantError as exc:
                return f"{doc.name} was not removed: {exc}"
            except Exception as exc:
                log.exception("removing %s failed", doc.name)
                return f"{doc.name} was not removed ({type(exc).__name__}). Please try again."
            if entry is not None:
                index.pop(key)
                self._save(data)
                self._delete_file(self.folder / entry["file"])
                self._forget_received(entry)
            elif (file := self._file_of(doc.source)) is not None:
                self._delete_file(file)
        return f"Removed {doc.name} ({passages_phrase(removed)}). It is no longer searched."

    def _forget_received(self, entry: dict[str, Any]) -> None:
        """Delete the web server's copies of an upload (``received/<hash>/<name received>``, same content)."""
        if self.received is None or not entry.get("original") or not entry.get("sha"):
            return
        for copy in self.received.glob(f"*/{glob_escape(entry['original'])}"):
            try:
                if copy.is_file() and not copy.is_symlink() and _sha256(copy) == entry["sha"]:
                    forget_copy(copy, self.received)
            except OSError as exc:
                log.warning("could not delete a received copy of %s (%s)", entry["original"], exc)

    # -- listing
    def passage_count(self, source: str) -> int:
        try:
            return self.bot.ingestor.passage_count(source)
        except Exception:  # the count is a convenience; a store problem shows when asking
            return 0

    def documents(self, *, queued: bool = False) -> list[DocumentInfo]:
        """Every searched document: knowledge folder first, then uploads by name (with ``queued``, those
        still waiting to be indexed too)."""
        index = self.index()
        by_source = {self._source_of(self.folder / e["file"]): (name, e)
                     for name, e in index.items() if not e.get("queued")}
        out: list[DocumentInfo] = []
        for ingested in self.bot.ingestor.documents():
            source, title = ingested.source, ingested.title
            file_name = Path(source).name
            kind = Path(source).suffix.lstrip(".").upper() or "TEXT"
            if source in by_source:
                name, entry = by_source[source]
                doc = DocumentInfo(name, title, name, kind, self.passage_count(source), entry.get("added", ""),
                                   "upload", source)
            else:
                origin = "knowledge" if ingested.origin == "knowledge" else "other"
                doc = DocumentInfo(_other_key(source), title, file_name, kind, self.passage_count(source), "",
                                   origin, source)
            out.append(doc)
        if queued:
            out += [DocumentInfo(name, name, name, Path(name).suffix.lstrip(".").upper() or "TEXT", 0,
                                 e.get("added", ""), "upload", queued=True)
                    for name, e in index.items() if e.get("queued")]
        order = {"knowledge": 0, "upload": 1, "other": 2}
        return sorted(out, key=lambda d: (order[d.origin], d.name.casefold()))


def _other_key(source: str) -> str:
    """A stable key for a document the page may name without seeing its path."""
    return "doc-" + hashlib.sha1(source.encode()).hexdigest()[:12]


def _sha256(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            sha.update(chunk)
    return sha.hexdigest()


def glob_escape(name: str) -> str:
    """``name`` matched literally by ``Path.glob`` ([, * and ? are pattern characters)."""
    return re.sub(r"([\[\]*?])", r"[\1]", name)


def forget_copy(copy: Path, received: Path) -> None:
    """Delete one received copy and its folder when that is left empty (never ``received`` itself)."""
    copy.unlink(missing_ok=True)
    folder, root = copy.parent.resolve(), received.resolve()
    if folder != root and root in folder.parents:
        try:
            folder.rmdir()
        except OSError:
            pass

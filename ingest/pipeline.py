"""assistant ingest [PATHS...] — load, split, embed and index documents, incrementally.

LangChain's indexing API with a SQL record manager does the bookkeeping: a
passage whose text and metadata are unchanged is skipped (nothing embedded), a
changed source has exactly its passages replaced, and a run killed half-way
converges on re-run (ids are content hashes, writes are upserts, and cleanup
only happens after all of a source's passages are written: ``scoped_full``).
Files that vanished from a folder being ingested have their passages removed.
A file that cannot be read is reported by name and skipped; its earlier
passages, if any, are kept.

After a run over the knowledge folder, a snapshot of it (every file's size and
mtime, and the splitter's ``LAYOUT``) is saved beside the manifest, so a restart
can tell in milliseconds whether the folder was edited, or the splitter changed,
since: ``Ingestor.knowledge_changed()``.

Every run holds the data folder's writer lock (``lock``), first re-fills what
the store lost compared with the records (``check``), and leaves a marker until
it ends, so a start after an interrupted run finishes it (``recovery``). A
caller that may wait for the lock (a web upload) encodes its files first,
outside it (``prepared``), so the locked part is the write alone.

A source's id, which citations carry as their ``path``, never names a server
folder (``source_id``): a file of the knowledge folder is its path there, an
upload ``uploads/<hash>/<name>`` (its path in the data folder), any other file
``external/<hash of its folder>/<name>``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import queue
import stat
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

from langchain_core.documents import Document
from langchain_core.indexing import index

from assistant.errors import DocumentError, StoreError
from assistant.index import Store, atomic_write_text, document_years, faults
from assistant.settings import Settings

from . import recovery
from .check import StoreCheck, check_store, record_sources
from .loaders import SourceDoc, discover, folder_files, load_source
from .lock import writer_lock
from .plural import plural
from .splitter import Passage, split_passages

log = logging.getLogger(__name__)


@dataclass
class IngestReport:
    files: int = 0
    added: int = 0
    updated: int = 0
    removed: int = 0
    skipped: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)
    removed_sources: list[str] = field(default_factory=list)
    seconds: float = 0.0
    notices: list[str] = field(default_factory=list)  # repairs made on the way, one line each

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)

    def summary(self) -> str:
        return (
            f"{plural(self.files, 'file')}: {plural(self.added, 'passage')} added, {self.updated} updated, "
            f"{self.removed} removed, {self.skipped} unchanged; {plural(len(self.errors), 'file')} skipped "
            f"with errors; {self.seconds:.1f}s"
        )

    def to_dict(self) -> dict:
        return {
            "files": self.files, "added": self.added, "updated": self.updated, "removed": self.removed,
            "skipped": self.skipped, "errors": [{"file": f, "reason": r} for f, r in self.errors],
            "removed_sources": self.removed_sources, "seconds": round(self.seconds, 3), "notices": self.notices,
        }

    def merge(self, other: IngestReport) -> None:
        """Add ``other``'s counts to this report (a repair run over files outside this run's roots)."""
        for name in ("files", "added", "updated", "removed", "skipped"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.errors += other.errors
        self.removed_sources += other.removed_sources
        self.notices += other.notices


def prefetched(items: Iterator[Document], depth: int = 512) -> Iterator[Document]:
    """``items``, produced by a thread up to ``depth`` ahead of the consumer.

    Loading and splitting files is Python work; the encoder releases the GIL, so
    the next files are read and split while a batch is being embedded (measured
    in the benchmarks: most of the loading and splitting hidden). An error
    in the producer is raised in the consumer; a consumer that stops early stops
    the producer.
    """
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(done)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            put(exc)

    worker = threading.Thread(target=produce, name="ingest-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item = q.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join()


# in every record's hash: records written by an older layout are re-embedded once.
# 5: PDF passages carry their page numbers (``pages``).
# 6: sources outside the knowledge folder are named without a server path (``Ingestor.source_id``):
#    those an older layout named by their absolute path are re-read under the new name once.
LAYOUT = 6
UPLOADS = "uploads/"  # the id prefix of a web upload: its path under the data folder
EXTERNAL = "external/"  # the id prefix of any other file outside the knowledge folder


def passage_pages(p: Passage, starts: tuple[tuple[int, int], ...]) -> list[list[int]]:
    """The pages ``p`` lies on, as ``[offset, page]`` from its start: [] for documents without pages.

    ``starts`` is where each page of the document begins (``SourceDoc.pages``); the
    first pair is the page the passage starts on, the rest are page turns inside it,
    so a citation can name the page of its own quote (``Citation.page``).
    """
    out: list[list[int]] = []
    for offset, page in starts:
        if offset <= p.start:
            out = [[p.start, page]]
        elif offset < p.end:
            out.append([offset, page])
        else:
            break
    return out


def passage_documents(p: Passage, years: str = "", pages: tuple[tuple[int, int], ...] = ()) -> Document:
    """The record of one passage; ``years`` lists every year its document mentions (its date's included),
    ``pages`` where the document's pages begin (PDF)."""
    metadata = {
        "source": p.source, "title": p.title, "passage_id": p.id, "start": p.start,
        "end": p.end, "ordinal": p.ordinal, "sentences": json.dumps(p.sentences), "layout": LAYOUT,
        "skip": json.dumps(p.skip), "section": p.section, "date": p.date, "years": years,
    }
    if pages:
        metadata["pages"] = json.dumps(passage_pages(p, pages))
    return Document(page_content=p.text, metadata=metadata)


@dataclass(frozen=True)
class IngestedDocument:
    """One document the store holds, as a program outside ingest may see it (the web's Documents tab)."""

    source: str  # its id in the store (``Ingestor.source_id``): never a server path
    title: str
    file: Path | None  # where it was read from, when known
    origin: str = "other"  # "knowledge" | "upload" | "other" (a file ingested by path)


class Ingestor:
    """Keeps the store in step with the source files. Store and settings are injected."""

    def __init__(self, store: Store, settings: Settings, on_change: Callable[[], None] | None = None) -> None:
        self.store = store
        self.settings = settings
        self.on_change = on_change
        # what a run is doing, for a page to show ("Finishing an interrupted ingest: 40 %"); "" when none runs
        self.status = ""

    @cached_property
    def passage_records(self):
        """LangChain's SQL record manager, opened on first use: a start-up freshness check needs none of it."""
        return recovery.open_records(self.settings, f"chroma/{self.settings.collection}_passages")

    # -- sources manifest: which files are in the store, and the text their offsets index
    @property
    def manifest_path(self) -> Path:
        return self.settings.sources_dir / "manifest.json"

    def manifest(self) -> dict[str, dict]:
        try:
            return json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except ValueError:
            return {}  # a damaged manifest only loses deletion tracking; the store is intact

    def documents(self) -> list[IngestedDocument]:
        """Every document ingested into this data folder, in source order."""
        out = []
        for source, info in sorted(self.manifest().items()):
            file = Path(info["abs_path"]) if info.get("abs_path") else None
            out.append(IngestedDocument(source, str(info.get("title") or Path(source).name), file,
                                        self.origin(source, file)))
        return out

    # -- what a source is called
    def source_id(self, file: Path) -> str:
        """The id ``file``'s passages are stored under, which citations show as their ``path``.

        Why no absolute path: the id reaches every reader (the API, the chat's cards),
        and a server's folders are nobody's business. The knowledge folder's files
        keep their path there; an upload is ``uploads/<hash>/<name>`` (its path in
        the data folder); any other file is ``external/<hash of its folder>/<name>``,
        unique per folder without naming it.
        """
        resolved = Path(file).resolve()
        try:
            return resolved.relative_to(Path(self.settings.knowledge_dir).resolve()).as_posix()
        except ValueError:
            pass
        try:
            return UPLOADS + resolved.relative_to(self.settings.uploads_dir.resolve()).as_posix()
        except ValueError:
            pass
        folder = hashlib.sha1(str(resolved.parent).encode("utf-8")).hexdigest()[:12]
        return f"{EXTERNAL}{folder}/{resolved.name}"

    def origin(self, source: str, file: Path | None = None) -> str:
        """Where ``source`` came from: "knowledge", "upload" or "other" (a file ingested by path)."""
        if file is not None:
            resolved = file.resolve()
            for folder, name in ((self.settings.knowledge_dir, "knowledge"), (self.settings.uploads_dir, "upload")):
                root = Path(folder).resolve()
                if root in resolved.parents:
                    return name
            return "other"
        if source.startswith(UPLOADS):
            return "upload"
        return "other" if source.startswith(EXTERNAL) or Path(source).is_absolute() else "knowledge"

    def _renamed(self) -> dict[str, Path]:
        """Sources an older layout named by their absolute path (before 6), with the file each is read from."""
        out = {}
        for source, info in self.manifest().items():
            file = Path(info.get("abs_path") or source)
            if Path(source).is_absolute() and self.source_id(file) != source:
                out[source] = file
        return out

    def passage_count(self, source: str) -> int:
        """How many passages of ``source`` the records list (0 when unknown)."""
        if not self.settings.record_db.exists():
            return 0
        return len(self.passage_records.list_keys(group_ids=[source]))

    def _save_manifest(self, data: dict[str, dict]) -> None:
        atomic_write_text(self.manifest_path, json.dumps(data, indent=1, sort_keys=True))

    # -- knowledge-folder snapshot: has anything changed since the last ingest of it?
    @property
    def snapshot_path(self) -> Path:
        return self.settings.sources_dir / "knowledge-snapshot.json"

    def snapshot(self) -> dict:
        """What an ingest of the knowledge folder depends on: each file's size and mtime, and the layout."""
        root = Path(self.settings.knowledge_dir).resolve()
        files: dict[str, list[int]] = {}
        if root.is_dir():
            for f in folder_files(root):  # the files discover() reads, and their title sidecars
                try:
                    st = f.stat()
                except OSError:  # a dangling link: the ingest reports it, the snapshot records its absence
                    continue
                if stat.S_ISREG(st.st_mode):
                    files[str(f.relative_to(root))] = [st.st_size, st.st_mtime_ns]
        return {"root": str(root), "layout": LAYOUT, "files": files}

    def knowledge_changed(self) -> bool:
        """True when the knowledge folder (or the splitter) differs from what this data folder last ingested.

        A data folder that never ingested (a reader of a shared Chroma server) is never
        "changed": refreshing a store another process owns is not a reader's job. One
        whose last ingest did not finish has changed, whatever its snapshot says.
        """
        if recovery.incomplete_roots(self.settings) is not None:
            return True
        if not self.manifest_path.exists():
            return False
        try:
            saved = json.loads(self.snapshot_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return True  # ingested by a version that kept no snapshot, or the snapshot is damaged
        return saved != self.snapshot()

    def pending(self) -> list[Path] | None:
        """What a start-up refresh must ingest, or None when the store is in step with the knowledge folder.

        In order: an ingest that did not finish is finished; a missing knowledge folder
        (unmounted, renamed) is left alone rather than read as "every file deleted";
        an empty store is filled; a store lacking passages its records list (quick
        check) is re-filled; a folder edited since its last ingest is re-indexed.
        """
        knowledge = Path(self.settings.knowledge_dir)
        resumed = recovery.incomplete_roots(self.settings)
        if resumed is not None:
            failed = recovery.failed_resume(self.settings)
            if failed is not None:  # it would fail again, after reading every file: said once, not retried
                raise failed
            log.warning("The last ingest into %s did not finish; finishing it now.", self.settings.data_dir)
            if knowledge.is_dir() and knowledge.resolve() not in [Path(r).resolve() for r in resumed]:
                resumed.append(knowledge)
            return resumed
        count = self.store.count()
        if not knowledge.is_dir():
            if count:
                log.warning("knowledge folder %s is missing; answering from the store as it is", knowledge)
                return None
            return [knowledge]  # nothing to answer from: the run reports the missing folder
        if not count or not self.check(full=False).ok or self.knowledge_changed():
            return [knowledge]
        return None

    def text_file(self, source: str) -> Path:
        return self.settings.sources_dir / (hashlib.sha1(source.encode()).hexdigest()[:16] + ".txt")

    def source_text(self, source: str) -> str:
        """The exact text the offsets of ``source``'s citations index into."""
        try:
            return self.text_file(source).read_text(encoding="utf-8")
        except FileNotFoundError as exc:
            raise DocumentError(f"No ingested text for source '{source}'.", "Run `assistant ingest`.") from exc

    # -- the run
    def lock(self, wait: float = 0.0):
        """The data folder's writer lock (StoreBusy when another process holds it after ``wait`` s)."""
        return writer_lock(self.settings.ingest_lock, wait)

    @contextmanager
    def prepared(self, files: list[Path]) -> Iterator[int]:
        """Encode ``files``' passages now, without the writer lock; a ``run`` inside uses those vectors.

        Why: a web upload may have to wait for another process's ingest, and the
        encoder is most of an ingest's cost, so it is paid before the lock rather
        than while holding it. Files that cannot be read are left for the run to
        report. Yields the number of passages encoded; unused vectors are dropped
        at the end.
        """
        keys: list[str] = []
        try:
            for f in files:
                try:
                    _doc, documents = self._read(Path(f))
                    keys += self.store.writer.prepare(documents)
                except Exception as exc:  # noqa: BLE001 - the run reads it again and reports why, by name
                    log.debug("could not encode %s ahead of its run: %s", Path(f).name, exc)
            yield len(keys)
        finally:
            self.store.writer.forget(keys)

    def interrupted(self) -> bool:
        """Did the last ingest into this data folder stop before it ended (its marker is still there)?"""
        return recovery.incomplete_roots(self.settings) is not None

    def run(self, paths: Iterable[Path] | None = None, *, progress: bool = True, wait: float = 0.0,
            label: str = "indexing") -> IngestReport:
        """Ingest ``paths`` (default: the knowledge folder), first re-filling what the store lost.

        Under the writer lock: another process's writes are picked up first (a new
        client), then the records are checked against the store, and a marker stays
        in the data folder until the run ends. ``label`` names the run in the progress
        bar and in ``status``. A run that stops on a full disk says so in the marker
        (``recovery.record_failure``), so start-ups do not retry it while the disk is full;
        one that finishes after an earlier run stopped deletes the texts that run orphaned.
        """
        roots = list(paths) if paths else [self.settings.knowledge_dir]
        with self.lock(wait), self.store.write_lock:
            after_stop = self.interrupted()
            try:
                if self.store.changed_elsewhere():
                    self.store.reload()
                recovery.mark_incomplete(self.settings, roots)  # before anything is changed
                check = check_store(self.passage_records, self.store, full=True)
                extra = self._forget_missing(check, roots) if not check.ok else []
                if extra:
                    recovery.mark_incomplete(self.settings, roots + extra)
                renamed = self._renamed()
                report = self._run(roots, progress, label)
                again = _outside(extra + [f for f in renamed.values() if f.is_file()], roots)
                if again:
                    report.merge(self._run(again, False))
                for old in renamed:  # read under its new name above (or gone): the old name goes
                    report.removed += self.remove_source(old)
                    report.removed_sources.append(old)
                if not check.ok:
                    report.notices.insert(0, check.notice())
                if after_stop:
                    self._clean_orphans()
                recovery.mark_complete(self.settings)
            except Exception as exc:
                if faults.is_disk_full(exc, self.settings.data_dir):
                    recovery.record_failure(self.settings, recovery.DISK_FULL)
                if isinstance(exc, (StoreError, DocumentError)):
                    raise
                raise recovery.explain(exc, self.settings) from exc
        if report.changed and self.on_change:
            self.on_change()
        return report

    def check(self, *, full: bool = False) -> StoreCheck:
        """Records against store (``check.check_store``); a data folder that never ingested has no records."""
        if not self.settings.record_db.exists():
            return StoreCheck(0, 0)
        try:
            return check_store(self.passage_records, self.store, full=full)
        except StoreError:
            raise
        except Exception as exc:
            raise recovery.explain(exc, self.settings) from exc

    def _forget_missing(self, check: StoreCheck, roots: list[Path]) -> list[Path]:
        """Drop the records of passages the store lacks, so the run re-embeds them; returns files to re-read.

        A source under this run's roots is re-read by the run itself; one elsewhere
        (an upload, a file given by path) is returned; one whose file is gone loses
        its records, manifest entry and text, as a deleted file would.
        """
        log.warning(check.notice())
        manifest = self.manifest()
        resolved = [Path(r).resolve() for r in roots]
        extra: list[Path] = []
        for source, keys in sorted(check.missing.items()):
            for i in range(0, len(keys), 5000):
                self.passage_records.delete_keys(keys[i : i + 5000])
            info = manifest.get(source) or {}
            path = Path(info.get("abs_path") or Path(self.settings.knowledge_dir, source)).resolve()
            if any(path == r or r in path.parents for r in resolved):
                continue
            if path.is_file():
                extra.append(path)
            else:
                self.remove_source(source)
        return extra

    def _read(self, f: Path) -> tuple[SourceDoc, list[Document]]:
        """Load and split one file: its document (named by ``source_id``) and its passages' records."""
        doc = load_source(f, self.settings.knowledge_dir, max_bytes=self.settings.max_file_bytes,
                          timeout_s=self.settings.load_timeout_s)
        doc = replace(doc, path=self.source_id(doc.abs_path))
        passages = split_passages(doc.text, doc.path, doc.title, body_start=doc.body_start,
                                  date=doc.date, heading_lines=doc.heading_lines)
        if not passages:
            raise DocumentError(f"{f.name}: no sentences found.", "Add text to the file.")
        years = document_years(doc.text + " " + doc.date + " " + doc.title)
        return doc, [passage_documents(p, years, doc.pages) for p in passages]

    def _clean_orphans(self, texts: Iterable[Path] | None = None) -> int:
        """Delete extracted texts (``texts``, default every one) that no listed source and no stored passage uses.

        Why both: the manifest names the sources of finished runs, the records those whose
        passages a stopped run already wrote; a text either names is what some citation's
        offsets index into, and must stay. Never raises: it only frees space.
        """
        try:
            keep = {self.text_file(s).name for s in {*self.manifest(), *record_sources(self.passage_records)}}
            candidates = recovery.orphan_texts(self.settings, keep) if texts is None else \
                [f for f in texts if f.name not in keep]
            for f in candidates:
                f.unlink(missing_ok=True)
        except Exception as exc:  # noqa: BLE001 - a cleanup must not hide why the run stopped
            log.warning("could not delete the texts a stopped ingest left behind (%s)", exc)
            return 0
        if candidates:
            log.info("deleted %s that no source uses", plural(len(candidates), "extracted text"))
        return len(candidates)

    def _run(self, roots: list[Path], progress: bool, label: str = "indexing") -> IngestReport:
        """One pass of LangChain's ``index()`` over ``roots`` (the caller holds the lock)."""
        t0 = time.perf_counter()
        # taken before reading: an edit made during the run shows up as a change next time
        whole_folder = [Path(r).resolve() for r in roots] == [Path(self.settings.knowledge_dir).resolve()]
        before = self.snapshot() if whole_folder else None
        report = IngestReport()
        files = discover(roots)
        report.files = len(files)
        manifest = self.manifest()
        written: list[Path] = []  # texts of sources new to the manifest: orphans if the run stops
        bar = None
        if progress and files:
            from tqdm import tqdm

            bar = tqdm(total=len(files), desc=label, unit="file", leave=False)
        name = label[:1].upper() + label[1:]
        self.status = f"{name}: 0 %"

        def documents() -> Iterator[Document]:
            """Load, split and yield one file at a time: memory stays at one batch, not the corpus."""
            for done, f in enumerate(files, 1):
                if bar is not None:
                    bar.update(1)
                self.status = f"{name}: {done * 100 // len(files)} %"
                try:
                    doc, passages = self._read(f)
                except DocumentError as exc:
                    report.errors.append((str(f), str(exc)))
                    continue
                except Exception as exc:  # a loader bug must not stop the other files
                    report.errors.append((str(f), f"{f.name}: {type(exc).__name__}: {exc}"))
                    continue
                # the text first: a citation must never point at text we did not keep
                if doc.path not in manifest:
                    written.append(self.text_file(doc.path))
                atomic_write_text(self.text_file(doc.path), doc.text)
                manifest[doc.path] = {"title": doc.title, "abs_path": str(doc.abs_path),
                                      "sha": hashlib.sha1(doc.text.encode()).hexdigest()}
                yield from passages

        try:
            # a file that fails to load is never seen here, so scoped cleanup keeps its old passages
            res = index(
                prefetched(documents()), self.passage_records, self.store.writer,
                cleanup="scoped_full", source_id_key="source", key_encoder="sha256", batch_size=self.settings.ingest_batch,
            )
            report.added, report.updated = res["num_added"], res["num_updated"]
            report.skipped, report.removed = res["num_skipped"], res["num_deleted"]
            self._save_manifest(manifest)
            report.removed += self._remove_vanished(roots, manifest, report)
            if before is not None:
                atomic_write_text(self.snapshot_path, json.dumps(before, indent=1, sort_keys=True))
        except Exception:
            self._clean_orphans(written)  # texts of new sources whose passages never made it in
            raise
        finally:
            self.status = ""
            if bar is not None:
                bar.close()
        report.seconds = time.perf_counter() - t0
        return report

    def _remove_vanished(self, roots: list[Path], manifest: dict[str, dict], report: IngestReport) -> int:
        """Drop passages of sources that were under an ingested folder and are gone from disk."""
        resolved_roots = [Path(r).resolve() for r in roots]
        removed = 0
        for source, info in sorted(manifest.items()):
            abs_path = Path(info.get("abs_path", ""))
            inside = any(abs_path == r or r in abs_path.parents for r in resolved_roots)
            if not inside or abs_path.exists():
                continue
            removed += self.remove_source(source)
            report.removed_sources.append(source)
        return removed

    def clear(self) -> None:
        """Forget everything ingested: passages, records, extracted texts and the folder snapshot.

        The next ``run`` re-indexes from the sources. Used when the store was written
        by an older layout, and by ``assistant ingest --rebuild``. A records database
        that cannot be read is set aside (renamed, not deleted) and started anew.
        """
        with self.lock(), self.store.write_lock:
            try:
                self.store.clear()
                try:
                    keys = self.passage_records.list_keys()
                    for i in range(0, len(keys), 5000):
                        self.passage_records.delete_keys(keys[i : i + 5000])
                except Exception as exc:
                    if not faults.is_records_damage(exc):
                        raise
                    self._set_records_aside()
                for f in (self.manifest_path, self.snapshot_path):
                    f.unlink(missing_ok=True)
                if self.settings.sources_dir.is_dir():
                    for f in self.settings.sources_dir.glob("*.txt"):
                        f.unlink(missing_ok=True)
            except StoreError:
                raise
            except Exception as exc:
                raise recovery.explain(exc, self.settings) from exc
        if self.on_change:
            self.on_change()

    def _set_records_aside(self) -> None:
        rm = self.__dict__.pop("passage_records", None)
        if rm is not None:
            rm.engine.dispose()
        moved = recovery.set_aside(self.settings.record_db)
        log.warning("the indexing records database was damaged; set aside as %s", moved)

    def rebuild(self, *, progress: bool = True, wait: float = 0.0) -> IngestReport:
        """``assistant ingest --rebuild``: wipe store, records and texts, and index every known source again.

        The sources are the knowledge folder and every other file the manifest lists
        that still exists (uploads, files ingested by path).
        """
        knowledge = Path(self.settings.knowledge_dir).resolve()
        with self.lock(wait):
            others = sorted({Path(info["abs_path"]) for info in self.manifest().values() if info.get("abs_path")})
            others = [p for p in others if p.is_file() and knowledge not in p.parents]
            self.clear()
            report = self.run(progress=progress)
            if others:
                report.merge(self.run(others, progress=False))
        return report

    def remove_source(self, source: str) -> int:
        """Delete every passage and sentence of ``source``; returns passages removed."""
        with self.lock(), self.store.write_lock:
            keys = self.passage_records.list_keys(group_ids=[source])
            if keys:
                self.store.writer.delete(ids=keys)
                self.passage_records.delete_keys(keys)
            removed = len(keys)
            manifest = self.manifest()
            if manifest.pop(source, None) is not None:
                self._save_manifest(manifest)
            self.text_file(source).unlink(missing_ok=True)
        if removed and self.on_change:
            self.on_change()
        return removed


def _outside(files: list[Path], roots: list[Path]) -> list[Path]:
    """``files`` that a run over ``roots`` does not read itself, each once."""
    resolved = [Path(r).resolve() for r in roots]
    out: dict[Path, Path] = {}
    for f in files:
        path = Path(f).resolve()
        if not any(path == r or r in path.parents for r in resolved):
            out.setdefault(path, Path(f))
    return list(out.values())

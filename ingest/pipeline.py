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
"""

from __future__ import annotations

import hashlib
import json
import queue
import stat
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from langchain_core.documents import Document
from langchain_core.indexing import index

from assistant.errors import DocumentError, StoreError
from assistant.files import atomic_write_text
from assistant.settings import Settings
from assistant.store import Store, wrap_store_error

from .loaders import discover, folder_files, load_source
from .splitter import Passage, split_passages

_LOCK = threading.Lock()  # one ingest at a time per process (web uploads can race)


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

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)

    def summary(self) -> str:
        s = (
            f"{self.files} files: {self.added} passages added, {self.updated} updated, "
            f"{self.removed} removed, {self.skipped} unchanged; {len(self.errors)} files skipped "
            f"with errors; {self.seconds:.1f}s"
        )
        return s

    def to_dict(self) -> dict:
        return {
            "files": self.files, "added": self.added, "updated": self.updated, "removed": self.removed,
            "skipped": self.skipped, "errors": [{"file": f, "reason": r} for f, r in self.errors],
            "removed_sources": self.removed_sources, "seconds": round(self.seconds, 3),
        }


def _record_manager(settings: Settings, namespace: str):
    from langchain_classic.indexes import SQLRecordManager

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    rm = SQLRecordManager(namespace, db_url=f"sqlite:///{settings.record_db}")
    rm.create_schema()
    return rm


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


LAYOUT = 2  # in every record's hash: records written by an older layout are re-embedded once


def passage_documents(p: Passage) -> Document:
    return Document(
        page_content=p.text,
        metadata={
            "source": p.source, "title": p.title, "passage_id": p.id, "start": p.start,
            "end": p.end, "ordinal": p.ordinal, "sentences": json.dumps(p.sentences), "layout": LAYOUT,
        },
    )


class Ingestor:
    """Keeps the store in step with the source files. Store and settings are injected."""

    def __init__(self, store: Store, settings: Settings, on_change: Callable[[], None] | None = None) -> None:
        self.store = store
        self.settings = settings
        self.on_change = on_change

    @cached_property
    def passage_records(self):
        """LangChain's SQL record manager, opened on first use: a start-up freshness check needs none of it."""
        return _record_manager(self.settings, f"chroma/{self.settings.collection}_passages")

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
        "changed": refreshing a store another process owns is not a reader's job.
        """
        if not self.manifest_path.exists():
            return False
        try:
            saved = json.loads(self.snapshot_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return True  # ingested by a version that kept no snapshot, or the snapshot is damaged
        return saved != self.snapshot()

    def text_file(self, source: str) -> Path:
        return self.settings.sources_dir / (hashlib.sha1(source.encode()).hexdigest()[:16] + ".txt")

    def source_text(self, source: str) -> str:
        """The exact text the offsets of ``source``'s citations index into."""
        try:
            return self.text_file(source).read_text(encoding="utf-8")
        except FileNotFoundError as exc:
            raise DocumentError(f"No ingested text for source '{source}'.", "Run `assistant ingest`.") from exc

    # -- the run
    def run(self, paths: Iterable[Path] | None = None, *, progress: bool = True) -> IngestReport:
        with _LOCK:
            return self._run(list(paths) if paths else [self.settings.knowledge_dir], progress)

    def _run(self, roots: list[Path], progress: bool) -> IngestReport:
        t0 = time.perf_counter()
        # taken before reading: an edit made during the run shows up as a change next time
        whole_folder = [Path(r).resolve() for r in roots] == [Path(self.settings.knowledge_dir).resolve()]
        before = self.snapshot() if whole_folder else None
        report = IngestReport()
        files = discover(roots)
        report.files = len(files)
        manifest = self.manifest()
        bar = None
        if progress and files:
            from tqdm import tqdm

            bar = tqdm(total=len(files), desc="indexing", unit="file", leave=False)

        def documents() -> Iterator[Document]:
            """Load, split and yield one file at a time: memory stays at one batch, not the corpus."""
            for f in files:
                if bar is not None:
                    bar.update(1)
                try:
                    doc = load_source(f, self.settings.knowledge_dir, max_bytes=self.settings.max_file_bytes)
                    passages = split_passages(doc.text, doc.path, doc.title, body_start=doc.body_start)
                    if not passages:
                        raise DocumentError(f"{f.name}: no sentences found.", "Add text to the file.")
                except DocumentError as exc:
                    report.errors.append((str(f), str(exc)))
                    continue
                except Exception as exc:  # a loader bug must not stop the other files
                    report.errors.append((str(f), f"{f.name}: {type(exc).__name__}: {exc}"))
                    continue
                # the text first: a citation must never point at text we did not keep
                atomic_write_text(self.text_file(doc.path), doc.text)
                manifest[doc.path] = {"title": doc.title, "abs_path": str(doc.abs_path),
                                      "sha": hashlib.sha1(doc.text.encode()).hexdigest()}
                yield from (passage_documents(p) for p in passages)

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
        except (StoreError, DocumentError):
            raise
        except Exception as exc:
            raise wrap_store_error(exc) from exc
        finally:
            if bar is not None:
                bar.close()
        report.seconds = time.perf_counter() - t0
        if report.changed and self.on_change:
            self.on_change()
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
        by an older layout, and by ``assistant ingest --rebuild``.
        """
        with _LOCK:
            self.store.clear()
            keys = self.passage_records.list_keys()
            for i in range(0, len(keys), 5000):
                self.passage_records.delete_keys(keys[i : i + 5000])
            for f in (self.manifest_path, self.snapshot_path):
                f.unlink(missing_ok=True)
            if self.settings.sources_dir.is_dir():
                for f in self.settings.sources_dir.glob("*.txt"):
                    f.unlink(missing_ok=True)
        if self.on_change:
            self.on_change()

    def remove_source(self, source: str) -> int:
        """Delete every passage and sentence of ``source``; returns passages removed."""
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

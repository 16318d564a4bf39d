"""What lets an ingest be finished, repaired or rebuilt after something went wrong.

- The **incomplete marker**: written before an ingest writes anything and removed
  only when it ends, so a run that was stopped (Ctrl-C in ``serve``'s first
  start, a crash, a full disk) is resumed at the next start instead of the store
  staying half-filled forever (the folder snapshot alone would say "unchanged").
- **Setting aside** a file or folder that cannot be opened (a damaged embedded
  store, a damaged records database) for ``assistant ingest --rebuild``: renamed
  with a time stamp, never deleted, so nothing the user might want is lost.
- **Naming failures**: a full disk, a read-only folder or a damaged records
  database, whichever library raised it (``assistant.faults``).
- **Once per cause**: a run that stopped because the disk was full records that
  in its marker, and a start-up does not try to finish it again (reading and
  embedding every file only to fail at the first write) until more space is free
  or another ingest command is run (``failed_resume``).
- **Orphaned texts**: extracted texts that no listed source and no stored passage
  use (a run stopped after writing them) are deleted (``orphan_texts``).
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from assistant.errors import StoreError
from assistant.index import atomic_write_text, faults, make_client, wrap_store_error
from assistant.settings import Settings

log = logging.getLogger(__name__)


# what a start-up shows while it finishes an ingest that did not end (tqdm's label; the web page's status)
RESUME_LABEL = "Finishing an interrupted ingest"
DISK_FULL = "disk_full"  # the one lasting cause recorded: retrying cannot help until space is freed
# free space gained since a disk-full failure after which a start-up tries to finish the ingest again:
# more than the texts and one batch of passages need, more than a log file's growth frees by chance
RETRY_FREE_BYTES = 8 * 1024 * 1024


def marker_path(settings: Settings) -> Path:
    return settings.sources_dir / "ingest-incomplete.json"


def mark_incomplete(settings: Settings, roots: list[Path]) -> None:
    """Record the roots of a run about to write; kept if the run does not finish."""
    atomic_write_text(marker_path(settings), json.dumps(
        {"roots": [str(Path(r).resolve()) for r in roots], "pid": os.getpid(), "started": time.time()}))


def mark_complete(settings: Settings) -> None:
    marker_path(settings).unlink(missing_ok=True)


def incomplete_roots(settings: Settings) -> list[Path] | None:
    """The roots of an ingest that did not finish, or None when the last one did."""
    path = marker_path(settings)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return [Path(r) for r in data["roots"]]
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        return [Path(settings.knowledge_dir)]  # a damaged marker still says: finish the knowledge folder


def _marker(settings: Settings) -> dict[str, Any] | None:
    try:
        data = json.loads(marker_path(settings).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def record_failure(settings: Settings, cause: str) -> bool:
    """Note in the marker that the run stopped for ``cause``, with the free space then; True when noted.

    The disk is full when this is called, so a new file may not fit: the marker is rewritten
    in place if writing a fresh copy fails (a file's first block holds a few hundred bytes more
    on every common file system). Unnoted, the next start simply tries once more.
    """
    data = _marker(settings)
    if data is None:
        return False
    data["failed"] = {"cause": cause, "free": faults.free_bytes(settings.data_dir), "at": time.time()}
    text = json.dumps(data)
    try:
        atomic_write_text(marker_path(settings), text)
        return True
    except OSError:
        pass
    try:
        with open(marker_path(settings), "r+", encoding="utf-8") as f:
            f.write(text)
            f.truncate()
        return True
    except OSError as exc:
        log.warning("could not note why the ingest stopped (%s); the next start tries again", exc)
        return False


def failed_resume(settings: Settings) -> StoreError | None:
    """Why finishing the interrupted ingest is not worth trying now, or None to try.

    A run that stopped on a full disk fails again at its first write until space is freed,
    after reading and embedding every file. So it is tried again only once at least
    ``RETRY_FREE_BYTES`` more are free than when it failed, or after another ingest command
    (which writes a new marker).
    """
    data = _marker(settings)
    failed = data.get("failed") if data else None
    if not isinstance(failed, dict) or failed.get("cause") != DISK_FULL:
        return None
    then, now = failed.get("free"), faults.free_bytes(settings.data_dir)
    if isinstance(then, int) and now is not None and now >= then + RETRY_FREE_BYTES:
        return None
    return StoreError(
        f"The last ingest into {settings.data_dir} stopped because its disk was full; it is not retried at "
        "every start while the disk stays full.",
        "Free some space (the next start then finishes it) or run `assistant ingest`; what was already "
        "indexed is kept and answers.",
    )


def orphan_texts(settings: Settings, keep: set[str]) -> list[Path]:
    """Extracted texts in the sources folder whose names are not in ``keep``."""
    folder = settings.sources_dir
    if not folder.is_dir():
        return []
    return [f for f in folder.glob("*.txt") if f.name not in keep]


def set_aside(path: Path) -> Path | None:
    """Rename ``path`` to ``<name>.broken-<time>`` beside it; returns the new path (None if absent)."""
    if not path.exists():
        return None
    dest = path.with_name(f"{path.name}.broken-{time.strftime('%Y%m%d-%H%M%S')}")
    n = 1
    while dest.exists():
        dest = dest.with_name(f"{path.name}.broken-{time.strftime('%Y%m%d-%H%M%S')}-{n}")
        n += 1
    path.rename(dest)
    return dest


def open_records(settings: Settings, namespace: str) -> Any:
    """LangChain's SQL record manager over ``records.sqlite``; a damaged file is named as such."""
    from langchain_classic.indexes import SQLRecordManager

    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        rm = SQLRecordManager(namespace, db_url=f"sqlite:///{settings.record_db}")
        rm.create_schema()
        return rm
    except Exception as exc:
        raise explain(exc, settings) from exc


def explain(exc: BaseException, settings: Settings) -> StoreError:
    """The StoreError to show for a failed ingest: the named cause when known, else the store's wording.

    The data folder (texts, records, the marker) is local in both modes; with a
    Chroma server, a failure that did not come from a local file is the server's.
    """
    if isinstance(exc, StoreError):
        return exc
    err = exc if isinstance(exc, Exception) else Exception(str(exc))
    if settings.chroma_url and not _local(exc):
        return wrap_store_error(err)
    return faults.explain(exc, settings.data_dir, settings.record_db) or wrap_store_error(err, settings.data_dir)


def _local(exc: BaseException) -> bool:
    import sqlite3

    return any(isinstance(e, (OSError, sqlite3.Error)) or type(e).__module__.startswith("sqlalchemy")
               for e in faults.chain(exc))


def set_aside_unopenable_store(settings: Settings) -> Path | None:
    """``--rebuild`` of an embedded store Chroma cannot open: move ``data/chroma`` aside and start empty.

    A full disk or a read-only folder is not damage: those errors are raised as
    they are, and nothing is moved.
    """
    if settings.chroma_url or not settings.chroma_path.exists():
        return None
    try:
        client = make_client(settings)
        try:
            name = f"{settings.collection}_passages"
            if name in {c.name for c in client.list_collections()}:
                client.get_collection(name).count()
        finally:
            client.close()
        return None
    except Exception as exc:
        if faults.is_disk_full(exc, settings.data_dir) or faults.is_read_only(exc, settings.data_dir):
            raise explain(exc, settings) from exc
        moved = set_aside(settings.chroma_path)
        log.warning("The vector store could not be opened; it was set aside as %s.", moved)
        return moved

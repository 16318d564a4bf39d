"""What a failed write or read of the data folder means, in words a user can act on.

Why a module of its own: the same few causes (a full disk, a read-only folder,
a damaged records database) surface from three libraries in different shapes:
an ``OSError`` with an errno from our own files, an SQLite message from
SQLAlchemy (the record manager) and an error string from Chroma's Rust core
("database or disk is full", "Error in compaction: Failed to apply logs…").
``explain`` looks through the whole exception chain once and names the cause,
so every entry point reports it the same way instead of "The vector store failed".
"""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from ..errors import StoreError

REBUILD = "assistant ingest --rebuild"

_FULL_TEXT = ("no space left on device", "database or disk is full", "disk is full", "disk quota exceeded")
_READ_ONLY_TEXT = ("read-only file system", "readonly database", "read-only database")
_DAMAGED_TEXT = ("file is not a database", "database disk image is malformed", "file is encrypted or is not a database")
# Chroma reports a failed index write only as this; the free space on the disk tells whether it was full
_OPAQUE_WRITE_TEXT = ("error in compaction", "failed to apply logs")
FULL_BELOW_BYTES = 1 << 20  # free space under which an opaque write failure is taken to be a full disk


def chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and everything that caused it (``__cause__`` / ``__context__``), each once."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        yield cur
        cur = cur.__cause__ or cur.__context__


def _has_errno(exc: BaseException, *codes: int) -> bool:
    return any(isinstance(e, OSError) and e.errno in codes for e in chain(exc))


def _says(exc: BaseException, phrases: tuple[str, ...]) -> bool:
    return any(p in str(e).lower() for e in chain(exc) for p in phrases)


def free_bytes(folder: Path) -> int | None:
    """Free space on the filesystem holding ``folder`` (its nearest existing parent), None if unknown."""
    p = Path(folder)
    while not p.exists() and p != p.parent:
        p = p.parent
    try:
        return shutil.disk_usage(p).free
    except OSError:
        return None


def is_disk_full(exc: BaseException, folder: Path | None = None) -> bool:
    if _has_errno(exc, errno.ENOSPC, errno.EDQUOT) or _says(exc, _FULL_TEXT):
        return True
    if folder is not None and _says(exc, _OPAQUE_WRITE_TEXT):
        free = free_bytes(folder)
        return free is not None and free < FULL_BELOW_BYTES
    return False


def is_read_only(exc: BaseException, folder: Path | None = None) -> bool:
    if _has_errno(exc, errno.EROFS) or _says(exc, _READ_ONLY_TEXT):
        return True
    return _has_errno(exc, errno.EACCES, errno.EPERM) and folder is not None and not writable(folder)


def is_records_damage(exc: BaseException) -> bool:
    """An error of Python's SQLite (the records database; Chroma's SQLite is in Rust) saying the file is broken."""
    import sqlite3

    return any(isinstance(e, sqlite3.DatabaseError) or type(e).__module__.startswith("sqlalchemy")
               for e in chain(exc)) and _says(exc, _DAMAGED_TEXT)


def writable(folder: Path) -> bool:
    """True when this process may create files in ``folder`` (or in the parent that would hold it)."""
    p = Path(folder)
    while not p.exists() and p != p.parent:
        p = p.parent
    return os.access(p, os.W_OK)


def disk_full(folder: Path) -> StoreError:
    free = free_bytes(folder)
    left = f" ({free // 1024:,} KB free)" if free is not None else ""
    return StoreError(
        f"The disk holding {folder} is full (no space left on device){left}.",
        "Free some space (or set ASSISTANT_DATA_DIR to a folder on a larger disk) and run `assistant ingest` "
        "again; what was already indexed is kept.",
    )


def read_only(folder: Path) -> StoreError:
    return StoreError(
        f"The data folder {folder} is read-only.",
        "The store needs write access even to answer: make the folder writable (remount it read-write, or "
        "`chmod -R u+w` it), or copy it somewhere writable and point ASSISTANT_DATA_DIR there.",
    )


def records_damaged(path: Path, exc: BaseException) -> StoreError:
    text = " ".join(str(e).lower() for e in chain(exc))
    detail = next((p for p in _DAMAGED_TEXT if p in text), "unreadable")
    return StoreError(
        f"The indexing records database {path} is damaged ({detail}).",
        f"Run `{REBUILD}`: it sets the damaged file aside and re-creates the records and the store from your "
        "documents.",
    )


def explain(exc: BaseException, data_dir: Path, records_db: Path | None = None) -> StoreError | None:
    """A StoreError naming the cause of ``exc`` when it is one of the known ones, else None."""
    if is_disk_full(exc, data_dir):
        return disk_full(data_dir)
    if is_read_only(exc, data_dir):
        return read_only(data_dir)
    if records_db is not None and is_records_damage(exc):
        return records_damaged(records_db, exc)
    return None

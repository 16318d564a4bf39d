"""One writer per data folder: the inter-process lock every ingest holds.

Why: two processes writing one embedded Chroma store (a CLI ``ingest`` while
``serve`` indexes an upload) each keep their own in-memory view of the index
files, and the later writer can overwrite what the earlier one added. The lock
is an OS file lock (``filelock``), so the kernel releases it when its holder
dies, even by ``kill -9``: there is never a stale lock to clean up. A second
writer is told who holds it (pid, command, since when) instead of waiting
silently; the holder's details sit in a small file beside the lock, because
``filelock`` truncates the lock file itself on every attempt to take it.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from assistant.errors import StoreBusy
from assistant.index import atomic_write_text, faults

# one ingest at a time within a process too (web uploads run on worker threads);
# re-entrant, so a run may clear or repair the store under the lock it already holds
_THREAD_LOCK = threading.RLock()
_held = threading.local()  # lock paths this thread holds, so a nested use does not lock itself out


def _holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        since = time.strftime("%H:%M:%S", time.localtime(float(info["since"])))
        return f" (pid {info['pid']}, `{info['command']}`, since {since})"
    except (OSError, ValueError, KeyError, TypeError):
        return ""


@contextmanager
def writer_lock(lock_path: Path, wait: float = 0.0) -> Iterator[None]:
    """Hold the data folder's writer lock; StoreBusy if another process holds it after ``wait`` seconds."""
    with _THREAD_LOCK:
        held: set[Path] = _held.__dict__.setdefault("paths", set())
        if lock_path in held:
            yield
            return
        folder = lock_path.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
            lock = FileLock(lock_path, timeout=wait)
            lock.acquire()
        except Timeout as exc:
            raise StoreBusy(
                f"Another process is indexing into {folder}{_holder(owner_path(lock_path))}.",
                "One writer at a time: wait for it to finish, then run the command again.",
            ) from exc
        except OSError as exc:
            raise faults.explain(exc, folder) or faults.read_only(folder) from exc
        held.add(lock_path)
        try:
            try:
                command = " ".join([Path(sys.argv[0]).name, *sys.argv[1:2]]) if sys.argv else "python"
                atomic_write_text(owner_path(lock_path), json.dumps(
                    {"pid": os.getpid(), "command": command, "since": time.time()}))
            except OSError:  # who holds the lock is a courtesy for the message above
                pass
            yield
        finally:
            held.discard(lock_path)
            lock.release()


def owner_path(lock_path: Path) -> Path:
    return lock_path.with_name(lock_path.name + ".owner")

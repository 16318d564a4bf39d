"""Write-then-rename, so a reader (or a crash) never sees half a file.

The store's sidecar files (extracted source texts, the manifest, the saved BM25
index, the exported ONNX model, uploads) are read by other processes sharing
the data folder; ``os.replace`` is atomic on one filesystem, so a reader sees
the old file or the new one, never a mix.
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path


def temp_path(target: Path) -> Path:
    """A hidden sibling of ``target``, unique per process and thread (same filesystem, so rename is atomic)."""
    return target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")


def atomic_write_text(path: Path, data: str) -> None:
    """Write ``data`` (UTF-8, newlines untouched) to ``path`` atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    try:
        tmp.write_text(data, encoding="utf-8", newline="")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_copy(src: Path, dest: Path) -> None:
    """Copy ``src`` to ``dest`` atomically."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(dest)
    try:
        shutil.copyfile(src, tmp)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def replace_dir(tmp: Path, folder: Path) -> bool:
    """Move the finished folder ``tmp`` to ``folder``; False (and ``tmp`` removed) when ``folder`` already exists.

    Directory renames cannot overwrite a non-empty folder: whoever renamed first
    wins, which is right for content-addressed folders such as the BM25 cache.
    """
    try:
        os.replace(tmp, folder)
        return True
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        return False

"""Server folders out of everything the web chat shows or returns.

Why: error messages are written for the command line, where naming the data
folder helps ("Another process is indexing into /srv/app/data …", "The disk
holding /srv/app/data is full"). A web reader, or anyone calling the API, has
no business knowing the server's folders, and cannot act on them anyway. Every
message the web layer passes on from the assistant goes through ``redact``,
which names the folder instead of showing its path.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..settings import Settings


def _forms(folder: Path) -> set[str]:
    """The ways a message may spell ``folder``: as given, absolute, and with links resolved."""
    out = {str(folder), os.path.abspath(folder)}
    try:
        out.add(str(folder.resolve()))
    except OSError:
        pass
    return {f.rstrip("/") for f in out if len(f.rstrip("/")) > 1}


def redact(text: str, settings: Settings, received: Path | None = None) -> str:
    """``text`` with the data, knowledge and upload folders named instead of shown.

    A path inside one of them keeps only its part under it ("the data folder's
    uploads/ab12/x.md" would still say too much, so the whole path goes): the
    reader learns which folder, never where it is.
    """
    names = [(settings.data_dir, "the data folder"), (settings.knowledge_dir, "the knowledge folder")]
    if received is not None:
        names.append((received, "the upload folder"))
    pairs = sorted(((form, name) for folder, name in names for form in _forms(Path(folder))),
                   key=lambda p: -len(p[0]))  # longest first: a folder inside another is named as itself
    for form, name in pairs:
        while form in text:
            start = text.index(form)
            end = start + len(form)
            while end < len(text) and not text[end].isspace() and text[end] not in "'\"`),;:":
                end += 1  # the rest of a path inside the folder goes with it…
            while end > start + len(form) and text[end - 1] in ".":
                end -= 1  # …but not the full stop after it
            text = text[:start] + name + text[end:]
    return text


__all__ = ["redact"]
